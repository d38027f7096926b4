/**
 * Destination `artifact` against a local stand-in of the artifact service: the real
 * `@actions/artifact` client makes its Twirp calls and its Azure block-blob upload to it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkArtifactRuntime,
  defaultArtifactName,
  uploadBackupArtifact,
} from '../../src/publish/artifact.js';
import { readZip, startArtifactService, type ArtifactService } from '../helpers/artifact-service.js';
import { recordingLogger, writeBackup } from '../helpers/publish.js';

let service: ArtifactService;
let dir: string;

beforeEach(async () => {
  service = await startArtifactService();
  for (const [name, value] of Object.entries(service.env)) vi.stubEnv(name, value);
  vi.stubEnv('GITHUB_RETENTION_DAYS', undefined);
  dir = await mkdtemp(path.join(tmpdir(), 'publish-artifact-'));
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await service.close();
  await rm(dir, { recursive: true, force: true });
});

const DAY = 24 * 60 * 60 * 1000;

describe('artifact upload', () => {
  it('uploads the backup file under the asked name and retention', async () => {
    const backup = await writeBackup(dir);
    const log = recordingLogger();
    const upload = await uploadBackupArtifact({ file: backup.path, name: 'nightly-db', retentionDays: 7 }, log);

    const stored = service.artifacts.get('nightly-db');
    expect(stored?.finalized).toBe(true);
    const entries = await readZip(stored!.blob!);
    expect([...entries.keys()]).toEqual([backup.file]);
    expect(entries.get(backup.file)!.equals(await readFile(backup.path))).toBe(true);

    const create = service.requests.find((r) => r.call === 'CreateArtifact')!;
    expect(create.body).toMatchObject({ name: 'nightly-db', version: 7, mime_type: 'application/zip' });
    const expiresIn = Date.parse(String(create.body!.expires_at)) - Date.now();
    expect(Math.round(expiresIn / DAY)).toBe(7);

    expect(upload).toMatchObject({ id: String(stored!.id), name: 'nightly-db', retentionDays: 7 });
    expect(upload.url).toBe(`https://github.com/acme/app/actions/runs/4242/artifacts/${stored!.id}`);
    expect(log.infos.join('\n')).toContain(upload.url);
  });

  it('stores the signature beside the backup in the same artifact', async () => {
    const backup = await writeBackup(dir);
    const signature = `${backup.path}.sig`;
    await writeFile(signature, 'supabase-complete-backup signature 1\n');
    await uploadBackupArtifact({ file: backup.path, signature, name: 'signed-db', retentionDays: undefined }, recordingLogger());
    const entries = await readZip(service.artifacts.get('signed-db')!.blob!);
    expect([...entries.keys()].sort()).toEqual([backup.file, `${backup.file}.sig`]);
    expect(entries.get(`${backup.file}.sig`)!.toString()).toBe('supabase-complete-backup signature 1\n');
  });

  it('carries the file store of Storage files beside the file and its signature, as a bucket prefix holds them', async () => {
    const backup = await writeBackup(dir);
    const signature = `${backup.path}.sig`;
    await writeFile(signature, 'signature\n');
    const store = `${backup.path}.files`;
    const blob = randomBytes(3000);
    await mkdir(path.join(store, 'storage-files/blobs'), { recursive: true });
    await mkdir(path.join(store, 'storage-files/manifests'), { recursive: true });
    await writeFile(path.join(store, 'storage-files/blobs/abc'), blob);
    await writeFile(path.join(store, 'storage-files/manifests', `${backup.file}.files.json`), '{}\n');
    await uploadBackupArtifact({ file: backup.path, signature, fileStore: store, name: 'with-files', retentionDays: 1 }, recordingLogger());

    const entries = await readZip(service.artifacts.get('with-files')!.blob!);
    expect([...entries.keys()].sort()).toEqual(
      [backup.file, `${backup.file}.sig`, 'storage-files/blobs/abc', `storage-files/manifests/${backup.file}.files.json`].sort(),
    );
    expect(entries.get(backup.file)!.equals(await readFile(backup.path))).toBe(true);
    expect(entries.get('storage-files/blobs/abc')!.equals(blob)).toBe(true);
    // The links made for the upload are gone; the file and the store stay where they were.
    expect((await readdir(store)).sort()).toEqual(['storage-files']);
    expect((await readdir(dir)).sort()).toEqual([backup.file, `${backup.file}.files`, `${backup.file}.sig`].sort());
  });

  it('sends no expiry when retention-days is unset (the repository default applies)', async () => {
    const backup = await writeBackup(dir);
    await uploadBackupArtifact({ file: backup.path, name: 'a', retentionDays: undefined }, recordingLogger());
    const create = service.requests.find((r) => r.call === 'CreateArtifact')!;
    expect(create.body).not.toHaveProperty('expires_at');
  });

  it('uploads a file larger than one block in order (block list commit)', async () => {
    // 9 MiB of random bytes under a .gz name: stored in the zip as is, so the blob spans two 8 MiB blocks.
    const content = randomBytes(9 * 1024 * 1024);
    const backup = await writeBackup(dir, { content, suffix: '.sql.gz' });
    await uploadBackupArtifact({ file: backup.path, name: defaultArtifactName(backup.file), retentionDays: 1 }, recordingLogger());

    expect(service.requests.filter((r) => r.call === 'blob:block').length).toBeGreaterThanOrEqual(2);
    expect(service.requests.filter((r) => r.call === 'blob:blocklist')).toHaveLength(1);
    const stored = service.artifacts.get(defaultArtifactName(backup.file))!;
    expect((await readZip(stored.blob!)).get(backup.file)!.equals(content)).toBe(true);
  });

  it('fails with a clear message when the service refuses to finalize, leaving no artifact', async () => {
    service.fail('FinalizeArtifact', { status: 400, code: 'invalid_argument', msg: 'artifact size over the quota' });
    const backup = await writeBackup(dir);
    await expect(uploadBackupArtifact({ file: backup.path, name: 'db', retentionDays: undefined }, recordingLogger())).rejects.toThrow(
      /artifact upload of 'db' failed: .*FinalizeArtifact.*\(400\).*artifact size over the quota/,
    );
    expect(service.artifacts.get('db')?.finalized).toBe(false);
  });

  it('fails with a clear message when the blob store refuses the upload, without leaking the signature', async () => {
    service.fail('blob', { status: 403, code: 'AuthorizationFailure', msg: 'This request is not authorized to perform this operation.' });
    const backup = await writeBackup(dir);
    const error = await uploadBackupArtifact({ file: backup.path, name: 'db', retentionDays: undefined }, recordingLogger()).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/artifact upload of 'db' failed: blob storage answered 403 AuthorizationFailure: .*not authorized/);
    expect(error?.message).toMatch(/refused the runtime credentials/);
    expect(error?.message).not.toMatch(/sig=(?!\*\*\*)/);
    expect(service.requests.some((r) => r.call === 'FinalizeArtifact')).toBe(false);
    expect(service.artifacts.get('db')?.finalized).toBe(false);
  });

  it('explains a name already used in the run', async () => {
    const backup = await writeBackup(dir);
    await uploadBackupArtifact({ file: backup.path, name: 'db', retentionDays: undefined }, recordingLogger());
    await expect(uploadBackupArtifact({ file: backup.path, name: 'db', retentionDays: undefined }, recordingLogger())).rejects.toThrow(
      /already exists in this workflow run; set 'artifact-name'/,
    );
  });

  it('refuses a name the service would reject', async () => {
    const backup = await writeBackup(dir);
    await expect(uploadBackupArtifact({ file: backup.path, name: 'db:nightly', retentionDays: undefined }, recordingLogger())).rejects.toThrow(
      /artifact name 'db:nightly' is not allowed: it contains ':'/,
    );
    expect(service.requests).toHaveLength(0);
  });
});

describe('the Actions runtime check', () => {
  it('says what to do when the runtime variables are missing (outside Actions, a run: step)', async () => {
    vi.stubEnv('ACTIONS_RUNTIME_TOKEN', undefined);
    vi.stubEnv('ACTIONS_RESULTS_URL', undefined);
    const backup = await writeBackup(dir);
    await expect(uploadBackupArtifact({ file: backup.path, name: 'db', retentionDays: undefined }, recordingLogger())).rejects.toThrow(
      /needs the GitHub Actions runtime, and ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL are not set.*`uses:`.*destination: branch/s,
    );
    expect(service.requests).toHaveLength(0);
  });

  it('says the artifact destination does not work on GHES', () => {
    expect(() => checkArtifactRuntime({ ...service.env, GITHUB_SERVER_URL: 'https://github.example.com' })).toThrow(
      /not available on GitHub Enterprise Server \(https:\/\/github\.example\.com\).*destination: branch/,
    );
    expect(() => checkArtifactRuntime({ ...service.env, GITHUB_SERVER_URL: 'https://acme.ghe.com' })).not.toThrow();
  });

  it('names an artifact after the file, without its extensions', () => {
    expect(defaultArtifactName('full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql')).toBe('full_2026-11-29T23-45-00-000Z_3fa9c1d2');
    expect(defaultArtifactName('full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql.gz.age')).toBe('full_2026-11-29T23-45-00-000Z_3fa9c1d2');
  });
});
