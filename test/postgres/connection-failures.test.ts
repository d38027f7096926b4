/**
 * Each way step 1 can fail, met as a user meets it: through the action's real entry, with a clear
 * message, exit code 1, no file in output-dir, and no form of the password anywhere a user can see.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runBackup } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import { secretForms } from '../../src/postgres/connection.js';
import type { Logger } from '../../src/log.js';
import { runAction } from '../helpers/action.js';
import { POSTGRES_PASSWORD, startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

let supabase: SupabaseCluster;
let sourceUrl: string;

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('source')).url;
  await supabase.cluster.createDatabase('plain', { owner: 'postgres' });
});

afterAll(async () => {
  await supabase?.stop();
});

/** An empty output-dir, removed when the test ends. */
async function outputDirForTest(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'failed-backup-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

async function expectCleanFailure(databaseUrl: string, message: RegExp, secrets: string[]): Promise<void> {
  const outputDir = await outputDirForTest();
  const run = await runAction({ 'database-url': databaseUrl, destination: 'none', 'output-dir': outputDir });
  expect(run.exitCode, run.visible).toBe(1);
  expect(run.stdout).toMatch(message);
  expect(await readdir(outputDir)).toEqual([]);
  expect(run.outputs).toEqual({});
  for (const secret of secrets.flatMap(secretForms)) {
    expect(run.visible.includes(secret), `a form of the password is visible: ${secret}`).toBe(false);
  }
}

describe('step 1 fails fast with an actionable message and leaves nothing behind', () => {
  it('wrong password', async () => {
    const wrong = 'Wr0ng p@ss:/%é';
    await expectCleanFailure(
      withPassword(sourceUrl, wrong),
      /password authentication failed for user 'postgres'.*Reset it in Supabase Dashboard/,
      [wrong, POSTGRES_PASSWORD],
    );
  });

  it('nothing listening on the host and port', async () => {
    const closed = new URL(sourceUrl);
    closed.port = '1';
    await expectCleanFailure(closed.toString(), /connection refused by 127\.0\.0\.1:1/, [POSTGRES_PASSWORD]);
  });

  it('unknown host', async () => {
    const unknown = new URL(sourceUrl);
    unknown.hostname = 'no-such-host.invalid';
    await expectCleanFailure(unknown.toString(), /unknown host 'no-such-host\.invalid'/, [POSTGRES_PASSWORD]);
  });

  it("the transaction pooler's port 6543", async () => {
    const url = `postgresql://postgres.abcdefghijklmnop:${encodeURIComponent(POSTGRES_PASSWORD)}@aws-0-eu-west-1.pooler.supabase.com:6543/postgres`;
    await expectCleanFailure(url, /transaction pooler.*port 5432/, [POSTGRES_PASSWORD]);
  });

  it('a database without the auth schema', async () => {
    await expectCleanFailure(supabase.urlFor('plain'), /has no 'auth' schema, so it is not a Supabase database/, [
      POSTGRES_PASSWORD,
    ]);
  });

  it('a direct db.<ref>.supabase.co host that resolves only to IPv6', async () => {
    // Public DNS cannot be reached here: a stand-in resolver answers as Supabase's DNS does.
    const outputDir = await outputDirForTest();
    const url = `postgresql://postgres:${encodeURIComponent(POSTGRES_PASSWORD)}@db.abcdefghijklmnop.supabase.co:5432/postgres`;
    const config = parseConfig((name) => ({ 'database-url': url, destination: 'none', 'output-dir': outputDir })[name] ?? '');
    const logged: string[] = [];
    const log: Logger = { info: (m) => logged.push(m), warning: (m) => logged.push(m), secret: () => undefined };
    const failure = runBackup(config, log, { resolve: async () => [{ address: '2600:1f18:2e13:9d00::1', family: 6 }] });
    await expect(failure).rejects.toThrow(/resolves only to IPv6.*session pooler/s);
    const message = await failure.then(() => "", (error: Error) => error.message);
    expect(secretForms(POSTGRES_PASSWORD).some((form) => message.includes(form) || logged.join('\n').includes(form))).toBe(false);
    expect(await readdir(outputDir)).toEqual([]);
  });
});
