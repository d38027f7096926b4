/**
 * A file made by a newer pg_dump restores with this machine's psql 15 into PostgreSQL 15: pg_dump 17
 * writes `SET transaction_timeout` (PostgreSQL 15 rejects it) and, from 17.6/16.10/15.14, `\restrict`
 * lines (older psql rejects them). Stand-in: a pg_dump "17.6" that runs the real pg_dump 15 and adds
 * what pg_dump 17 adds to its output.
 */
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { runBackup } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import { DURABLE_TABLES, tableRows } from '../helpers/compare.js';
import { PSQL, psqlFile } from '../helpers/restore.js';
import { statementText } from '../helpers/sql-oracle.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const REAL_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
let supabase: SupabaseCluster;
let fakeBin: string;

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  fakeBin = await mkdtemp(path.join(tmpdir(), 'pg17-'));
  // pg_dump writes to stdout (or --file): the stand-in adds pg_dump 17's lines on the way through.
  const script = `#!/bin/bash
set -o pipefail
if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 17.6"; exit 0; fi
"${REAL_BIN}/pg_dump" "$@" | sed -e 's/^SET statement_timeout = 0;$/SET statement_timeout = 0;\\nSET transaction_timeout = 0;/' \\
                                 -e 's/^-- Dumped by pg_dump version .*/-- Dumped by pg_dump version 17.6/'
`;
  await writeFile(path.join(fakeBin, 'pg_dump'), script);
  await chmod(path.join(fakeBin, 'pg_dump'), 0o755);
  await symlink(PSQL, path.join(fakeBin, 'psql'));
});

afterAll(async () => {
  await supabase?.stop();
  if (fakeBin) await rm(fakeBin, { recursive: true, force: true });
});

const quiet: Logger = { info: () => undefined, warning: () => undefined, secret: () => undefined };

/** An empty output-dir, removed when the test ends. */
async function outputDirForTest(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

it('a pg_dump 17 file with \\restrict lines restores with psql 15 into PostgreSQL 15', async () => {
  const source = await supabase.createSource('compat_source');
  const target = await supabase.createTarget('compat_target');
  const outputDir = await outputDirForTest('compat-');
  const config = parseConfig((name) => ({ 'database-url': source.url, destination: 'none', 'output-dir': outputDir })[name] ?? '');
  const result = await runBackup(config, quiet, {
    findTools: async () => ({ binDir: fakeBin, pgDump: path.join(fakeBin, 'pg_dump'), psql: path.join(fakeBin, 'psql'), major: 17, version: '17.6' }),
  });
  const sql = statementText(await readFile(result.path, 'utf8'));

  expect(sql).toMatch(/^-- Source: PostgreSQL 15\.\d+ · pg_dump 17\.6 · snapshot /m);
  expect(sql).toMatch(/^-- Dumped by pg_dump version 17\.6$/m);
  expect(sql).toMatch(/^-- \[PostgreSQL 17\+ only\] SET transaction_timeout = 0;$/m);
  expect(sql).not.toMatch(/^SET transaction_timeout/m);
  expect(sql).toMatch(/^-- \[psql 17\.6\+ only\] \\restrict \S+$/m);
  expect(sql).not.toMatch(/^\\(un)?restrict/m);

  const restore = await psqlFile(target.url, result.path);
  expect(restore.exitCode, restore.stderr).toBe(0);
  for (const table of [...DURABLE_TABLES, 'public.profiles', 'public.tricky']) {
    expect(await tableRows(target.url, table), table).toEqual(await tableRows(source.url, table));
  }
});
