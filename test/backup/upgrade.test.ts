/**
 * Moving between major versions (supabase-reference.md §13): a backup of a PostgreSQL 15 project restores
 * into a fresh PostgreSQL 17 project, made with pg_dump 15 (`postgres-version: auto`) or pg_dump 17
 * (`postgres-version: 17`), and leaves the target's default privileges and managed objects exactly as a
 * fresh 17 project has them; a backup of a 17 project is refused by a 15 server, by `psql -f` and by
 * the `restore` command, before anything is written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runAction } from '../helpers/action.js';
import { ACTION_NODE, productEnv } from '../helpers/runtimes.js';
import { pgBinDir } from '../helpers/cluster.js';
import { DURABLE_TABLES, relationAcls, rowCount, tableRows, withClient } from '../helpers/compare.js';
import { psqlFile } from '../helpers/restore.js';
import { startSupabaseCluster, type SupabaseCluster, type SupabaseDatabase } from '../helpers/supabase.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');
const USER_TABLES = ['public.profiles', 'public.notes', 'public.tricky', 'public.app_settings', 'private.settings'];

let pg15: SupabaseCluster;
let pg17: SupabaseCluster;
let work: string;
let psql17: string;

beforeAll(async () => {
  [pg15, pg17] = await Promise.all([startSupabaseCluster({ major: 15 }), startSupabaseCluster({ major: 17 })]);
  work = await mkdtemp(path.join(tmpdir(), 'upgrade-'));
  psql17 = path.join(pgBinDir(17), 'psql');
});

afterAll(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** Backs `source` up with the action; PostgreSQL 17's client is found through PG_BIN when asked for. */
async function backup(source: SupabaseDatabase, postgresVersion: string, name: string): Promise<{ file: string; pgDump: string }> {
  const run = await runAction(
    { 'database-url': source.url, destination: 'none', 'output-dir': path.join(work, name), 'postgres-version': postgresVersion },
    { env: { PG_BIN: pgBinDir(17) } },
  );
  expect(run.exitCode, run.visible).toBe(0);
  return { file: run.outputs['backup-path']!, pgDump: run.outputs['pg-dump-version']! };
}

/** Every default privilege of the database, by role, schema and kind. */
async function defaultAcls(url: string): Promise<string[]> {
  const { rows } = await withClient(url, (c) =>
    c.query<{ line: string }>(
      `SELECT defaclrole::regrole || ' ' || coalesce(defaclnamespace::regnamespace::text, '-') || ' ' || defaclobjtype::text
              || ' ' || defaclacl::text AS line
         FROM pg_default_acl ORDER BY 1`,
    ),
  );
  return rows.map((row) => row.line);
}

describe('PostgreSQL 15 project → PostgreSQL 17 project', () => {
  let source: SupabaseDatabase;
  let fresh: SupabaseDatabase;
  const restored = new Map<string, SupabaseDatabase>();

  beforeAll(async () => {
    source = await pg15.createSource('source');
    fresh = await pg17.createTarget('fresh');
  });

  it.each([
    ['auto', /^15\./],
    ['17', /^17\./],
  ])('postgres-version: %s restores as postgres with psql 17, every row identical', async (version, dumpVersion) => {
    const { file, pgDump } = await backup(source, version, `from15-${version}`);
    expect(pgDump).toMatch(dumpVersion);
    const target = await pg17.createTarget(`target_${version}`);
    const restore = await psqlFile(target.url, file, undefined, psql17);
    expect(restore.exitCode, restore.stderr).toBe(0);
    for (const table of [...DURABLE_TABLES, ...USER_TABLES]) {
      expect(await tableRows(target.url, table), table).toEqual(await tableRows(source.url, table));
    }
    restored.set(version, target);
  });

  it("leaves the target's default privileges exactly as a fresh PostgreSQL 17 project has them", async () => {
    const expected = await defaultAcls(fresh.url);
    expect(expected.some((line) => line.startsWith('postgres public r ') && line.includes('anon=arwdDxtm/postgres'))).toBe(true);
    for (const [version, target] of restored) expect(await defaultAcls(target.url), version).toEqual(expected);
  });

  it('leaves the privileges on auth and storage as a fresh project has them', async () => {
    const expected = await relationAcls(fresh.url, ['auth', 'storage']);
    for (const [version, target] of restored) expect(await relationAcls(target.url, ['auth', 'storage']), version).toEqual(expected);
  });

  it('gives restored tables the same privileges with either pg_dump: ALL (with MAINTAIN) where the source had ALL', async () => {
    const [auto, seventeen] = [restored.get('auto')!, restored.get('17')!];
    expect(await relationAcls(seventeen.url, ['public', 'private'])).toEqual(await relationAcls(auto.url, ['public', 'private']));
    const maintain = await withClient(seventeen.url, (c) =>
      c.query("SELECT has_table_privilege('anon', 'public.notes', 'MAINTAIN') AS notes"),
    );
    expect(maintain.rows[0]).toEqual({ notes: true });
  });
});

describe('PostgreSQL 17 project → PostgreSQL 15 server: refused before anything is written', () => {
  let file: string;
  let target: SupabaseDatabase;

  beforeAll(async () => {
    const source = await pg17.createSource('source');
    ({ file } = await backup(source, 'auto', 'from17'));
    target = await pg15.createTarget('target_old');
  });

  it('psql -f stops at the file\'s version check, naming both versions', async () => {
    const restore = await psqlFile(target.url, file);
    expect(restore.exitCode).toBe(3);
    expect(restore.stderr).toMatch(
      /ERROR: {2}this backup was taken from PostgreSQL 17\.\d+; this server runs PostgreSQL 15\.\d+, an older major version, so nothing was restored/,
    );
    expect(restore.stderr).toContain('HINT:  Restore it into a database on PostgreSQL 17 or newer');
    expect(await rowCount(target.url, 'auth.users')).toBe(0);
    const notes = await withClient(target.url, (c) => c.query("SELECT to_regclass('public.notes') AS t"));
    expect(notes.rows[0].t).toBeNull();
  });

  it('the restore command refuses it, naming both versions, and writes nothing', async () => {
    const result = await execa(ACTION_NODE, [CLI, 'restore', '--file', file, '--database-url', target.url], {
      reject: false,
      all: true,
      env: productEnv(),
      extendEnv: false,
      stdin: 'ignore',
    });
    expect(result.exitCode).not.toBe(0);
    expect(String(result.all)).toMatch(
      /this backup was taken from PostgreSQL 17\.\d+ and the target runs PostgreSQL 15\.\d+, an older major version.*Nothing was written/s,
    );
    expect(String(result.all)).not.toContain('PART 1');
    expect(await rowCount(target.url, 'auth.users')).toBe(0);
  });
});
