/**
 * destination s3 as GitHub runs the action (node dist/index.js), against our S3 server on loopback:
 * backup into the bucket → `list --s3` from the manifest objects → `restore --s3` into a fresh project,
 * compared table by table with SOURCE; wrong credentials and a missing bucket fail before the dump
 * starts; the S3 credentials never show in the logs, outputs or summary.
 */
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_SUFFIX } from '../../src/publish/s3.js';
import { ROOT, runAction, type ActionRun } from '../helpers/action.js';
import { DURABLE_TABLES, listPolicies, tableRows } from '../helpers/compare.js';
import { ACTION_NODE, productEnv } from '../helpers/runtimes.js';
import { startS3Server, type S3Server } from '../helpers/s3/server.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');
const BUCKET = 'project-backups';
const SESSION_TOKEN = 'session-token-that-must-never-show';

let supabase: SupabaseCluster;
let server: S3Server;
let sourceUrl: string;

function s3Inputs(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'database-url': sourceUrl,
    destination: 's3',
    's3-bucket-url': `s3://${BUCKET}/db`,
    's3-endpoint': server.endpoint,
    's3-region': server.region,
    's3-force-path-style': 'true',
    's3-access-key-id': server.accessKeyId,
    's3-secret-access-key': server.secretAccessKey,
    ...overrides,
  };
}

async function cli(args: string[]): Promise<{ exitCode: number; stdout: string; output: string }> {
  const result = await execa(ACTION_NODE, [CLI, ...args], {
    reject: false,
    all: true,
    env: { ...productEnv(), AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: server.secretAccessKey, AWS_REGION: server.region },
    extendEnv: false,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), output: String(result.all) };
}

function expectNoCredentials(run: ActionRun): void {
  for (const secret of [server.secretAccessKey, encodeURIComponent(server.secretAccessKey), server.accessKeyId, SESSION_TOKEN]) {
    expect(run.visible.includes(secret), `a credential is visible in:\n${run.visible}`).toBe(false);
  }
}

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('source')).url;
  server = await startS3Server({ buckets: [BUCKET] });
});

afterAll(async () => {
  await server?.stop();
  await supabase?.stop();
});

describe('destination s3', () => {
  let run: ActionRun;

  it('stores the backup and its manifest in the bucket and sets the s3 outputs', async () => {
    run = await runAction(s3Inputs({ 'keep-days': '7' }));
    expect(run.exitCode, run.visible).toBe(0);
    const key = `db/${run.outputs['backup-file']}`;
    expect(run.outputs).toMatchObject({ 's3-url': `s3://${BUCKET}/${key}`, 's3-key': key, 's3-version-id': '' });
    expect(run.outputs['s3-etag']).toMatch(/^"[0-9a-f]{32}(-\d+)?"$/);
    expect((await server.objects(BUCKET)).map((o) => o.key)).toEqual([key, `${key}${MANIFEST_SUFFIX}`]);
    expect(run.summary).toContain(`s3://${BUCKET}/${key}`);
    expect(run.stdout.indexOf('🪣 Bucket')).toBeLessThan(run.stdout.indexOf('🔌 Connecting'));
    expectNoCredentials(run);
  });

  it('list --s3 shows it from the manifest, restore --s3 brings every table back into a fresh project', async () => {
    const listed = await cli(['list', '--s3', `s3://${BUCKET}/db`, '--s3-endpoint', server.endpoint, '--s3-force-path-style', 'true', '--json']);
    expect(listed.exitCode, listed.output).toBe(0);
    const [entry] = JSON.parse(listed.stdout) as { name: string; location: string; tables: number; authUsers: number; rowsByTable: Record<string, number> }[];
    expect(entry).toMatchObject({ name: run.outputs['backup-file'], location: run.outputs['s3-url'], tables: Number(run.outputs.tables), authUsers: Number(run.outputs['auth-users']) });
    expect(entry!.rowsByTable['auth.users']).toBe(Number(run.outputs['auth-users']));

    const target = await supabase.createTarget('t_s3');
    const restored = await cli(['restore', '--s3', `s3://${BUCKET}/db/`, '--s3-endpoint', server.endpoint, '--s3-force-path-style', 'true', '--database-url', target.url]);
    expect(restored.exitCode, restored.output).toBe(0);
    expect(restored.stdout).toContain(`✔ Restored ${run.outputs['backup-file']}`);
    for (const table of DURABLE_TABLES) expect(await tableRows(target.url, table), table).toEqual(await tableRows(sourceUrl, table));
    for (const table of ['public.profiles', 'public.notes', 'public.tricky', 'private.settings']) {
      expect(await tableRows(target.url, table), table).toEqual(await tableRows(sourceUrl, table));
    }
    expect(await listPolicies(target.url)).toEqual(await listPolicies(sourceUrl));
  });

  it('verify --s3 checks the backup the URL names, with the checks of a local file', async () => {
    const verified = await cli(['verify', '--s3', run.outputs['s3-url']!, '--s3-endpoint', server.endpoint, '--s3-force-path-style', 'true']);
    expect(verified.exitCode, verified.output).toBe(0);
    expect(verified.stdout).toContain(`✔ ${run.outputs['backup-file']}: ${run.outputs.tables} tables`);
    const missing = await cli(['verify', '--s3', `s3://${BUCKET}/db/full_2020-01-01T00-00-00-000Z_00000000.sql`, '--s3-endpoint', server.endpoint, '--s3-force-path-style', 'true']);
    expect(missing.exitCode).toBe(1);
    expect(missing.output).toContain("S3: reading 'db/full_2020-01-01T00-00-00-000Z_00000000.sql' failed");
  });

  it('masks the S3 credentials of the inputs and of the AWS variables', async () => {
    const viaEnv = await runAction(
      s3Inputs({ 's3-access-key-id': '', 's3-secret-access-key': '', 's3-endpoint': '', 's3-region': '', destination: 's3', keep: '1' }),
      { env: { ...server.env, AWS_SESSION_TOKEN: SESSION_TOKEN } },
    );
    // The stand-in does not know this session token's key pair... it ignores x-amz-security-token, as
    // long-lived keys do; what matters here is that no credential is shown.
    expect(viaEnv.exitCode, viaEnv.visible).toBe(0);
    const masked = viaEnv.stdout.split('\n').filter((line) => line.startsWith('::add-mask::'));
    for (const secret of [server.secretAccessKey, server.accessKeyId, SESSION_TOKEN]) expect(masked).toContain(`::add-mask::${secret}`);
    expectNoCredentials(viaEnv);
    // keep 1: the first run's backup is gone, with its manifest.
    expect((await server.objects(BUCKET)).map((o) => o.key)).toEqual([`db/${viaEnv.outputs['backup-file']}`, `db/${viaEnv.outputs['backup-file']}${MANIFEST_SUFFIX}`]);
  });

  it.each([
    ['a wrong secret key', { 's3-secret-access-key': 'not-the-secret' }, /the secret access key does not match the access key id; check 's3-secret-access-key'/],
    ['a missing bucket', { 's3-bucket-url': 's3://no-such-bucket/db' }, /bucket 'no-such-bucket' at http:\/\/127\.0\.0\.1:\d+ does not exist; check 's3-bucket-url'/],
  ])('%s fails before the dump starts, saying which input to check', async (_case, overrides, message) => {
    const failed = await runAction(s3Inputs(overrides));
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toMatch(message);
    expect(failed.stdout).not.toContain('🔌 Connecting');
    expect(failed.stdout).not.toContain('Dumping');
    expectNoCredentials(failed);
  });
});
