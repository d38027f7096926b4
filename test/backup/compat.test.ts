/**
 * A file made by a newer pg_dump restores with an older psql into an older server: pg_dump 17 (the real
 * one, PostgreSQL 17.6+) writes `SET transaction_timeout` (PostgreSQL 15 rejects it) and `\restrict`
 * lines (psql before 17.6/16.10/15.14 rejects them). Backed up from PostgreSQL 15 with pg_dump 17,
 * restored with psql 15 into PostgreSQL 15. (The same pair on PostgreSQL 17 is the upgrade test.)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { runBackup } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import { findPgTools } from '../../src/postgres/tools.js';
import { pgBinDir } from '../helpers/cluster.js';
import { DURABLE_TABLES, tableRows } from '../helpers/compare.js';
import { psqlFile } from '../helpers/restore.js';
import { statementText } from '../helpers/sql-oracle.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

let supabase: SupabaseCluster;

beforeAll(async () => {
  supabase = await startSupabaseCluster({ major: 15 });
});

afterAll(async () => {
  await supabase?.stop();
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
  const pgDump17 = await findPgTools(15, [pgBinDir(17)]);
  expect(pgDump17?.major).toBe(17);
  const result = await runBackup(config, quiet, { findTools: async () => pgDump17! });
  const sql = statementText(await readFile(result.path, 'utf8'));

  expect(sql).toMatch(/^-- Source: PostgreSQL 15\.\d+ · pg_dump 17\.\d+ · snapshot /m);
  expect(sql).toMatch(/^-- Dumped by pg_dump version 17\.\d+/m);
  expect(sql).toMatch(/^-- \[PostgreSQL 17\+ only\] SET transaction_timeout = 0;$/m);
  expect(sql).not.toMatch(/^SET transaction_timeout/m);
  expect(sql).toMatch(/^-- \[psql 17\.6\+ only\] \\restrict \S+$/m);
  expect(sql).not.toMatch(/^\\(un)?restrict/m);

  const restore = await psqlFile(target.url, result.path, undefined, path.join(pgBinDir(15), 'psql'));
  expect(restore.exitCode, restore.stderr).toBe(0);
  for (const table of [...DURABLE_TABLES, 'public.profiles', 'public.tricky']) {
    expect(await tableRows(target.url, table), table).toEqual(await tableRows(source.url, table));
  }
});
