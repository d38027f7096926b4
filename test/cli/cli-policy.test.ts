/**
 * A backup file is data, never code (issue 16), end to end with real PostgreSQL, pg_dump and psql:
 *   - a source whose schema and table names carry a newline, `\!`, `::` workflow commands and quotes
 *     gives a file with no foreign meta-command, log lines with no raw control character, and a
 *     restore that runs nothing (a marker file a shell command would create never appears);
 *   - `verify --file` and `restore` refuse, before anything runs, a file with any meta-command form,
 *     a file edited by one byte (the sha256 in its name), and a file with role or managed-schema
 *     statements injected.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runAction } from '../helpers/action.js';
import { rowCount, withClient } from '../helpers/compare.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';
import { FilePolicy } from '../../src/sql/policy.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');

let supabase: SupabaseCluster;
let work: string;
let marker: string;
let hostileFile: string;
let hostileRun: Awaited<ReturnType<typeof runAction>>;

async function cli(args: string[]): Promise<{ exitCode: number; output: string }> {
  const result = await execa('node', [CLI, ...args], {
    reject: false,
    all: true,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    extendEnv: false,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, output: String(result.all) };
}

const sha8 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex').slice(0, 8);

/** Writes `bytes` as a backup file named by their sha256, as the action names one. */
async function asBackup(bytes: Buffer, time = '2026-11-29T23-45-00-000Z'): Promise<string> {
  const file = path.join(work, `full_${time}_${sha8(bytes)}.sql`);
  await writeFile(file, bytes);
  return file;
}

function policyProblems(bytes: Buffer): { line: number; reason: string }[] {
  const policy = new FilePolicy();
  policy.push(bytes);
  return policy.finish();
}

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  work = await mkdtemp(path.join(tmpdir(), 'cli-policy-'));
  await chmod(work, 0o777);
  marker = path.join(work, 'pwned');
  const source = await supabase.createSource('hostile_source');
  await withClient(source.url, async (c) => {
    // A tenant schema named from user input, and a table and column named to reach the log.
    await c.query(`CREATE SCHEMA "tenant\n\\! touch ${marker}\n"`);
    await c.query(`CREATE FUNCTION "tenant\n\\! touch ${marker}\n".f() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
    await c.query(`CREATE TABLE public."x::error::y""q" ("c::warning::z" int)`);
    await c.query(`INSERT INTO public."x::error::y""q" VALUES (1)`);
  });
  hostileRun = await runAction({ 'database-url': source.url, destination: 'none', 'output-dir': path.join(work, 'made') });
  hostileFile = hostileRun.outputs['backup-path'] ?? '';
});

afterAll(async () => {
  await supabase?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('hostile names in the source', () => {
  it('make a file with no foreign meta-command, and log lines without raw control characters', async () => {
    expect(hostileRun.exitCode, hostileRun.visible).toBe(0);
    const bytes = await readFile(hostileFile);
    expect(policyProblems(bytes)).toEqual([]);
    const includes = bytes.toString('utf8').split('\n').find((line) => line.startsWith('-- Includes:'))!;
    expect(includes).toContain(`"tenant\\n\\! touch ${marker}\\n"`);
    // No line of the step log is a workflow command made of a name, and no name brings a control character.
    for (const line of hostileRun.stdout.split('\n')) {
      if (line.startsWith('::')) expect(line).toMatch(/^::(add-mask|warning|error|debug|group|endgroup|set-output)/);
      // eslint-disable-next-line no-control-regex
      expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    }
    expect(hostileRun.stdout).not.toMatch(/^::error::y/m);
    expect(hostileRun.stdout).toContain(`"tenant\\n\\! touch ${marker}\\n"`);
    expect(hostileRun.summary).not.toMatch(/^::/m);
    expect(existsSync(marker)).toBe(false);
  });

  it('verify --file, restore and psql -f run nothing', async () => {
    expect((await cli(['verify', '--file', hostileFile])).exitCode).toBe(0);
    const target = await supabase.createTarget('hostile_target');
    const restored = await cli(['restore', '--file', hostileFile, '--database-url', target.url]);
    expect(restored.exitCode, restored.output).toBe(0);
    const schemas = await withClient(target.url, (c) => c.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant%'"));
    expect(schemas.rows.map((r) => r.nspname)).toEqual([`tenant\n\\! touch ${marker}\n`]);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('verify --file and restore refuse a tampered file before anything runs', () => {
  let good: Buffer;
  const banner = '\\echo PART 2: user schemas (schema + data)\n';
  beforeAll(async () => {
    const source = await supabase.createSource('plain_source');
    const run = await runAction({ 'database-url': source.url, destination: 'none', 'output-dir': path.join(work, 'plain') });
    expect(run.exitCode, run.visible).toBe(0);
    good = await readFile(run.outputs['backup-path']!);
  });

  const injected = (what: string): Buffer => {
    const text = good.toString('utf8');
    expect(text).toContain(banner);
    return Buffer.from(text.replace(banner, `${banner}${what}\n`));
  };

  it.each([
    ['\\! touch MARKER', 'line start'],
    ["SELECT 1; \\! touch MARKER", 'after a statement on the same line'],
    ['\\o MARKER', '\\o FILE'],
    ["\\copy (SELECT 1) TO PROGRAM 'touch MARKER'", '\\copy TO PROGRAM'],
    ['\\i MARKER.sql', '\\i'],
    ['\\setenv PAGER "touch MARKER"', '\\setenv'],
    ["SELECT '\\! touch MARKER' \\gexec", '\\gexec'],
  ])('%s (%s)', async (command, _what) => {
    const m = `${marker}-${sha8(Buffer.from(command))}`;
    await writeFile(`${m}.sql`, `\\! touch ${m}\n`);
    const file = await asBackup(injected(command.replaceAll('MARKER', m)));
    const line = good.toString('utf8').slice(0, good.toString('utf8').indexOf(banner) + banner.length).split('\n').length;

    const verify = await cli(['verify', '--file', file]);
    expect(verify.exitCode, verify.output).toBe(1);
    expect(verify.output).toContain(`line ${line}: psql meta-command «`);
    expect(verify.output).toContain('a backup file runs no commands');

    const target = await supabase.createTarget(`meta_${sha8(Buffer.from(command))}`);
    const restore = await cli(['restore', '--file', file, '--database-url', target.url]);
    expect(restore.exitCode, restore.output).toBe(1);
    expect(restore.output).toContain(`line ${line}: psql meta-command «`);
    expect(await rowCount(target.url, 'auth.users')).toBe(0);
    expect(existsSync(m)).toBe(false);
    await rm(`${m}.sql`, { force: true });
  });

  it('a one-byte edit: its bytes no longer match the sha256 in its name', async () => {
    const file = await asBackup(good);
    const edited = Buffer.from(good);
    const at = edited.indexOf('Bob');
    edited[at] = 'R'.charCodeAt(0);
    await writeFile(file, edited);
    const verify = await cli(['verify', '--file', file]);
    expect(verify.exitCode).toBe(1);
    expect(verify.output).toContain(`its bytes do not match the sha256 its name records (${sha8(good)}…, the file's is ${sha8(edited)}…)`);
    const target = await supabase.createTarget('edited_target');
    const restore = await cli(['restore', '--file', file, '--database-url', target.url]);
    expect(restore.exitCode).toBe(1);
    expect(restore.output).toContain('its bytes do not match the sha256 its name records');
    expect(await rowCount(target.url, 'auth.users')).toBe(0);
  });

  it.each([
    ['CREATE ROLE evil LOGIN PASSWORD \'evil\';\nGRANT postgres TO evil;', 'a backup never creates, alters or drops roles'],
    ['GRANT postgres TO authenticated;', 'a backup never grants or revokes role membership'],
    ['SET ROLE supabase_admin;', 'a backup never changes the role it runs as'],
    ['ALTER TABLE auth.users ADD COLUMN evil text;', 'changes «auth.users», a Supabase-managed schema, outside PART 3'],
  ])('injected %j', async (statement, reason) => {
    const file = await asBackup(injected(statement));
    const verify = await cli(['verify', '--file', file]);
    expect(verify.exitCode).toBe(1);
    expect(verify.output).toMatch(/line \d+: «/);
    expect(verify.output).toContain(reason);
    const target = await supabase.createTarget(`stmt_${sha8(Buffer.from(statement))}`);
    const restore = await cli(['restore', '--file', file, '--database-url', target.url]);
    expect(restore.exitCode).toBe(1);
    expect(restore.output).toContain(reason);
    expect(await rowCount(target.url, 'auth.users')).toBe(0);
    const roles = await withClient(target.url, (c) => c.query("SELECT 1 FROM pg_roles WHERE rolname = 'evil'"));
    expect(roles.rowCount).toBe(0);
  });
});

describe('signing-key: a signed, encrypted backup; a forged .age is refused with --public-key', () => {
  it('signs, stores the .sig beside the file, and verify/restore check it before anything else', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const keys = generateKeyPairSync('ed25519');
    const privatePem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const publicKey = path.join(work, 'signing.pub');
    await writeFile(publicKey, keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const identity = path.join(work, 'age-key.txt');
    await execa('age-keygen', ['-o', identity]);
    const recipient = /public key: (age1\S+)/.exec(await readFile(identity, 'utf8'))![1]!;

    const source = await supabase.createSource('signed_source');
    const run = await runAction({
      'database-url': source.url,
      destination: 'none',
      'output-dir': path.join(work, 'signed'),
      'encryption-recipients': recipient,
      'signing-key': privatePem,
    });
    expect(run.exitCode, run.visible).toBe(0);
    const file = run.outputs['backup-path']!;
    expect(run.outputs['signature-path']).toBe(`${file}.sig`);
    expect(existsSync(`${file}.sig`)).toBe(true);
    // The key is masked: no line of its body reaches the log.
    expect(run.stdout).toContain('::add-mask::');
    expect(run.visible).not.toContain(privatePem.split('\n')[1]!);

    const good = await cli(['verify', '--file', file, '--identity', identity, '--public-key', publicKey]);
    expect(good.exitCode, good.output).toBe(0);
    expect(good.output).not.toContain('signature is not checked');
    const unchecked = await cli(['verify', '--file', file, '--identity', identity]);
    expect(unchecked.exitCode, unchecked.output).toBe(0);
    expect(unchecked.output).toContain('is signed, but no --public-key (or BACKUP_PUBLIC_KEY) was given: its signature is not checked');

    // From a backups branch: the signature is read from the branch beside the file.
    const repo = path.join(work, 'repo');
    const gitEnv = {
      GIT_CONFIG_GLOBAL: path.join(work, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.test',
    };
    await writeFile(gitEnv.GIT_CONFIG_GLOBAL, '');
    const git = (args: string[]) => execa('git', args, { cwd: repo, env: gitEnv });
    await execa('mkdir', ['-p', path.join(repo, 'backups')]);
    await git(['init', '-q', '-b', 'backups']);
    await writeFile(path.join(repo, 'backups', path.basename(file)), await readFile(file));
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'unsigned']);
    const unsignedOnBranch = await cli(['verify', '--branch', 'backups', '--repo', repo, '--identity', identity, '--public-key', publicKey]);
    expect(unsignedOnBranch.exitCode).toBe(1);
    expect(unsignedOnBranch.output).toContain('has no signature');
    await writeFile(path.join(repo, 'backups', `${path.basename(file)}.sig`), await readFile(`${file}.sig`));
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'signed']);
    const signedOnBranch = await cli(['verify', '--branch', 'backups', '--repo', repo, '--identity', identity, '--public-key', publicKey]);
    expect(signedOnBranch.exitCode, signedOnBranch.output).toBe(0);

    // A forged backup: made by anyone with the public recipient, named by its own sha256, no signature.
    const forgedSql = injected(await execa('age', ['-d', '-i', identity, file], { encoding: 'buffer' }).then((r) => Buffer.from(r.stdout)), 'SELECT 1;');
    const plain = path.join(work, 'forged.sql');
    await writeFile(plain, forgedSql);
    const forgedTmp = path.join(work, 'forged.sql.age');
    await execa('age', ['-r', recipient, '-o', forgedTmp, plain]);
    const forgedBytes = await readFile(forgedTmp);
    const forged = path.join(work, `full_2026-11-30T00-00-00-000Z_${sha8(forgedBytes)}.sql.age`);
    await writeFile(forged, forgedBytes);
    const refused = await cli(['verify', '--file', forged, '--identity', identity, '--public-key', publicKey]);
    expect(refused.exitCode).toBe(1);
    expect(refused.output).toContain('has no signature');
    const target = await supabase.createTarget('forged_target');
    const restore = await cli(['restore', '--file', forged, '--identity', identity, '--public-key', publicKey, '--database-url', target.url]);
    expect(restore.exitCode).toBe(1);
    expect(restore.output).toContain('has no signature');
    expect(await rowCount(target.url, 'auth.users')).toBe(0);
    // ... nor with the real signature copied beside it
    await writeFile(`${forged}.sig`, await readFile(`${file}.sig`));
    const copied = await cli(['verify', '--file', forged, '--identity', identity, '--public-key', publicKey]);
    expect(copied.exitCode).toBe(1);
    expect(copied.output).toMatch(/its signature is for another file|not the bytes that were signed/);
  });
});

function injected(sql: Buffer, what: string): Buffer {
  const banner = '\\echo PART 2: user schemas (schema + data)\n';
  return Buffer.from(sql.toString('utf8').replace(banner, `${banner}${what}\n`));
}
