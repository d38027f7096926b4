/**
 * The command-line tool (bin/supabase-complete-backup.js, the bundle npx runs): `restore` of plain,
 * `.gz` and `.age` backups into fresh Supabase-shaped TARGETs, compared table by table with SOURCE;
 * refusal on a target that already has a colliding user or bucket; `verify` and `list` of directories
 * and of a backups branch.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Encrypter } from 'age-encryption';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runAction } from '../helpers/action.js';
import { DEFAULT_MAJOR } from '../helpers/cluster.js';
import { ACTION_NODE, productEnv } from '../helpers/runtimes.js';
import { DURABLE_TABLES, listPolicies, listTriggers, rowCount, tableRows, withClient } from '../helpers/compare.js';
import { USER_IDS, startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');
const USER_TABLES = [
  'public.profiles', 'public.notes', 'public.tricky', 'public.app_settings', 'public.contacts',
  'public.events_2025', 'public.events_2026', 'private.settings',
];
const PASSPHRASE = 'correct horse battery staple';

let supabase: SupabaseCluster;
let sourceUrl: string;
let work: string;
let plainFile: string;
let gzFile: string;
let ageFile: string;
let passphraseFile: string;
let keyFile: string;
let otherKeyFile: string;

interface CliRun {
  exitCode: number;
  stdout: string;
  output: string;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const result = await execa(ACTION_NODE, [CLI, ...args], {
    reject: false,
    all: true,
    env: { ...productEnv(), ...env },
    extendEnv: false,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), output: String(result.all) };
}

const sha8 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex').slice(0, 8);

/** Renames a file as the action names one: full_<time>_<first 8 hex of the sha256 of its bytes><suffix>. */
async function nameBySha(file: string, time: string, suffix: string): Promise<string> {
  const named = path.join(path.dirname(file), `full_${time}_${sha8(await readFile(file))}${suffix}`);
  await rename(file, named);
  return named;
}

async function expectSameAsSource(targetUrl: string): Promise<void> {
  for (const table of [...DURABLE_TABLES, ...USER_TABLES]) {
    expect(await tableRows(targetUrl, table), table).toEqual(await tableRows(sourceUrl, table));
  }
  expect(await listPolicies(targetUrl)).toEqual(await listPolicies(sourceUrl));
  expect((await listTriggers(targetUrl, 'auth.users')).map((t) => t.name)).toContain('on_auth_user_created');
}

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('source')).url;
  work = await mkdtemp(path.join(tmpdir(), 'cli-restore-'));
  const run = await runAction({ 'database-url': sourceUrl, destination: 'none', 'output-dir': path.join(work, 'made') });
  expect(run.exitCode, run.visible).toBe(0);
  plainFile = run.outputs['backup-path']!;
  const sql = await readFile(plainFile);

  // The sealed forms, made with other tools than the one under test: zlib, the age CLI, age-encryption.
  // Each is named as the action names a file: the sha256 prefix of its own bytes (checked by verify and
  // restore), and a later time so that they list newest first.
  gzFile = path.join(work, 'made', 'sealing.sql.gz');
  await writeFile(gzFile, gzipSync(sql));
  gzFile = await nameBySha(gzFile, '2099-01-01T00-00-00-000Z', '.sql.gz');
  keyFile = path.join(work, 'key.txt');
  otherKeyFile = path.join(work, 'other-key.txt');
  await execa('age-keygen', ['-o', keyFile]);
  await execa('age-keygen', ['-o', otherKeyFile]);
  const recipient = /public key: (age1\S+)/.exec(await readFile(keyFile, 'utf8'))![1]!;
  ageFile = path.join(work, 'made', 'sealing.sql.gz.age');
  await execa('age', ['-r', recipient, '-o', ageFile, gzFile]);
  ageFile = await nameBySha(ageFile, '2099-01-02T00-00-00-000Z', '.sql.gz.age');
  const encrypter = new Encrypter();
  encrypter.setPassphrase(PASSPHRASE);
  encrypter.setScryptWorkFactor(12);
  passphraseFile = path.join(work, 'made', 'sealing.sql.age');
  await writeFile(passphraseFile, await encrypter.encrypt(sql));
  passphraseFile = await nameBySha(passphraseFile, '2026-01-01T00-00-00-000Z', '.sql.age');
});

afterAll(async () => {
  await supabase?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('restore into a fresh project', () => {
  it('from a plain .sql file: every table as in SOURCE, per-table counts printed', async () => {
    const target = await supabase.createTarget('t_plain');
    const result = await cli(['restore', '--file', plainFile, '--database-url', target.url]);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain('(a Supabase database)');
    expect(result.output).toContain('✅ No collisions');
    expect(result.output).toContain('… PART 3: user objects on auth and storage tables');
    expect(result.stdout).toMatch(new RegExp(String.raw`✔ Restored .*\.sql in [\d.]+ s \(PostgreSQL ${DEFAULT_MAJOR}\.\d+, psql ${DEFAULT_MAJOR}\.\d+\)`));
    expect(result.stdout).toMatch(/^ {2}auth\.users +5 +5$/m);
    expect(result.stdout).toMatch(/^ {2}public\.notes +3 +3$/m);
    expect(result.stdout).toContain('21 tables, 59 rows restored.');
    expect(result.stdout).toContain('storage files, Auth settings and JWT secrets');
    // The password travels in PGPASSWORD only, never in what is printed.
    expect(result.output).not.toContain(target.url);
    await expectSameAsSource(target.url);
  });

  it('from a .sql.gz file', async () => {
    const target = await supabase.createTarget('t_gz');
    const result = await cli(['restore', '--file', gzFile, '--database-url', target.url]);
    expect(result.exitCode, result.output).toBe(0);
    await expectSameAsSource(target.url);
  });

  it('from a .sql.gz.age file with the age key (--identity), the URL from RESTORE_DATABASE_URL', async () => {
    const target = await supabase.createTarget('t_age');
    const result = await cli(['restore', '--file', ageFile, '--identity', keyFile], { RESTORE_DATABASE_URL: target.url });
    expect(result.exitCode, result.output).toBe(0);
    await expectSameAsSource(target.url);
  });

  it('from a passphrase-encrypted .age file (BACKUP_PASSPHRASE)', async () => {
    const target = await supabase.createTarget('t_pass');
    const result = await cli(['restore', '--file', passphraseFile, '--database-url', target.url], { BACKUP_PASSPHRASE: PASSPHRASE });
    expect(result.exitCode, result.output).toBe(0);
    await expectSameAsSource(target.url);
  });

  it('says what is missing for an encrypted file: the key, or the right key', async () => {
    const target = await supabase.createTarget('t_nokey');
    const none = await cli(['restore', '--file', ageFile, '--database-url', target.url]);
    expect(none.exitCode).toBe(1);
    expect(none.output).toMatch(/is encrypted \(age\): give the key with --identity KEYFILE, or the passphrase/);
    const wrong = await cli(['restore', '--file', ageFile, '--identity', otherKeyFile, '--database-url', target.url]);
    expect(wrong.exitCode).toBe(1);
    expect(wrong.output).toMatch(/cannot decrypt .*no identity matched/);
    expect(await rowCount(target.url, 'auth.users')).toBe(0);
  });
});

describe('restore refuses before writing anything', () => {
  it('a target that already has a colliding user and bucket: names them, changes nothing; --force fails atomically', async () => {
    const target = await supabase.createTarget('t_busy');
    await supabase.cluster.query(
      `INSERT INTO auth.users (instance_id, id, aud, role, email, is_sso_user, created_at, updated_at)
       VALUES ('00000000-0000-0000-0000-000000000000', '99999999-9999-4999-8999-999999999999', 'authenticated',
               'authenticated', 'alice@example.test', false, now(), now());
       INSERT INTO storage.buckets (id, name, public) VALUES ('avatars', 'avatars', true);`,
      { db: 't_busy' },
    );
    const refused = await cli(['restore', '--file', plainFile, '--database-url', target.url]);
    expect(refused.exitCode).toBe(3);
    expect(refused.output).toContain('✖ Restore refused: 2 row(s) of the backup collide');
    expect(refused.output).toContain('auth.users: email alice@example.test is taken by user 99999999-9999-4999-8999-999999999999');
    expect(refused.output).toContain("storage.buckets: bucket id 'avatars' already exists (bucket 'avatars')");
    expect(refused.output).toContain('Nothing was written');
    expect(refused.output).not.toContain('PART 1');

    const forced = await cli(['restore', '--file', plainFile, '--database-url', target.url, '--force']);
    expect(forced.exitCode).toBe(1);
    expect(forced.output).toContain('--force: restoring anyway, despite 2 collision(s)');
    expect(forced.output).toMatch(/the restore failed and was rolled back, so the target is unchanged:\n.*duplicate key value/);

    expect(await rowCount(target.url, 'auth.users')).toBe(1);
    expect(await rowCount(target.url, 'storage.buckets')).toBe(1);
    const notes = await withClient(target.url, (c) => c.query("SELECT to_regclass('public.notes') AS t"));
    expect(notes.rows[0].t).toBeNull();
  });

  it('a target whose tables the backup would replace still hold rows, and a restore over a restored project', async () => {
    const target = await supabase.createTarget('t_twice');
    expect((await cli(['restore', '--file', plainFile, '--database-url', target.url])).exitCode).toBe(0);
    const again = await cli(['restore', '--file', plainFile, '--database-url', target.url]);
    expect(again.exitCode).toBe(3);
    expect(again.output).toContain(`user id ${USER_IDS.confirmedEmail} (alice@example.test) already exists`);
    expect(again.output).toMatch(/table\(s\) of the target hold rows, and the backup drops and recreates them[^\n]*\n(?: {2}- .*\n)*? {2}- public\.notes\n/);
  });

  it('a database that is not a Supabase database', async () => {
    await supabase.cluster.createDatabase('not_supabase', { owner: 'postgres' });
    const result = await cli(['restore', '--file', plainFile, '--database-url', supabase.urlFor('not_supabase')]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/database 'not_supabase' on 127\.0\.0\.1:\d+ is not a Supabase database \(it has no auth\.users, auth\.identities, storage\.buckets, storage\.objects\)/);
  });

  it('a file that fails its checks', async () => {
    const target = await supabase.createTarget('t_cut');
    const sql = await readFile(plainFile);
    const half = sql.subarray(0, Math.floor(sql.length / 2));
    const cut = path.join(work, `full_2026-01-02T00-00-00-000Z_${sha8(half)}.sql`);
    await writeFile(cut, half);
    const result = await cli(['restore', '--file', cut, '--database-url', target.url]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain('failed its checks, so nothing was restored');
    expect(result.output).toContain('the END OF BACKUP manifest is missing: the file is truncated');
    expect(await rowCount(target.url, 'auth.users')).toBe(0);
  });
});

describe('verify and list', () => {
  it('verify --file reads plain, .gz and .age files', async () => {
    for (const [file, extra, note] of [
      [plainFile, [], ''],
      [gzFile, [], ' (decompressed)'],
      [ageFile, ['--identity', keyFile], ' (decrypted, decompressed)'],
    ] as const) {
      const result = await cli(['verify', '--file', file, ...extra]);
      expect(result.exitCode, result.output).toBe(0);
      expect(result.stdout).toContain(`✔ ${file}${note}: 21 tables, 59 rows, 5 users`);
    }
  });

  it('list --dir: newest first, with size and manifest counts; an .age file needs its key', async () => {
    const dir = path.join(work, 'made');
    const plain = await cli(['list', '--dir', dir]);
    expect(plain.exitCode, plain.output).toBe(0);
    const lines = plain.stdout.split('\n').filter((line) => line.includes('full_'));
    expect(lines.map((line) => /full_\S+/.exec(line)![0])).toEqual([
      path.basename(ageFile),
      path.basename(gzFile),
      path.basename(plainFile),
      path.basename(passphraseFile),
    ]);
    expect(lines[1]).toMatch(/KB {2}5 users, 21 tables, 59 rows$/);
    expect(lines[0]).toContain('encrypted (give --identity or --passphrase to read its manifest)');
    const keyed = await cli(['list', '--dir', dir, '--identity', keyFile, '--json']);
    const entries = JSON.parse(keyed.stdout) as { name: string; rows: number | null; authUsers: number | null; encrypted: boolean; compressed: boolean; bytes: number }[];
    expect(entries[0]).toMatchObject({ name: path.basename(ageFile), rows: 59, authUsers: 5, encrypted: true, compressed: true });
    expect(entries[2]).toMatchObject({ name: path.basename(plainFile), rows: 59, encrypted: false, compressed: false });
    expect(entries[2]!.bytes).toBe((await readFile(plainFile)).length);

    // `gh run download` puts each artifact in a folder of its own: one level down is searched too.
    const downloaded = path.join(work, 'downloaded');
    await mkdir(path.join(downloaded, 'full_2026-11-29T23-45-00-000Z_3fa9c1d2'), { recursive: true });
    await copyFile(gzFile, path.join(downloaded, 'full_2026-11-29T23-45-00-000Z_3fa9c1d2', 'full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql.gz'));
    const nested = await cli(['list', '--dir', downloaded]);
    expect(nested.stdout).toMatch(/2026-11-29 23:45:00 UTC {2}full_2026-11-29T23-45-00-000Z_3fa9c1d2\.sql\.gz .*59 rows/);
  });

  it('list --branch and restore --branch: the backups branch of a repository, newest first', async () => {
    const repo = path.join(work, 'repo');
    const gitEnv = {
      GIT_CONFIG_GLOBAL: path.join(work, 'gitconfig'),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test@example.test',
      GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test@example.test',
    };
    await writeFile(gitEnv.GIT_CONFIG_GLOBAL, '');
    const git = (args: string[]) => execa('git', args, { cwd: repo, env: gitEnv });
    await mkdir(path.join(repo, 'backups'), { recursive: true });
    await git(['init', '-q', '-b', 'main']);
    await git(['commit', '-q', '--allow-empty', '-m', 'main']);
    await git(['checkout', '-q', '--orphan', 'backups']);
    const older = `full_2026-11-28T03-17-00-000Z_${sha8(await readFile(gzFile))}.sql.gz`;
    const newer = `full_2026-11-29T03-17-00-000Z_${sha8(await readFile(plainFile))}.sql`;
    await copyFile(gzFile, path.join(repo, 'backups', older));
    await git(['add', 'backups']);
    await git(['commit', '-q', '-m', 'older']);
    await copyFile(plainFile, path.join(repo, 'backups', newer));
    await git(['add', 'backups']);
    await git(['commit', '-q', '-m', 'newer']);
    await git(['checkout', '-q', 'main']);

    const listed = await cli(['list', '--branch', 'backups', '--repo', repo]);
    expect(listed.exitCode, listed.output).toBe(0);
    const names = listed.stdout.split('\n').filter((line) => line.includes('full_'));
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(new RegExp(`^ {2}2026-11-29 03:17:00 UTC {2}${newer.replace(/\./g, '\\.')} .*5 users, 21 tables, 59 rows$`));
    expect(names[1]).toContain(older);
    expect(names[1]).toContain('59 rows');

    const target = await supabase.createTarget('t_branch');
    const restored = await cli(['restore', '--branch', 'backups', '--repo', repo, '--database-url', target.url]);
    expect(restored.exitCode, restored.output).toBe(0);
    expect(restored.output).toContain(`📦 Newest backup: backups:backups/${newer}`);
    await expectSameAsSource(target.url);

    const missing = await cli(['list', '--branch', 'nope', '--repo', repo]);
    expect(missing.exitCode).toBe(1);
    expect(missing.output).toContain("no branch 'nope'");
  });

  it('runs with npx from the package, and explains its usage', async () => {
    const help = await execa('npx', ['--no-install', 'supabase-complete-backup', '--help'], { cwd: ROOT, reject: false });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('supabase-complete-backup restore (--file FILE | --dir DIR | --branch BRANCH [--repo REPO] | --s3 URL [S3 flags])');
    const wrong = await cli(['restore', '--file', plainFile]);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.output).toContain('restore needs --database-url URL (or RESTORE_DATABASE_URL)');
  });
});
