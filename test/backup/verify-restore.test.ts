/**
 * `verify: restore`: the backup of a Supabase-shaped SOURCE is restored into an empty scratch database
 * (a plain PostgreSQL cluster whose superuser is `supabase_admin`, like a `services: postgres` container
 * with POSTGRES_USER: supabase_admin), as the non-superuser `postgres` behind a hosted project's
 * gatekeeping, and compared table by table with the snapshot. A statement a hosted project refuses fails
 * the backup. A good backup passes; a tampered one (a row deleted inside
 * a COPY block, a truncated file, a marker removed, a table's data duplicated, a value changed) fails,
 * names the tables, and nothing is published.
 */
import { createHash } from 'node:crypto';
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
import { ACTION_NODE } from '../helpers/runtimes.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { DURABLE_TABLES, tableRows, withClient } from '../helpers/compare.js';
import { recordingLogger } from '../helpers/publish.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');
const USER_TABLES = ['public.profiles', 'public.notes', 'public.tricky', 'public.app_settings', 'private.settings', 'public.events_2025'];
const RULE = '-- =====================================================';

let supabase: SupabaseCluster;
/** The "postgres service container": a plain cluster, superuser `supabase_admin`, nothing Supabase in it. */
let scratchServer: Cluster;
const SCRATCH_SUPERUSER = 'supabase_admin';
let sourceUrl: string;
let scratchUrl: string;
let outputDir: string | undefined;
let run: ActionRun;
let goodFile: string;

beforeAll(async () => {
  [supabase, scratchServer] = await Promise.all([
    startSupabaseCluster(),
    startCluster({ superuser: SCRATCH_SUPERUSER, superuserPassword: 'sc-pw-9f3e' }),
  ]);
  sourceUrl = (await supabase.createSource('source')).url;
  await scratchServer.createDatabase('postgres').catch(() => undefined);
  scratchUrl = scratchServer.url('postgres', SCRATCH_SUPERUSER);
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
    expect(run.stdout).toContain(
      `restoring with: psql -f ${path.basename(goodFile)} (as postgres, not a superuser, behind the gatekeeping of a hosted project)`,
    );
    expect(run.stdout).not.toContain('::warning::');
    expect(run.stdout).toMatch(/✅ Restore check passed: 21 tables, 59 rows, row counts and content checksums equal to the snapshot/);
    expect(run.summary).toContain('Restore check passed');
    expect(path.dirname(goodFile)).toBe(outputDir);
    expect(run.visible).not.toContain(`${SCRATCH_SUPERUSER}:sc-pw-9f3e@`);
  });

  it('left in the scratch database exactly the rows of the source', async () => {
    for (const table of [...DURABLE_TABLES, ...USER_TABLES]) {
      expect(await tableRows(scratchUrl, table), table).toEqual(await tableRows(sourceUrl, table));
    }
  });

  it('dropped the roles it made on the scratch server after the check (roles are the server\'s, not the database\'s)', async () => {
    expect(run.stdout).toMatch(/prepared as a fresh Supabase project: PostgreSQL [\d.]+, \d+ role\(s\) created NOLOGIN/);
    const roles = await withClient(scratchUrl, (c) =>
      c.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1"),
    );
    expect(roles.rows.map((r) => r.rolname)).toEqual([SCRATCH_SUPERUSER]);
    expect(run.stdout).not.toContain('could not drop the role(s)');
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
      'verify-database-url': scratchServer.url('scratch_sealed', SCRATCH_SUPERUSER),
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
  const copyDir = await tempDirForTest('tampered-copy-');
  let copy = '';
  const inputs: Record<string, string> = {
    'database-url': sourceUrl,
    destination: 'none',
    'output-dir': dir,
    verify: 'restore',
    'verify-database-url': scratchServer.url(`scratch_${name}`, SCRATCH_SUPERUSER),
  };
  const log = recordingLogger();
  const error = await runBackup(parseConfig((input) => inputs[input] ?? ''), log, {
    installClient: false,
    beforeRestoreCheck: async (file) => {
      const tampered = tamper(await readFile(file));
      await writeFile(file, tampered);
      // The copy is named as a backup of these bytes (verify checks the sha256 in the name first).
      copy = path.join(copyDir, `full_2026-11-29T23-45-00-000Z_${createHash('sha256').update(tampered).digest('hex').slice(0, 8)}.sql`);
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
  const result = await execa(ACTION_NODE, [CLI, 'verify', '--file', file], { reject: false, all: true });
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
    // Without PART 2's marker, PART 2's statements stand in PART 1: the file policy refuses the layout
    // before the scratch restore.
    expect((result.error as Error).message).toMatch(/file: line \d+: «CREATE SCHEMA IF NOT EXISTS "public";»: PART 1 holds only data of auth and storage tables/);
    expect(result.files).toEqual([]);
    const verify = await cliVerify(result.copy);
    expect(verify.exitCode).toBe(1);
    expect(verify.output).toContain('PART 1 holds only data of auth and storage tables');
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

/** Inserts `statement` as the first statement of PART 2 (right after its banner). */
function atPart2(statement: string): (sql: string) => string {
  return (sql) => {
    const banner = '\\echo PART 2: user schemas (schema + data)\n';
    expect(sql).toContain(banner);
    return sql.replace(banner, `${banner}${statement}\n`);
  };
}

describe('verify: restore refuses what a hosted project refuses (supautils), and publishes nothing', () => {
  it.each([
    ['a DROP POLICY IF EXISTS on a table a fresh project does not have', 'droppolicy',
      'DROP POLICY IF EXISTS "own notes" ON public.notes;', 'relation "public.notes" does not exist'],
    ['a DROP TRIGGER IF EXISTS on a table a fresh project does not have', 'droptrigger',
      'DROP TRIGGER IF EXISTS touch ON public."Mixed Case";', 'relation "public.Mixed Case" does not exist'],
    ['a write to a service ledger', 'ledgerwrite',
      "INSERT INTO storage.migrations (id, name, hash) VALUES (999, 'x', 'x');", 'permission denied for table migrations'],
  ])('%s', async (_what, name, statement, error) => {
    const result = await backupTamperedWith(name, text(atPart2(statement)));
    expect(result.error).toBeInstanceOf(RestoreCheckError);
    const message = (result.error as Error).message;
    expect(message).toMatch(/the restore stopped \(psql exit code 3\); nothing was restored/);
    expect(message).toContain(`ERROR:  ${error}`);
    expect(result.files).toEqual([]);
  });
});

describe('verify: restore refuses DDL on managed schemas in PART 2 before the scratch restore (file policy)', () => {
  it.each([
    ['a policy on a managed table in PART 2', 'ledgerpolicy',
      'CREATE POLICY sneaky ON auth.schema_migrations FOR SELECT USING (true);', 'auth.schema_migrations'],
    ['DDL on a managed table', 'altertable', 'ALTER TABLE auth.users ADD COLUMN sneaky text;', 'auth.users'],
  ])('%s', async (_what, name, statement, table) => {
    const result = await backupTamperedWith(name, text(atPart2(statement)));
    expect(result.error).toBeInstanceOf(RestoreCheckError);
    const message = (result.error as Error).message;
    expect(message).toMatch(/file: line \d+: «/);
    expect(message).toContain(`«${statement}»: changes «${table}», a Supabase-managed schema, outside PART 3`);
    expect(message).not.toContain('the restore stopped');
    expect(result.logs).not.toContain('restoring with: psql');
    expect(result.files).toEqual([]);
  });
});

describe("verify: restore with a scratch server whose superuser is 'postgres' (a plain postgres service container)", () => {
  let plainServer: Cluster;
  beforeAll(async () => {
    plainServer = await startCluster({ superuser: 'postgres', superuserPassword: 'postgres' });
  });
  afterAll(async () => {
    await plainServer?.stop();
  });

  it('restores as that superuser behind the same gatekeeping, and says how to get a non-superuser restore', async () => {
    const url = plainServer.url('postgres', 'postgres');
    const dir = await mkdtemp(path.join(tmpdir(), 'verify-restore-plain-'));
    const plain = await runAction({ 'database-url': sourceUrl, destination: 'none', 'output-dir': dir, verify: 'restore', 'verify-database-url': url });
    expect(plain.exitCode, plain.visible).toBe(0);
    expect(plain.stdout).toMatch(/::warning::the scratch server's role 'postgres' is its superuser .* POSTGRES_USER: supabase_admin/);
    expect(plain.stdout).toMatch(/restoring with: psql -f full_\S+ \(as postgres, behind the gatekeeping of a hosted project\)/);
    expect(plain.stdout).toMatch(/✅ Restore check passed: 21 tables, 59 rows/);
    // The scratch URL is never printed; its password 'postgres' is not masked (it would hide the word everywhere).
    expect(plain.visible).not.toContain('postgres:postgres@');
    expect(plain.stdout).not.toContain('::add-mask::postgres\n');
    const gates = await withClient(url, (c) => c.query("SELECT evtname FROM pg_event_trigger WHERE evtname LIKE 'scratch_gatekeeper%' ORDER BY 1"));
    expect(gates.rows.map((r) => r.evtname)).toEqual(['scratch_gatekeeper_ddl_end', 'scratch_gatekeeper_drop_start', 'scratch_gatekeeper_sql_drop']);
    await rm(dir, { recursive: true, force: true });
  });
});
