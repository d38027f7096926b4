/**
 * The action (node dist/index.js) with `storage-files: true` and `destination: artifact` (no bucket):
 * the artifact carries the file store beside the SQL file, every file of the backup; unzipped, it is
 * what `restore --storage-files --files-from DIR` reads to bring every file back into a fresh project.
 * Over `storage-files-artifact-limit` the run publishes nothing; encrypted, the artifact shows neither
 * a file's bytes nor its name.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runAction } from '../helpers/action.js';
import { readZip, startArtifactService, type ArtifactService } from '../helpers/artifact-service.js';
import { ACTION_NODE, productEnv } from '../helpers/runtimes.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';
import { sha256, startProject, type Project } from '../helpers/storage-files.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');
const PASSPHRASE = 'correct horse battery staple, artifact files';

describe('action: storage-files in the artifact (no s3 destination)', () => {
  let supabase: SupabaseCluster;
  let source: Project;
  let service: ArtifactService;
  let dir: string;
  const targets: Project[] = [];
  const content = new Map<string, Buffer>();

  beforeAll(async () => {
    supabase = await startSupabaseCluster();
    source = await startProject(supabase, 'artifact_files', 'source');
    service = await startArtifactService();
    dir = await mkdtemp(path.join(tmpdir(), 'artifact-files-'));
    // A private repository: the public-repository guard has nothing to refuse.
    await writeFile(path.join(dir, 'event.json'), JSON.stringify({ repository: { full_name: 'acme/app', private: true, visibility: 'private' } }));
    const files: [string, string, number][] = [
      ['avatars', 'alice/confidential-merger-plan.png', 40_000],
      ['avatars', 'bob/b.png', 3_000],
      ['avatars', 'carol/large.png', 2 * 1024 * 1024],
    ];
    for (const [bucket, name, size] of files) {
      content.set(`${bucket}/${name}`, randomBytes(size));
      await source.put(bucket, name, content.get(`${bucket}/${name}`)!, { contentType: 'image/png' });
    }
  });
  afterAll(async () => {
    for (const target of targets) await target.stop();
    await source?.stop();
    await service?.close();
    await supabase?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const inputs = (outputDir: string, more: Record<string, string> = {}): Record<string, string> => ({
    'database-url': supabase.urlFor('artifact_files'),
    destination: 'artifact',
    'output-dir': outputDir,
    'storage-files': 'true',
    'storage-s3-endpoint': source.storage.server.endpoint,
    'storage-s3-region': source.storage.server.region,
    'storage-s3-access-key-id': source.storage.server.accessKeyId,
    'storage-s3-secret-access-key': source.storage.server.secretAccessKey,
    ...more,
  });
  const env = (): NodeJS.ProcessEnv => ({ ...service.env, GITHUB_EVENT_PATH: path.join(dir, 'event.json') });

  /** The artifact's zip entries written out as `gh run download` would leave them. */
  async function unzipArtifact(name: string): Promise<{ folder: string; entries: Map<string, Buffer> }> {
    const entries = await readZip(service.artifacts.get(name)!.blob!);
    const folder = path.join(dir, 'downloaded', name);
    for (const [entry, bytes] of entries) {
      await mkdir(path.dirname(path.join(folder, entry)), { recursive: true });
      await writeFile(path.join(folder, entry), bytes);
    }
    return { folder, entries };
  }

  /** `restore` with the CLI into a new project, then every file read back from its Storage and hashed. */
  async function restoreInto(db: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    const target = await startProject(supabase, db, 'target');
    targets.push(target);
    const storage = target.storage.server;
    const restored = await execa(
      ACTION_NODE,
      [CLI, 'restore', ...args, '--database-url', supabase.urlFor(db), '--storage-files', '--storage-s3-endpoint', storage.endpoint, '--storage-s3-region', storage.region],
      {
        cwd: ROOT,
        reject: false,
        env: { ...productEnv(), STORAGE_S3_ACCESS_KEY_ID: storage.accessKeyId, STORAGE_S3_SECRET_ACCESS_KEY: storage.secretAccessKey, ...extraEnv },
      },
    );
    expect(restored.exitCode, `${restored.stdout}\n${restored.stderr}`).toBe(0);
    expect(restored.stdout).toContain(`${content.size} Storage files restored`);
    for (const [key, body] of content) {
      const [bucket, ...name] = key.split('/');
      const answer = await target.client.send(new GetObjectCommand({ Bucket: bucket, Key: name.join('/') }));
      expect(sha256(Buffer.from(await answer.Body!.transformToByteArray())), key).toBe(sha256(body));
    }
  }

  it('carries every file beside the SQL file; the unzipped artifact restores them into a fresh project', async () => {
    const outputDir = path.join(dir, 'plain');
    const run = await runAction(inputs(outputDir, { 'artifact-name': 'plain' }), { env: env() });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const file = run.outputs['backup-file']!;
    expect(run.outputs['storage-files-manifest']).toBe(`storage-files/manifests/${file}.files.json`);
    expect(run.summary).toContain('in the artifact, which holds every file of this backup');

    const { folder, entries } = await unzipArtifact('plain');
    const blobs = [...entries.keys()].filter((k) => k.startsWith('storage-files/blobs/'));
    expect(blobs.sort()).toEqual([...content.values()].map((body) => `storage-files/blobs/${sha256(body)}`).sort());
    expect([...entries.keys()]).toContain(file);
    expect([...entries.keys()]).toContain(`storage-files/manifests/${file}.files.json`);
    expect([...entries.keys()]).toContain(`storage-files/indexes/${file}.index.json`);
    // The runner keeps the local copy: the file and its file store beside it.
    expect((await readdir(outputDir)).sort()).toEqual([file, `${file}.files`]);

    await restoreInto('artifact_files_new', ['--file', path.join(folder, file), '--files-from', folder]);

    // A second run again carries every file: an artifact never refers to an older one.
    const again = await runAction(inputs(outputDir, { 'artifact-name': 'plain-again' }), { env: env() });
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/✅ Storage files: 3 files .*3 stored .* 0 reused/);
    const second = await readZip(service.artifacts.get('plain-again')!.blob!);
    expect([...second.keys()].filter((k) => k.startsWith('storage-files/blobs/'))).toHaveLength(3);
  }, 300_000);

  it('over storage-files-artifact-limit fails before the dumps, says to use s3, and publishes nothing', async () => {
    const outputDir = path.join(dir, 'over');
    const before = service.requests.length;
    const run = await runAction(inputs(outputDir, { 'artifact-name': 'over', 'storage-files-artifact-limit': '1MB' }), { env: env() });
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).toMatch(/::error::Storage files: .*over storage-files-artifact-limit \(1\.00 MB\).*destination: s3/);
    // Checked on the snapshot's rows, before the dumps: no time spent on a backup that cannot be published.
    expect(run.stdout).not.toContain('Dumping');
    expect(service.requests.slice(before)).toEqual([]);
    expect(service.artifacts.has('over')).toBe(false);
    expect(await readdir(outputDir)).toEqual([]);
  });

  it('encrypted: the artifact holds no file content and no file name; the passphrase restores every file', async () => {
    const outputDir = path.join(dir, 'sealed');
    const run = await runAction(inputs(outputDir, { 'artifact-name': 'sealed', 'encryption-passphrase': PASSPHRASE }), { env: env() });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const file = run.outputs['backup-file']!;
    expect(run.outputs['storage-files-manifest']).toBe(`storage-files/manifests/${file}.files.json.age`);

    const { folder, entries } = await unzipArtifact('sealed');
    expect([...entries.keys()]).toContain('storage-files/passphrase-salt');
    expect([...entries.keys()].filter((k) => k.startsWith('storage-files/blobs/')).every((k) => k.endsWith('.age'))).toBe(true);
    const everything = Buffer.concat([...entries].flatMap(([name, bytes]) => [Buffer.from(name), bytes]));
    for (const [key, body] of content) {
      // Parts of 5 characters or more: a shorter one turns up in megabytes of ciphertext by chance.
      for (const part of key.split('/').filter((p) => p.length >= 5)) expect(everything.includes(Buffer.from(part)), part).toBe(false);
      expect(everything.includes(body.subarray(0, 64)), `${key}: content`).toBe(false);
      expect(everything.includes(Buffer.from(sha256(body))), `${key}: sha256`).toBe(false);
    }

    // --dir without --files-from: the files come from the folder the backup is in.
    await restoreInto('artifact_files_sealed', ['--dir', folder], { BACKUP_PASSPHRASE: PASSPHRASE });
  }, 300_000);
});
