/**
 * `verify: restore`: the backup of a Supabase-shaped SOURCE is restored into an empty scratch database
 * (a plain PostgreSQL cluster whose superuser is `postgres`, like a `services: postgres` container) and
 * compared table by table with the snapshot. A good backup passes; a tampered one (a row deleted inside
 * a COPY block, a truncated file, a marker removed, a table's data duplicated, a value changed) fails,
 * names the tables, and nothing is published.
 */
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGzip, gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runBackup } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import { RestoreCheckError } from '../../src/backup/restorecheck.js';
import { ScratchError, checkScratch } from '../../src/backup/scratch.js';
import { parseDatabaseUrl } from '../../src/postgres/connection.js';
import { ROOT, runAction, type ActionRun } from '../helpers/action.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { DURABLE_TABLES, tableRows, withClient } from '../helpers/compare.js';
import { recordingLogger } from '../helpers/publish.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');
const USER_TABLES = ['public.profiles', 'public.notes', 'public.tricky', 'public.app_settings', 'private.settings', 'public.events_2025'];
const RULE = '-- =====================================================';

let supabase: SupabaseCluster;
/** The "postgres service container": a plain cluster, superuser `postgres`, nothing Supabase in it. */
let scratchServer: Cluster;
let sourceUrl: string;
let scratchUrl: string;
let outputDir: string | undefined;
let run: ActionRun;
let goodFile: string;

beforeAll(async () => {
  [supabase, scratchServer] = await Promise.all([
    startSupabaseCluster(),
    startCluster({ superuser: 'postgres', superuserPassword: 'postgres' }),
  ]);
  sourceUrl = (await supabase.createSource('source')).url;
  scratchUrl = scratchServer.url('postgres', 'postgres');
  outputDir = await mkdtemp(path.join(tmpdir(), 'verify-restore-'));
  run = await runAction({
    'database-url': sourceUrl,
    destination: 'none',
    'output-dir': outputDir,
    verify: 'restore',
    'verify-database-url': scratchUrl,
  });
  goodFile = run.outputs['backup-path'] ?? '';
});

afterAll(async () => {
  await Promise.all([supabase?.stop(), scratchServer?.stop()]);
  if (outputDir) await rm(outputDir, { recursive: true, force: true });
});

/** A folder in the temp directory, removed when the test ends. */
async function tempDirForTest(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('verify: restore through the action (node dist/index.js)', () => {
  it('passes on a good backup: restored with psql -f into the scratch database and compared table by table', () => {
    expect(run.exitCode, run.visible).toBe(0);
    expect(run.stdout).toMatch(/Restore check: scratch database postgres on 127\.0\.0\.1:\d+/);
    expect(run.stdout).toContain(`restoring with: psql -f ${path.basename(goodFile)} (as postgres)`);
    expect(run.stdout).toMatch(/✅ Restore check passed: 21 tables, 59 rows, row counts and content checksums equal to the snapshot/);
    expect(run.summary).toContain('Restore check passed');
    expect(path.dirname(goodFile)).toBe(outputDir);
    // The scratch URL is never printed; its password 'postgres' is not masked (it would hide the word everywhere).
    expect(run.visible).not.toContain('postgres:postgres@');
    expect(run.stdout).not.toContain('::add-mask::postgres\n');
  });

  it('left in the scratch database exactly the rows of the source', async () => {
    for (const table of [...DURABLE_TABLES, ...USER_TABLES]) {
      expect(await tableRows(scratchUrl, table), table).toEqual(await tableRows(sourceUrl, table));
    }
  });

  it('created the Supabase roles the scratch server lacked as NOLOGIN, without passwords', async () => {
    const roles = await withClient(scratchUrl, (c) =>
      c.query<{ rolname: string; rolcanlogin: boolean; nopassword: boolean }>(
        `SELECT rolname, rolcanlogin, rolpassword IS NULL AS nopassword FROM pg_authid
          WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator', 'supabase_admin',
                            'supabase_auth_admin', 'supabase_storage_admin') ORDER BY 1`,
      ),
    );
    expect(roles.rows.map((r) => r.rolname)).toEqual([
      'anon', 'authenticated', 'authenticator', 'service_role', 'supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin',
    ]);
    expect(roles.rows.every((r) => !r.rolcanlogin && r.nopassword)).toBe(true);
  });

  it('refuses the now non-empty scratch database before dumping anything, and publishes nothing', async () => {
    const dir = await tempDirForTest('verify-restore-busy-');
    const again = await runAction({
      'database-url': sourceUrl,
      destination: 'none',
      'output-dir': dir,
      verify: 'restore',
      'verify-database-url': scratchUrl,
    });
    expect(again.exitCode).not.toBe(0);
    expect(again.visible).toMatch(/the scratch database 'postgres' on 127\.0\.0\.1:\d+ is not empty \(schema auth, .*schema storage, /);
    expect(again.stdout).not.toContain('Step 1/2');
    expect(again.outputs['backup-path']).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('verify: restore of a sealed backup', () => {
  it('checks the plain SQL, written beside the sealed file in the same pass, and keeps only the sealed file', async () => {
    await scratchServer.createDatabase('scratch_sealed');
    const dir = await tempDirForTest('verify-restore-sealed-');
    const inputs: Record<string, string> = {
      'database-url': sourceUrl,
      destination: 'none',
      'output-dir': dir,
      verify: 'restore',
      'verify-database-url': scratchServer.url('scratch_sealed', 'postgres'),
    };
    let checked = '';
    const result = await runBackup(parseConfig((input) => inputs[input] ?? ''), recordingLogger(), {
      installClient: false,
      seal: { transforms: () => [createGzip()], suffix: '.gz' },
      beforeRestoreCheck: async (file) => {
        checked = (await readFile(file, 'utf8')).split('\n')[1]!;
      },
    });
    expect(checked).toBe('-- COMPLETE DATABASE BACKUP');
    expect(result.restoreCheck).toMatchObject({ tables: 21, rows: 59 });
    expect(await readdir(dir)).toEqual([result.file]);
    expect(result.file).toMatch(/\.sql\.gz$/);
    expect(gunzipSync(await readFile(result.path)).toString('utf8').split('\n')[1]).toBe('-- COMPLETE DATABASE BACKUP');
  });
});

describe('verify: restore refuses a scratch database it cannot use', () => {
  it('refuses a user that is not a superuser', async () => {
    await scratchServer.query("CREATE ROLE scratch_owner LOGIN PASSWORD 'scratch'", { db: 'postgres' });
    await scratchServer.createDatabase('owned', { owner: 'scratch_owner' });
    await scratchServer.setPassword('scratch_owner', 'scratch');
    const error = await checkScratch(parseDatabaseUrl(scratchServer.url('owned', 'scratch_owner')), 15).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScratchError);
    expect((error as Error).message).toMatch(/connects as 'scratch_owner', which is not a superuser/);
  });
});

/** Tamperings of the plain SQL, as text. */
function deleteCopyRow(sql: string, table: string): string {
  const start = sql.indexOf(`\nCOPY ${table} (`);
  const firstRow = sql.indexOf('\n', start + 1) + 1;
  const next = sql.indexOf('\n', firstRow) + 1;
  return sql.slice(0, firstRow) + sql.slice(next);
}
function duplicateCopyBlock(sql: string, table: string): string {
  const start = sql.indexOf(`\nCOPY ${table} (`) + 1;
  const end = sql.indexOf('\n\\.\n', start) + 4;
  return sql.slice(0, end) + sql.slice(start, end) + sql.slice(end);
}
function removeMarker(sql: string): string {
  const marker = `${RULE}\n-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)\n`;
  expect(sql).toContain(marker);
  return sql.replace(marker, `${RULE}\n`);
}

interface Tampered {
  error: unknown;
  logs: string;
  files: string[];
  copy: string;
}

/** Runs the backup (in process, same pipeline as the action) with the file tampered just before the restore check. */
async function backupTamperedWith(name: string, tamper: (sql: Buffer) => Buffer): Promise<Tampered> {
  await scratchServer.createDatabase(`scratch_${name}`);
  const dir = await tempDirForTest(`tampered-${name}-`);
  const copy = path.join(await tempDirForTest('tampered-copy-'), `full_2026-11-29T23-45-00-000Z_0000000${name.length % 10}.sql`);
  const inputs: Record<string, string> = {
    'database-url': sourceUrl,
    destination: 'none',
    'output-dir': dir,
    verify: 'restore',
    'verify-database-url': scratchServer.url(`scratch_${name}`, 'postgres'),
  };
  const log = recordingLogger();
  const error = await runBackup(parseConfig((input) => inputs[input] ?? ''), log, {
    installClient: false,
    beforeRestoreCheck: async (file) => {
      await writeFile(file, tamper(await readFile(file)));
      await copyFile(file, copy);
    },
  }).then(
    () => null,
    (e: unknown) => e,
  );
  return { error, logs: log.all(), files: await readdir(dir), copy };
}

const text = (edit: (sql: string) => string) => (sql: Buffer): Buffer => Buffer.from(edit(sql.toString('utf8')));

async function cliVerify(file: string): Promise<{ exitCode: number; output: string }> {
  const result = await execa('node', [CLI, 'verify', '--file', file], { reject: false, all: true });
  return { exitCode: result.exitCode ?? -1, output: String(result.all) };
}

describe('verify: restore fails on a tampered file, names the tables, and publishes nothing', () => {
  it('a row deleted inside a COPY block', async () => {
    const result = await backupTamperedWith('deleted', text((sql) => deleteCopyRow(sql, 'public.notes')));
    expect(result.error).toBeInstanceOf(RestoreCheckError);
    const message = (result.error as Error).message;
    expect(message).toContain('public.notes: 2 rows after the restore, 3 in the snapshot');
    expect(message).toContain('file: public.notes: 2 rows in the file, 3 expected');
    expect(result.files).toEqual([]);
    const verify = await cliVerify(result.copy);
    expect(verify.exitCode).toBe(1);
    expect(verify.output).toContain('public.notes: 2 rows in the file, 3 expected');
  });

  it('a truncated file', async () => {
    // Cut at a statement boundary in PART 2: psql reads to the end without an error, and without COMMIT.
    const result = await backupTamperedWith('truncated', (sql) => sql.subarray(0, sql.indexOf('\nCOPY public.notes (') + 1));
    expect(result.error).toBeInstanceOf(RestoreCheckError);
    const message = (result.error as Error).message;
    expect(message).toContain('file: the END OF BACKUP manifest is missing: the file is truncated');
    // Nothing was committed: the tables PART 2 creates are not there, auth tables are empty.
    expect(message).toMatch(/public\.notes: missing after the restore \(3 rows in the snapshot\)/);
    expect(message).toContain('auth.users: 0 rows after the restore, 5 in the snapshot');
    expect(result.files).toEqual([]);
    const verify = await cliVerify(result.copy);
    expect(verify.exitCode).toBe(1);
    expect(verify.output).toMatch(/truncated/);
  });

  it('a PART marker removed', async () => {
    const result = await backupTamperedWith('marker', text(removeMarker));
    expect(result.error).toBeInstanceOf(RestoreCheckError);
    expect((result.error as Error).message).toContain('file: PART markers found as statements: [1,3], expected [1,2,3] in that order');
    expect(result.files).toEqual([]);
    const verify = await cliVerify(result.copy);
    expect(verify.exitCode).toBe(1);
    expect(verify.output).toContain('PART markers found as statements: [1,3]');
  });

  it("a table's data duplicated", async () => {
    const result = await backupTamperedWith('duplicated', text((sql) => duplicateCopyBlock(sql, 'public.notes')));
    expect(result.error).toBeInstanceOf(RestoreCheckError);
    const message = (result.error as Error).message;
    expect(message).toContain('file: public.notes: 6 rows in the file, 3 expected');
    expect(message).toMatch(/the restore stopped \(psql exit code 3\); nothing was restored/);
    expect(message).toMatch(/could not create unique index "notes_pkey"\n\s*DETAIL: {2}Key \(id\)=\(1\) is duplicated/);
    // psql's message names the file by its backup name, not the temporary one.
    expect(message).toMatch(/psql:full_[\dT-]+Z_[0-9a-f]{8}\.sql:\d+: ERROR/);
    expect(result.files).toEqual([]);
    const verify = await cliVerify(result.copy);
    expect(verify.exitCode).toBe(1);
    expect(verify.output).toContain('public.notes: 6 rows in the file, 3 expected');
  });

  it('a value changed inside a COPY row: only the content checksum sees it', async () => {
    const result = await backupTamperedWith('changed', text((sql) => sql.replace("\tBob's note\t", "\tBob's n0te\t")));
    expect(result.error).toBeInstanceOf(RestoreCheckError);
    expect((result.error as Error).message).toContain('public.notes: 3 rows as in the snapshot, but their content differs (checksum)');
    expect((result.error as Error).message).not.toContain('file:');
    expect(result.files).toEqual([]);
    // The file checks alone cannot tell: counts and markers are intact.
    expect((await cliVerify(result.copy)).exitCode).toBe(0);
  });
});
