/** What the dump options change, end to end: backup with runBackup, restore with psql, compare. */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { execa } from 'execa';
import { backupDatabases, runBackup, type BackupResult } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import { rowCount, tableRows, withClient } from '../helpers/compare.js';
import { psqlFile } from '../helpers/restore.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

let supabase: SupabaseCluster;
let sourceUrl: string;
const warnings: string[] = [];
const log: Logger = { info: () => undefined, warning: (m) => warnings.push(m), secret: () => undefined };

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('options_source')).url;
});

afterAll(async () => {
  await supabase?.stop();
});

/** An empty output-dir, removed when the test ends. */
async function outputDirForTest(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function backupAndRestore(inputs: Record<string, string>, target: string): Promise<{ result: BackupResult; targetUrl: string; sql: string }> {
  const outputDir = await outputDirForTest('options-');
  const all: Record<string, string> = { 'database-url': sourceUrl, destination: 'none', 'output-dir': outputDir, ...inputs };
  const result = await runBackup(parseConfig((name) => all[name] ?? ''), log);
  const targetUrl = (await supabase.createTarget(target)).url;
  const restore = await psqlFile(targetUrl, result.path);
  expect(restore.exitCode, restore.stderr).toBe(0);
  return { result, targetUrl, sql: await readFile(result.path, 'utf8') };
}

describe('dump options', () => {
  it('exclude-tables keeps the table definition and leaves its rows out', async () => {
    const { result, targetUrl, sql } = await backupAndRestore({ 'exclude-tables': 'public.tricky, public.events_*' }, 'excluded');
    expect(result.rowsByTable.has('public.tricky')).toBe(false);
    expect(sql).not.toMatch(/^-- rows public\.tricky /m);
    expect(await rowCount(targetUrl, 'public.tricky')).toBe(0);
    expect(await rowCount(targetUrl, 'public.events_2025')).toBe(0);
    expect(await tableRows(targetUrl, 'public.notes')).toEqual(await tableRows(sourceUrl, 'public.notes'));
  });

  it('exclude-tables by unquoted (folded to lower case) and quoted (exact, with spaces) names, as pg_dump excludes them', async () => {
    const source = await supabase.createSource('exclude_case');
    await supabase.cluster.query(
      `CREATE SCHEMA reporting AUTHORIZATION postgres;
       CREATE TABLE reporting.monthly (id int PRIMARY KEY);
       CREATE TABLE public."Notes" (id int PRIMARY KEY);
       CREATE TABLE public."Monthly Totals" (id int PRIMARY KEY);
       INSERT INTO reporting.monthly VALUES (1);
       INSERT INTO public."Notes" VALUES (1), (2);
       INSERT INTO public."Monthly Totals" VALUES (1);
       ALTER TABLE reporting.monthly OWNER TO postgres;
       ALTER TABLE public."Notes" OWNER TO postgres;
       ALTER TABLE public."Monthly Totals" OWNER TO postgres;`,
      { db: source.name },
    );
    const outputDir = await outputDirForTest('exclude-case-');
    const all: Record<string, string> = {
      'database-url': source.url,
      destination: 'none',
      'output-dir': outputDir,
      'exclude-tables': 'public.Notes, Reporting.monthly, public."Monthly Totals"',
    };
    const result = await runBackup(parseConfig((name) => all[name] ?? ''), log);
    // public.Notes is public.notes; public."Notes" is another table, and is kept.
    expect(result.rowsByTable.has('public.notes')).toBe(false);
    expect(result.rowsByTable.has('reporting.monthly')).toBe(false);
    expect(result.rowsByTable.has('public."Monthly Totals"')).toBe(false);
    expect(result.rowsByTable.get('public."Notes"')).toBe(2);
    const sql = await readFile(result.path, 'utf8');
    expect(sql).toContain('CREATE TABLE public."Monthly Totals"');
    expect(sql).not.toMatch(/^COPY public\."Monthly Totals" /m);
    expect(sql).not.toMatch(/^COPY public\.notes /m);
    expect(sql).toMatch(/^COPY public\."Notes" /m);
  });

  it('schemas: public leaves the private schema out', async () => {
    const { result, targetUrl } = await backupAndRestore({ schemas: 'public' }, 'public_only');
    expect([...result.rowsByTable.keys()].some((table) => table.startsWith('private.'))).toBe(false);
    const schemas = await withClient(targetUrl, (c) => c.query("SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'private'"));
    expect(schemas.rows[0].n).toBe('0');
    expect(await tableRows(targetUrl, 'public.profiles')).toEqual(await tableRows(sourceUrl, 'public.profiles'));
  });

  it('include-audit-log brings auth.audit_log_entries along', async () => {
    const { result, targetUrl } = await backupAndRestore({ 'include-audit-log': 'true' }, 'with_audit');
    expect(result.rowsByTable.get('auth.audit_log_entries')).toBeGreaterThan(0);
    expect(await tableRows(targetUrl, 'auth.audit_log_entries')).toEqual(await tableRows(sourceUrl, 'auth.audit_log_entries'));
  });

  it('recreates a role the user made (without password) so its grants restore', async () => {
    const admin = supabase.cluster;
    const source = await supabase.createSource('roles_source');
    await admin.query('CREATE ROLE "Report Reader" NOLOGIN', { db: 'template1' });
    await admin.query('GRANT SELECT ON public.notes TO "Report Reader"', { db: source.name });
    const outputDir = await outputDirForTest('options-');
    const all: Record<string, string> = { 'database-url': source.url, destination: 'none', 'output-dir': outputDir };
    const result = await runBackup(parseConfig((name) => all[name] ?? ''), log);
    // The role is gone from the cluster, as it would be on a fresh project.
    await admin.query('DROP OWNED BY "Report Reader"', { db: source.name });
    await admin.query('DROP ROLE "Report Reader"', { db: 'template1' });

    const target = await supabase.createTarget('roles_target');
    const restore = await psqlFile(target.url, result.path);
    expect(restore.exitCode, restore.stderr).toBe(0);
    const granted = await withClient(target.url, (c) =>
      c.query(`SELECT rolcanlogin, has_table_privilege('Report Reader', 'public.notes', 'SELECT') AS can_read
                 FROM pg_roles WHERE rolname = 'Report Reader'`),
    );
    expect(granted.rows).toEqual([{ rolcanlogin: false, can_read: true }]);
    await admin.query('DROP OWNED BY "Report Reader"', { db: target.name });
    await admin.query('DROP ROLE "Report Reader"', { db: 'template1' });
  });

  it('refuses a managed or unknown schema in schemas, naming the user schemas', async () => {
    const outputDir = await outputDirForTest('options-');
    for (const [schemas, message] of [
      ['public,auth', /'auth', which Supabase manages.*this database has: private, public/s],
      ['public,nope', /'nope', which does not exist/],
    ] as const) {
      const all: Record<string, string> = { 'database-url': sourceUrl, destination: 'none', 'output-dir': outputDir, schemas };
      await expect(runBackup(parseConfig((name) => all[name] ?? ''), log)).rejects.toThrow(message);
    }
  });
});

describe('messages and leftovers', () => {
  it('a wrong verify-database-url names that input, not database-url', () => {
    const all: Record<string, string> = { 'database-url': sourceUrl, verify: 'restore', 'verify-database-url': 'not a url' };
    expect(() => backupDatabases(parseConfig((name) => all[name] ?? ''))).toThrow(/^verify-database-url is not a valid URL/);
  });

  it('an output-dir that is a file is refused, saying so', async () => {
    const dir = await outputDirForTest('options-file-');
    const file = path.join(dir, 'backups');
    await writeFile(file, 'not a directory');
    const all: Record<string, string> = { 'database-url': sourceUrl, destination: 'none', 'output-dir': file };
    await expect(runBackup(parseConfig((name) => all[name] ?? ''), log)).rejects.toThrow(
      `output-dir '${file}' is a file, not a directory`,
    );
  });

  it('removes what an earlier killed run left in output-dir and in the temp directory, and nothing of a live run', async () => {
    const gone = execa('true');
    await gone;
    const deadPid = gone.pid!;
    const dir = await outputDirForTest('options-leftovers-');
    const staleFile = path.join(dir, `.in-progress-${deadPid}-1700000000000.sql`);
    const liveFile = path.join(dir, `.in-progress-${process.pid}-1700000000000.sql`);
    await writeFile(staleFile, 'partial');
    await writeFile(liveFile, 'partial');
    onTestFinished(() => rm(liveFile, { force: true }));
    const staleWork = await mkdtemp(path.join(tmpdir(), `supabase-backup-${deadPid}-`));
    onTestFinished(() => rm(staleWork, { recursive: true, force: true }));
    const all: Record<string, string> = { 'database-url': sourceUrl, destination: 'none', 'output-dir': dir };
    const result = await runBackup(parseConfig((name) => all[name] ?? ''), log);
    expect((await readdir(dir)).sort()).toEqual([path.basename(liveFile), result.file].sort());
    expect(existsSync(staleWork)).toBe(false);
  });
});
