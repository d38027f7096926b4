/**
 * Round trip of sealed backups with the standard tools: the action (node dist/index.js) writes
 * `.sql.gz.age` to an age recipient and to a passphrase; `age -d`, then `gunzip`, then `psql` restore
 * them into fresh TARGETs, which then equal SOURCE table for table. Also the restore recipe of
 * docs/security.md as one pipe, and what a cut-short file does to it.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { libpqEnv, parseDatabaseUrl } from '../../src/postgres/connection.js';
import { runAction, type ActionRun } from '../helpers/action.js';
import { ageDecryptWithPassphrase, ageKeygen, gunzipFile, type AgeKey } from '../helpers/age.js';
import { DURABLE_TABLES, rowCount, tableRows, withClient } from '../helpers/compare.js';
import { PSQL, psqlFile } from '../helpers/restore.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const USER_TABLES = ['public.profiles', 'public.notes', 'public.tricky', 'public.app_settings', 'private.settings'];
const PASSPHRASE = "a long backup passphrase é%25 'with' quotes";
const FILE_NAME = /^full_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z_[0-9a-f]{8}\.sql\.gz\.age$/;

let supabase: SupabaseCluster;
let sourceUrl: string;
let dir: string;
let key: AgeKey;
let toKey: ActionRun;
let toPassphrase: ActionRun;

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

async function expectSameAsSource(targetUrl: string): Promise<void> {
  for (const table of [...DURABLE_TABLES, ...USER_TABLES]) {
    expect(await tableRows(targetUrl, table), table).toEqual(await tableRows(sourceUrl, table));
  }
  expect(await rowCount(targetUrl, 'auth.users')).toBe(5);
}

/** `age -d -i KEY FILE | gunzip | psql "$URL"`, the recipe of docs/security.md, as one pipe. */
function restorePipe(file: string, targetUrl: string) {
  return execa('age', ['-d', '-i', key.identityFile, file], { reject: false })
    .pipe('gunzip', [], { reject: false })
    .pipe(PSQL, ['-X', '--no-psqlrc'], { env: libpqEnv(parseDatabaseUrl(targetUrl)), extendEnv: false, reject: false });
}

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('source')).url;
  dir = await mkdtemp(path.join(tmpdir(), 'seal-restore-'));
  key = await ageKeygen(dir);
  const out = (name: string) => mkdtemp(path.join(dir, `${name}-`));
  [toKey, toPassphrase] = await Promise.all([
    runAction({ 'database-url': sourceUrl, destination: 'none', 'output-dir': await out('key'), compression: 'gzip', 'encryption-recipients': key.recipient }),
    runAction({ 'database-url': sourceUrl, destination: 'none', 'output-dir': await out('pass'), compression: 'gzip', 'encryption-passphrase': PASSPHRASE }),
  ]);
  expect(toKey.exitCode, toKey.visible).toBe(0);
  expect(toPassphrase.exitCode, toPassphrase.visible).toBe(0);
});

afterAll(async () => {
  await supabase?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the sealed file', () => {
  it.each([
    ['recipient', () => toKey],
    ['passphrase', () => toPassphrase],
  ])('to a %s: named .sql.gz.age, owner-only, outputs describe the stored file, nothing else left', async (_, run) => {
    const { outputs, stdout } = run();
    const file = outputs['backup-path']!;
    const info = await stat(file);
    expect(path.basename(file)).toMatch(FILE_NAME);
    expect(info.mode & 0o777).toBe(0o600);
    expect(outputs['backup-size']).toBe(String(info.size));
    expect(outputs.sha256).toBe(await sha256(file));
    expect(path.basename(file)).toContain(`_${outputs.sha256!.slice(0, 8)}.sql.gz.age`);
    expect((await readFile(file)).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(await readdir(path.dirname(file))).toEqual([path.basename(file)]);
    // Verification ran on the SQL before it was sealed.
    expect(stdout).toMatch(/🔍 Verified: markers, auth\.users data \(5 users\)/);
    expect(stdout).toMatch(/🔐 The backup will be sealed: gzip \(level 1\), then age encryption/);
  });
});

describe('restore with the standard tools', () => {
  it('to a recipient: age -d -i key.txt, gunzip, psql -f into a fresh TARGET, equal to SOURCE', async () => {
    const targetUrl = (await supabase.createTarget('target_key')).url;
    const file = toKey.outputs['backup-path']!;
    await execa('age', ['-d', '-i', key.identityFile, '-o', path.join(dir, 'key.sql.gz'), file]);
    await gunzipFile(path.join(dir, 'key.sql.gz'), path.join(dir, 'key.sql'));
    expect(await readFile(path.join(dir, 'key.sql'), 'utf8')).toMatch(/^-- =+\n-- COMPLETE DATABASE BACKUP\n/);
    const restore = await psqlFile(targetUrl, path.join(dir, 'key.sql'));
    expect(restore.stderr).not.toMatch(/ERROR/);
    expect(restore.exitCode).toBe(0);
    await expectSameAsSource(targetUrl);
  });

  it('to a passphrase: age -d (passphrase typed at its prompt), gunzip, psql -f, equal to SOURCE', async () => {
    const targetUrl = (await supabase.createTarget('target_pass')).url;
    const file = toPassphrase.outputs['backup-path']!;
    const decrypted = await ageDecryptWithPassphrase(file, PASSPHRASE, path.join(dir, 'pass.sql.gz'));
    expect(decrypted.exitCode, decrypted.output).toBe(0);
    await gunzipFile(path.join(dir, 'pass.sql.gz'), path.join(dir, 'pass.sql'));
    const restore = await psqlFile(targetUrl, path.join(dir, 'pass.sql'));
    expect(restore.stderr).not.toMatch(/ERROR/);
    expect(restore.exitCode).toBe(0);
    await expectSameAsSource(targetUrl);
  });

  it('as one pipe, age -d -i key.txt FILE | gunzip | psql "$URL": same result', async () => {
    const targetUrl = (await supabase.createTarget('target_pipe')).url;
    const restore = await restorePipe(toKey.outputs['backup-path']!, targetUrl);
    expect(restore.pipedFrom.map((step) => step.exitCode)).toEqual([0]);
    expect(restore.stderr).not.toMatch(/ERROR/);
    expect(restore.exitCode).toBe(0);
    await expectSameAsSource(targetUrl);
  });

  it('a cut-short file through the pipe restores nothing: no COMMIT arrives, and age says the file is broken', async () => {
    const targetUrl = (await supabase.createTarget('target_cut')).url;
    const cut = path.join(dir, 'cut.sql.gz.age');
    await copyFile(toKey.outputs['backup-path']!, cut);
    await truncate(cut, Math.floor((await stat(cut)).size * 0.7));
    const restore = await restorePipe(cut, targetUrl);
    const age = restore.pipedFrom[0]!.pipedFrom[0]!;
    expect(age.exitCode).not.toBe(0);
    expect(String(age.stderr)).toMatch(/failed to decrypt and authenticate/);
    expect(restore.pipedFrom[0]!.exitCode).not.toBe(0); // gunzip: unexpected end of file
    // psql saw a prefix of the file: BEGIN and some statements, then end of input inside the transaction,
    // which ends with the connection (psql itself may exit 0: hence `set -o pipefail` in the recipe).
    expect(await rowCount(targetUrl, 'auth.users')).toBe(0);
    const created = await withClient(targetUrl, (c) => c.query("SELECT to_regclass('public.notes') IS NOT NULL AS exists"));
    expect(created.rows[0].exists).toBe(false);
  });
});
