/**
 * Secret hygiene of the real action entry (node dist/index.js), against a Supabase-shaped SOURCE whose
 * `postgres` password is deliberately hostile:
 *   - no process the action starts ever has the password (or the passphrase) on its command line;
 *     pg_dump gets it in its environment (PGPASSWORD), the accepted channel;
 *   - stdout, stderr, GITHUB_OUTPUT and the job summary never hold the password in any form (raw,
 *     URL-encoded, URL-decoded) or the passphrase, after success and after each kind of failure;
 *   - cancellation (SIGTERM in the middle of pg_dump) exits non-zero and leaves no backup file, no
 *     temporary directory and no pg_dump behind; temporary files are owner-only while they exist.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBackup } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import { secretForms } from '../../src/postgres/connection.js';
import { runAction, type ActionRun } from '../helpers/action.js';
import { recordingLogger } from '../helpers/publish.js';
import { ageKeygen } from '../helpers/age.js';
import { watchProcessTree, stillRunning, type ProcessWatch } from '../helpers/procwatch.js';
import { PSQL } from '../helpers/restore.js';
import { POSTGRES_PASSWORD, startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const PASSPHRASE = "pass phrase with é, %25 and 'quotes' #1";

let supabase: SupabaseCluster;
let sourceUrl: string;
let dir: string;

/** Every form in which the database password or the passphrase could show up. */
const SECRET_FORMS = [...new Set([...secretForms(POSTGRES_PASSWORD), ...secretForms(encodeURIComponent(POSTGRES_PASSWORD)), ...secretForms(PASSPHRASE)])];

/** Forms and their first halves: a secret escaped for some syntax (a conninfo string, a shell) is still caught. */
const ARGV_NEEDLES = [...new Set(SECRET_FORMS.flatMap((form) => [form, form.slice(0, Math.max(6, Math.ceil(form.length / 2)))]))];

/** What a user sees: everything but the `::add-mask::` commands, which the runner consumes (and which register the masks). */
function shown(run: ActionRun): string {
  return run.visible
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

/** The values registered with ::add-mask:: (unescaped as the runner does). */
function masks(run: ActionRun): string[] {
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith('::add-mask::'))
    .map((line) => line.slice('::add-mask::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'));
}

function expectNoSecret(run: ActionRun): void {
  const text = shown(run);
  for (const form of SECRET_FORMS) expect(text.includes(form), `"${form}" is visible in:\n${text}`).toBe(false);
}

/**
 * Holds ACCESS EXCLUSIVE on private.settings from another session, so pg_dump of the user schemas (and
 * the row count) wait on it. A table without policies, triggers or defaults: the catalog reads before
 * the dumps (pg_get_expr on a policy locks its table) go through.
 */
async function lockTable(): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: sourceUrl });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE private.settings IN ACCESS EXCLUSIVE MODE');
  return {
    async release() {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

const isDump = (argv: string[]): boolean => path.basename(argv[0] ?? '') === 'pg_dump' && argv.some((arg) => arg.startsWith('--snapshot='));

/** Resolves once the watch has seen a pg_dump of the user schemas (the one that waits on the lock). */
async function userSchemaDump(watch: ProcessWatch, done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.finally(() => (finished = true));
  for (;;) {
    const dump = watch.seen.find((p) => isDump(p.argv) && p.argv.includes('--schema'));
    if (dump) return dump.pid;
    if (finished) throw new Error('the action ended before pg_dump of the user schemas was seen');
    await watch.nextSweep();
  }
}

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('source')).url;
  dir = await mkdtemp(path.join(tmpdir(), 'secrets-'));
  expect(decodeURIComponent(new URL(sourceUrl).password)).toBe(POSTGRES_PASSWORD);
});

afterAll(async () => {
  await supabase?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a successful backup', () => {
  let run: ActionRun;
  let watched: Awaited<ReturnType<ProcessWatch['stop']>>;

  beforeAll(async () => {
    const lock = await lockTable();
    let watch: ProcessWatch | undefined;
    try {
      const outputDir = await mkdtemp(path.join(dir, 'ok-'));
      let spawned!: (watch: ProcessWatch) => void;
      const watching = new Promise<ProcessWatch>((resolve) => (spawned = resolve));
      const running = runAction(
        { 'database-url': sourceUrl, destination: 'none', 'output-dir': outputDir, compression: 'gzip', 'encryption-passphrase': PASSPHRASE },
        { onSpawn: (child) => spawned(watchProcessTree(child.pid!)) },
      );
      watch = await watching;
      // Keep pg_dump waiting on the lock until the watch has seen it, then let the backup finish.
      await userSchemaDump(watch, running);
      await lock.release();
      run = await running;
    } finally {
      await lock.release();
      watched = (await watch?.stop()) ?? [];
    }
    expect(run.exitCode, run.visible).toBe(0);
  });

  it('puts the password and the passphrase on no command line; pg_dump gets PGPASSWORD in its environment', () => {
    const dumps = watched.filter((p) => isDump(p.argv));
    expect(dumps.map((p) => p.argv.includes('--schema'))).toContain(true);
    expect(dumps.some((p) => p.pgpasswordInEnv)).toBe(true);
    for (const p of watched) {
      const argv = p.argv.join(' ');
      for (const needle of ARGV_NEEDLES) expect(argv.includes(needle), `pid ${p.pid}: ${argv}`).toBe(false);
    }
    expect(watched.length).toBeGreaterThanOrEqual(2);
  });

  it('shows no form of either secret in stdout, stderr, outputs or the summary, and masks them all', () => {
    expect(run.outputs['backup-file']).toMatch(/\.sql\.gz\.age$/);
    expect(run.summary).toContain('Supabase backup');
    expectNoSecret(run);
    const registered = masks(run);
    for (const form of [POSTGRES_PASSWORD, encodeURIComponent(POSTGRES_PASSWORD), PASSPHRASE]) expect(registered).toContain(form);
  });
});

describe('failures say what went wrong, never the secrets', () => {
  const url = (password: string, port?: number): string => {
    const base = new URL(sourceUrl);
    return `postgresql://postgres:${password}@127.0.0.1:${port ?? base.port}${base.pathname}`;
  };
  const fail = async (inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}): Promise<ActionRun> => {
    const outputDir = await mkdtemp(path.join(dir, 'fail-'));
    const run = await runAction({ destination: 'none', 'output-dir': outputDir, 'encryption-passphrase': PASSPHRASE, ...inputs }, { env });
    expect(run.exitCode, run.visible).toBe(1);
    expect(await readdir(outputDir)).toEqual([]);
    expectNoSecret(run);
    return run;
  };

  it('a wrong password (the right one with one character more)', async () => {
    const run = await fail({ 'database-url': url(encodeURIComponent(`${POSTGRES_PASSWORD}x`)) });
    expect(run.stdout).toContain("::error::password authentication failed for user 'postgres'");
  });

  it('nothing listening on the port', async () => {
    const run = await fail({ 'database-url': url(encodeURIComponent(POSTGRES_PASSWORD), 9) });
    expect(run.stdout).toContain('::error::connection refused by 127.0.0.1:9');
  });

  it('the password pasted into the URL without percent-encoding', async () => {
    const run = await fail({ 'database-url': url(POSTGRES_PASSWORD) });
    expect(run.stdout).toMatch(/::error::database-url (is not a valid URL|looks like its password holds an unencoded)/);
    expect(masks(run)).toContain(POSTGRES_PASSWORD);
  });

  it('a public repository and an unencrypted artifact (the guard)', async () => {
    const event = path.join(dir, 'public-event.json');
    await writeFile(event, JSON.stringify({ repository: { full_name: 'acme/app', private: false, visibility: 'public' } }));
    const run = await fail(
      { 'database-url': sourceUrl, destination: 'artifact', 'encryption-passphrase': '' },
      { GITHUB_EVENT_PATH: event, GITHUB_REPOSITORY: 'acme/app' },
    );
    expect(run.stdout).toContain('::error::refusing to publish an unencrypted backup');
  });

  it('an age recipient with a typo', async () => {
    const { recipient } = await ageKeygen(dir, 'typo.txt');
    const typo = `${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`;
    const run = await fail({ 'database-url': sourceUrl, 'encryption-passphrase': '', 'encryption-recipients': typo });
    expect(run.stdout).toContain("::error::'encryption-recipients' holds");
  });

  it('pg_dump failing with a message that quotes the password', async () => {
    // A pg_dump stand-in that fails like a client whose server echoed the credentials back.
    const bin = path.join(dir, 'fake-bin');
    await mkdir(bin, { recursive: true });
    const fake = path.join(bin, 'pg_dump');
    await writeFile(
      fake,
      '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 15.99"; exit 0; fi\n' +
        'printf \'pg_dump: error: server said: password "%s" refused\\n\' "$PGPASSWORD" >&2\nexit 1\n',
    );
    await chmod(fake, 0o755);
    await symlink(PSQL, path.join(bin, 'psql')).catch(() => undefined);
    const run = await fail({ 'database-url': sourceUrl }, { PG_BIN: bin });
    expect(run.stdout).toMatch(/::error::pg_dump of .* failed: pg_dump: error: server said: password "\*\*\*" refused/);
  });
});

describe('cancellation (SIGTERM while pg_dump runs)', () => {
  let run: ActionRun;
  let outputDir: string;
  let actionTmp: string;
  let dumpPids: number[];
  let tempModes: { dir: number; files: number[] };

  beforeAll(async () => {
    outputDir = await mkdtemp(path.join(dir, 'cancel-out-'));
    actionTmp = await mkdtemp(path.join(dir, 'cancel-tmp-'));
    const lock = await lockTable();
    let watch: ProcessWatch | undefined;
    try {
      let spawned!: (child: { watch: ProcessWatch; kill: (signal: NodeJS.Signals) => boolean }) => void;
      const started = new Promise<Parameters<typeof spawned>[0]>((resolve) => (spawned = resolve));
      const running = runAction(
        { 'database-url': sourceUrl, destination: 'none', 'output-dir': outputDir, compression: 'gzip', 'encryption-passphrase': PASSPHRASE },
        {
          env: { TMPDIR: actionTmp },
          onSpawn: (child) => spawned({ watch: watchProcessTree(child.pid!), kill: (signal) => child.kill(signal) }),
        },
      );
      const action = await started;
      watch = action.watch;
      await userSchemaDump(watch, running);
      const [work] = (await readdir(actionTmp)).filter((name) => name.startsWith('supabase-backup-'));
      const workDir = path.join(actionTmp, work!);
      // The dumps stream into the half-written backup in output-dir (a spill file in the work dir only
      // when PART 2 runs ahead of PART 1): every one of them must be owner-only.
      const tempFiles = async (): Promise<string[]> => [
        ...(await readdir(workDir)).map((f) => path.join(workDir, f)),
        ...(await readdir(outputDir)).filter((f) => f.startsWith('.in-progress-')).map((f) => path.join(outputDir, f)),
      ];
      // The merge opens the half-written file as soon as it starts; give it a moment (bounded).
      let files = await tempFiles();
      for (let i = 0; i < 100 && files.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        files = await tempFiles();
      }
      tempModes = {
        dir: (await stat(workDir)).mode & 0o777,
        files: await Promise.all(files.map(async (f) => (await stat(f)).mode & 0o777)),
      };
      action.kill('SIGTERM');
      run = await running;
    } finally {
      dumpPids = ((await watch?.stop()) ?? []).filter((p) => isDump(p.argv)).map((p) => p.pid);
      await lock.release();
    }
  });

  it('temporary files were owner-only while they existed', () => {
    expect(tempModes.dir).toBe(0o700);
    expect(tempModes.files.length).toBeGreaterThan(0);
    expect(tempModes.files.every((mode) => mode === 0o600)).toBe(true);
  });

  it('exits non-zero saying it was cancelled, leaving no file, no temporary directory and no pg_dump', async () => {
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('::error::the backup was cancelled by SIGTERM: nothing was stored');
    expect(await readdir(outputDir)).toEqual([]);
    expect(await readdir(actionTmp)).toEqual([]);
    expect(dumpPids.length).toBeGreaterThan(0);
    for (const pid of dumpPids) expect(stillRunning(pid, 'pg_dump'), `pg_dump ${pid}`).toBe(false);
    expectNoSecret(run);
  });
});

describe('cancellation during the merge (runBackup with a signal)', () => {
  it('stops writing at once and removes the half-written file and the temporary directory', async () => {
    const outputDir = await mkdtemp(path.join(dir, 'merge-out-'));
    const workTmp = await mkdtemp(path.join(dir, 'merge-tmp-'));
    vi.stubEnv('TMPDIR', workTmp);
    try {
      const config = parseConfig((name) => ({ 'database-url': sourceUrl, destination: 'none', 'output-dir': outputDir })[name] ?? '');
      const abort = new AbortController();
      let midMerge: string[] = [];
      // A seal stage that cancels the run on the first chunk it sees, then never lets it through.
      const stall = new Transform({
        transform(_chunk, _encoding, _done) {
          void readdir(outputDir).then((files) => {
            midMerge = files;
            abort.abort(new Error('cancelled by the test'));
          });
        },
      });
      const run = runBackup(config, recordingLogger(), { installClient: false, signal: abort.signal, seal: { transforms: () => [stall], suffix: '.x' } });
      await expect(run).rejects.toThrow(/aborted|cancelled/i);
      expect(midMerge.some((file) => file.startsWith('.in-progress-'))).toBe(true);
      expect(await readdir(outputDir)).toEqual([]);
      expect(await readdir(workTmp)).toEqual([]);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
