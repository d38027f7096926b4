/**
 * Destination s3 through publishBackup, against our S3 server on loopback (test/helpers/s3/server.ts):
 * upload, multipart with parts in parallel, the manifest and signature beside the backup, retention
 * after N runs, two runs at once, failures and cancellation leaving nothing (no object, no pending
 * multipart upload), wrong credentials and a missing bucket, and all-or-nothing with the other
 * destinations.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BackupConfig } from '../../src/config.js';
import { publishBackup, type PublishInput } from '../../src/publish/index.js';
import { MANIFEST_SUFFIX, type S3Manifest } from '../../src/publish/s3.js';
import { startArtifactService, type ArtifactService } from '../helpers/artifact-service.js';
import { publishConfig, recordingLogger, writeBackup } from '../helpers/publish.js';
import { startS3Server, type S3Server } from '../helpers/s3/server.js';

const BUCKET = 'backups';
let root: string;
let server: S3Server;

function s3Config(overrides: Partial<BackupConfig> = {}, inputs: Partial<NonNullable<BackupConfig['s3']>['inputs']> = {}): BackupConfig {
  return publishConfig({
    destinations: { artifact: false, branch: false, s3: true },
    s3: {
      location: { bucket: BUCKET, prefix: 'nightly/' },
      inputs: {
        endpoint: server.endpoint,
        region: server.region,
        forcePathStyle: 'true',
        accessKeyId: server.accessKeyId,
        secretAccessKey: server.secretAccessKey,
        sessionToken: '',
        ...inputs,
      },
    },
    ...overrides,
  });
}

/** A backup file of `size` random bytes made at `at`. */
function backupAt(at: Date, size = 2000): Promise<PublishInput> {
  return writeBackup(root, { at, content: randomBytes(size) });
}

const day = (n: number): Date => new Date(Date.UTC(2026, 10, 1 + n, 3, 0, 0));
const keys = async (): Promise<string[]> => (await server.objects(BUCKET)).map((o) => o.key);

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'publish-s3-'));
  server = await startS3Server({ buckets: [BUCKET] });
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await server.stop();
  await rm(root, { recursive: true, force: true });
});

describe('destination s3', () => {
  it('stores the backup, its signature and its manifest under the prefix, and reports where', async () => {
    const backup = await backupAt(day(0));
    const signaturePath = `${backup.path}.sig`;
    await writeFile(signaturePath, 'signature bytes');
    const log = recordingLogger();
    const published = await publishBackup(
      { ...backup, signaturePath, rowsByTable: new Map([['public.todos', 345]]), serverVersion: '15.8', pgDump: { version: '15.8' } },
      s3Config({ compression: 'gzip', encryption: { kind: 'recipients', recipients: ['age1x'] } }),
      log,
    );
    const key = `nightly/${backup.file}`;
    expect(await keys()).toEqual([key, `${key}${MANIFEST_SUFFIX}`, `${key}.sig`]);
    const bytes = await server.readObject(BUCKET, key);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(backup.sha256);
    expect((await server.readObject(BUCKET, `${key}.sig`)).toString()).toBe('signature bytes');
    const manifest = JSON.parse((await server.readObject(BUCKET, `${key}${MANIFEST_SUFFIX}`)).toString()) as S3Manifest;
    expect(manifest).toEqual({
      format: 'supabase-complete-backup/manifest@1',
      file: backup.file,
      bytes: backup.bytes,
      sha256: backup.sha256,
      created: day(0).toISOString(),
      compression: 'gzip',
      encryption: 'age-recipients',
      signed: true,
      authUsers: 3,
      tables: 12,
      rows: 345,
      rowsByTable: { 'public.todos': 345 },
      serverVersion: '15.8',
      pgDumpVersion: '15.8',
    });
    const [object] = (await server.objects(BUCKET)).filter((o) => o.key === key);
    expect(object?.metadata).toEqual({ sha256: backup.sha256 });
    expect(published.s3).toEqual({ url: `s3://${BUCKET}/${key}`, key, etag: object!.etag });
    expect(published.destinations.map((d) => d.kind)).toEqual(['s3', 'local']);
    expect(published.destinations[0]!.description).toContain(`s3://${BUCKET}/${key}`);
    expect(log.all()).not.toContain(server.secretAccessKey);
  });

  it('sends a large file as a multipart upload, parts in parallel, byte for byte', async () => {
    const backup = await backupAt(day(0), 40 * 1024 * 1024 - 17);
    const published = await publishBackup(backup, s3Config(), recordingLogger());
    expect(server.stats.calls.get('UploadPart')).toBe(5);
    expect(server.stats.maxInFlight.get('UploadPart')).toBeGreaterThan(1);
    // Each part is streamed from the file and signed unhashed, so none is held in memory.
    expect(server.requests.filter((r) => r.operation === 'UploadPart').map((r) => r.payloadHash)).toEqual(Array(5).fill('UNSIGNED-PAYLOAD'));
    expect(published.s3?.etag).toMatch(/^"[0-9a-f]{32}-5"$/);
    const bytes = await server.readObject(BUCKET, published.s3!.key);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(backup.sha256);
    expect(server.pendingUploads()).toEqual([]);
  });

  it('keeps the newest `keep` after N runs, with their signatures and manifests; keep-days keeps younger ones too', async () => {
    const files: string[] = [];
    for (let n = 0; n < 6; n++) {
      const backup = await backupAt(day(n));
      files.push(backup.file);
      await publishBackup(backup, s3Config({ keep: 3 }), recordingLogger(), process.env, { now: day(n) });
    }
    const left = (await keys()).filter((k) => !k.endsWith(MANIFEST_SUFFIX));
    expect(left).toEqual(files.slice(3).map((f) => `nightly/${f}`));
    expect((await keys()).filter((k) => k.endsWith(MANIFEST_SUFFIX))).toHaveLength(3);

    // keep 1 and keep-days 3 on day 6: the backups of days 4 and 5 are younger than 3 days, day 3's is not.
    const backup = await backupAt(day(6));
    const published = await publishBackup(backup, s3Config({ keep: 1, keepDays: 3 }), recordingLogger(), process.env, { now: day(6) });
    expect((await keys()).filter((k) => !k.endsWith(MANIFEST_SUFFIX))).toEqual([files[4], files[5], backup.file].map((f) => `nightly/${f}`));
    expect(published.destinations[0]!.description).toContain('1 older backup(s) deleted (keep 1, keep-days 3)');
  });

  it('a retention that cannot delete warns, and the new backup stays stored', async () => {
    await publishBackup(await backupAt(day(0)), s3Config({ keep: 1 }), recordingLogger());
    server.fail({ operation: 'DeleteObjects', action: { status: 403, code: 'AccessDenied', message: 'no delete permission' } });
    const log = recordingLogger();
    const backup = await backupAt(day(1));
    const published = await publishBackup(backup, s3Config({ keep: 1 }), log);
    expect(log.warnings.join('\n')).toMatch(/The backup is stored, but deleting older backups failed: S3: deleting 2 object\(s\) failed.*was denied/);
    expect(published.destinations[0]!.description).toContain('older backups not deleted (see the warning)');
    expect(await keys()).toContain(`nightly/${backup.file}`);
  });

  it('two runs at once: neither deletes the other one’s backup, even with keep 1', async () => {
    const older = await backupAt(day(1), 12 * 1024 * 1024);
    const newer = await backupAt(day(2));
    // The older run is paused after its backup object is stored and before its manifest is.
    const paused = server.hold('PutObject', (key) => key === `nightly/${older.file}${MANIFEST_SUFFIX}`);
    const first = publishBackup(older, s3Config({ keep: 1 }), recordingLogger(), process.env, { now: day(2) });
    await paused.reached;
    await publishBackup(newer, s3Config({ keep: 1 }), recordingLogger(), process.env, { now: day(2) });
    paused.release();
    await first;
    expect((await keys()).filter((k) => !k.endsWith(MANIFEST_SUFFIX))).toEqual([`nightly/${older.file}`, `nightly/${newer.file}`]);

    // The next run, both complete now, keeps only itself.
    const third = await backupAt(day(3));
    await publishBackup(third, s3Config({ keep: 1 }), recordingLogger(), process.env, { now: day(3) });
    expect(await keys()).toEqual([`nightly/${third.file}`, `nightly/${third.file}${MANIFEST_SUFFIX}`]);
  });

  it('retries a cut connection, and a part that keeps failing leaves no object and no pending upload', async () => {
    server.fail({ operation: 'UploadPart', after: 1, times: 1, action: 'reset' });
    const retried = await publishBackup(await backupAt(day(1), 20 * 1024 * 1024), s3Config(), recordingLogger());
    expect(createHash('sha256').update(await server.readObject(BUCKET, retried.s3!.key)).digest('hex')).toMatch(/^[0-9a-f]{64}$/);
    await server.backend.delete(BUCKET, retried.s3!.key);
    await server.backend.delete(BUCKET, `${retried.s3!.key}${MANIFEST_SUFFIX}`);
    server.clearFaults();

    server.fail({ operation: 'UploadPart', after: 1, action: { status: 500, code: 'InternalError' } });
    const backup = await backupAt(day(2), 30 * 1024 * 1024);
    await expect(publishBackup(backup, s3Config(), recordingLogger())).rejects.toThrow(/S3: uploading 'nightly\/full_.*' failed .*InternalError/);
    expect(await keys()).toEqual([]);
    expect(server.pendingUploads()).toEqual([]);
    expect(server.stats.calls.get('AbortMultipartUpload')).toBeGreaterThanOrEqual(1);
  });

  it('a failing manifest write deletes the backup object again', async () => {
    server.fail({ operation: 'PutObject', action: { status: 403, code: 'AccessDenied', message: 'no' } });
    await expect(publishBackup(await backupAt(day(1), 9 * 1024 * 1024), s3Config(), recordingLogger())).rejects.toThrow(/access to bucket 'backups'.*was denied/);
    expect(await keys()).toEqual([]);
  });

  it('cancelled mid-upload (SIGTERM in the action): the multipart upload is aborted, nothing stays', async () => {
    const paused = server.hold('UploadPart');
    const cancel = new AbortController();
    const run = publishBackup(await backupAt(day(1), 30 * 1024 * 1024), s3Config(), recordingLogger(), process.env, { signal: cancel.signal });
    await paused.reached;
    cancel.abort(new Error('cancelled by SIGTERM'));
    paused.release();
    await expect(run).rejects.toThrow('cancelled by SIGTERM');
    expect(await keys()).toEqual([]);
    expect(server.pendingUploads()).toEqual([]);
  });

  it.each([
    ['a wrong secret', { secretAccessKey: 'wrong' }, /the secret access key does not match the access key id; check 's3-secret-access-key'/],
    ['an unknown key id', { accessKeyId: 'AKIANOSUCHKEY' }, /does not know the access key id; check 's3-access-key-id'/],
    ['an unreachable endpoint', { endpoint: 'http://127.0.0.1:9' }, /cannot reach http:\/\/127\.0\.0\.1:9 .*check 's3-endpoint'/],
  ])('%s fails at the bucket check, before any upload', async (_case, inputs, message) => {
    await expect(publishBackup(await backupAt(day(1)), s3Config({}, inputs), recordingLogger())).rejects.toThrow(message);
    expect(server.stats.calls.get('PutObject') ?? 0).toBe(0);
  });

  it('a missing bucket fails at the bucket check, naming s3-bucket-url', async () => {
    const config = s3Config();
    config.s3!.location.bucket = 'no-such-bucket';
    await expect(publishBackup(await backupAt(day(1)), config, recordingLogger())).rejects.toThrow(
      /S3: checking the bucket failed: bucket 'no-such-bucket' at http:\/\/127\.0\.0\.1:\d+ does not exist; check 's3-bucket-url'/,
    );
  });

  it('takes the credentials from the AWS variables when the inputs are empty', async () => {
    for (const [name, value] of Object.entries(server.env)) vi.stubEnv(name, value);
    const published = await publishBackup(
      await backupAt(day(1)),
      s3Config({}, { endpoint: '', region: '', accessKeyId: '', secretAccessKey: '' }),
      recordingLogger(),
      process.env,
    );
    expect(await keys()).toContain(published.s3!.key);
  });
});

describe('all or nothing with the other destinations', () => {
  let service: ArtifactService;
  let origin: string;
  beforeEach(async () => {
    origin = path.join(root, 'origin.git');
    await execa('git', ['init', '-q', '--bare', '-b', 'main', origin]);
    service = await startArtifactService();
    const gitconfig = path.join(root, 'gitconfig');
    await writeFile(gitconfig, '');
    for (const [name, value] of Object.entries(service.env)) vi.stubEnv(name, value);
    vi.stubEnv('GITHUB_RETENTION_DAYS', undefined);
    vi.stubEnv('BACKUP_REMOTE_URL', origin);
    vi.stubEnv('GIT_CONFIG_GLOBAL', gitconfig);
    vi.stubEnv('GIT_CONFIG_NOSYSTEM', '1');
    vi.stubEnv('RUNNER_TEMP', root);
  });
  afterEach(async () => {
    await service.close();
  });

  it('artifact,s3,branch: a refused push deletes the bucket objects and the artifact again', async () => {
    const hook = path.join(origin, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "push refused by policy" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const config = s3Config({ destinations: { artifact: true, branch: true, s3: true }, githubToken: 'ghs_token_for_checks' });
    await expect(publishBackup(await backupAt(day(1)), config, recordingLogger(), process.env, { branch: { backoffMs: 5 } })).rejects.toThrow(
      /push refused by policy.*s3:\/\/backups\/nightly\/full_.* uploaded before was deleted again.*artifact '.*' uploaded before was deleted again/s,
    );
    expect(await keys()).toEqual([]);
    expect(service.artifacts.size).toBe(0);
  });

  it('artifact,s3: a failed upload deletes the artifact again', async () => {
    server.fail({ operation: 'PutObject', action: { status: 500, code: 'InternalError' } });
    const config = s3Config({ destinations: { artifact: true, branch: false, s3: true } });
    await expect(publishBackup(await backupAt(day(1)), config, recordingLogger(), process.env)).rejects.toThrow(/InternalError.*artifact '.*' uploaded before was deleted again/s);
    expect(service.artifacts.size).toBe(0);
    expect(await keys()).toEqual([]);
  });
});
