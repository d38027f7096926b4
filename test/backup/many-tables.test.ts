/**
 * Many tables: the row counts lock tables only a batch at a time (short transactions that import the
 * snapshot), so a backup of thousands of tables fits wherever pg_dump's own locks fit. 7000 tables on a
 * server whose lock table just fits them (max_locks_per_transaction = 480, 16 backends: about 7700
 * locks) back up, as a bare pg_dump of them does; counts holding a lock on every table beside pg_dump's
 * would need twice that. While the backup runs, only one session (pg_dump of PART 2) ever holds more
 * than a batch of locks on the tables.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { COUNT_BATCH } from '../../src/backup/catalog.js';
import { runBackup } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import { recordingLogger } from '../helpers/publish.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const TABLES = 7000;
let supabase: SupabaseCluster;
let sourceUrl: string;
let sourceName: string;

beforeAll(async () => {
  supabase = await startSupabaseCluster({
    settings: {
      max_connections: '12',
      max_worker_processes: '2',
      max_wal_senders: '0',
      autovacuum_max_workers: '1',
      max_locks_per_transaction: '480',
    },
  });
  const source = await supabase.createSource('many_tables');
  sourceUrl = source.url;
  sourceName = source.name;
  await supabase.cluster.query('CREATE SCHEMA wide AUTHORIZATION postgres', { db: source.name });
  for (let from = 0; from < TABLES; from += 600) {
    await supabase.cluster.query(
      `DO $$ BEGIN
         FOR i IN ${from}..${Math.min(from + 599, TABLES - 1)} LOOP
           EXECUTE format('CREATE TABLE wide.t%s (id int); INSERT INTO wide.t%s VALUES (%s); ALTER TABLE wide.t%s OWNER TO postgres', i, i, i, i);
         END LOOP;
       END $$`,
      { db: source.name },
    );
  }
}, 600_000);

afterAll(async () => {
  await supabase?.stop();
});

describe('thousands of tables', () => {
  it(`backs up ${TABLES} tables with a small lock table; the row counts never hold more than a batch of locks`, async () => {
    const outputDir = await mkdtemp(path.join(tmpdir(), 'many-tables-'));
    onTestFinished(() => rm(outputDir, { recursive: true, force: true }));
    const inputs: Record<string, string> = { 'database-url': sourceUrl, destination: 'none', 'output-dir': outputDir };
    // Every session seen holding more than a batch of locks on the tables of `wide`.
    const heavy = new Set<number>();
    let running = true;
    const watching = (async () => {
      while (running) {
        const rows = await supabase.cluster.query<{ pid: number }>(
          `SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE l.database = (SELECT oid FROM pg_database WHERE datname = $1)
              AND c.relnamespace = 'wide'::regnamespace
            GROUP BY l.pid HAVING count(*) > $2`,
          { db: sourceName, params: [sourceName, COUNT_BATCH] },
        );
        rows.forEach((row) => heavy.add(row.pid));
        await sleep(50);
      }
    })();
    const result = await runBackup(parseConfig((name) => inputs[name] ?? ''), recordingLogger()).finally(() => {
      running = false;
    });
    await watching;
    expect(heavy.size).toBe(1);
    const wide = [...result.rowsByTable].filter(([table]) => table.startsWith('wide.'));
    expect(wide).toHaveLength(TABLES);
    expect(wide.every(([, rows]) => rows === 1)).toBe(true);
  }, 600_000);
});
