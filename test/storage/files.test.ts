/**
 * Storage files backed up and restored through the storage modules (src/storage/), against the Storage
 * stand-in and a backup bucket on loopback: a full backup, an incremental one after adding, changing and
 * deleting files, a file overwritten during the backup, a missing file and an unreadable name, a
 * restore into a fresh project whose every file is read back and hashed, a bucket with limits.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { openSnapshot } from '../../src/backup/snapshot.js';
import { connectClient, parseDatabaseUrl } from '../../src/postgres/connection.js';
import { backupFiles, type FilesBackupOutcome } from '../../src/storage/backup.js';
import type { FileEntry, ManifestHead, SkippedFile } from '../../src/storage/manifest.js';
import { readObjectRows } from '../../src/storage/objects.js';
import { restoreFiles } from '../../src/storage/restore.js';
import { fileSealing } from '../../src/storage/sealing.js';
import { pruneFileStore } from '../../src/storage/retention.js';
import { identitiesFor } from '../../src/storage/run.js';
import { FileStore } from '../../src/storage/store.js';
import type { Logger } from '../../src/log.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';
import { BACKUP_BUCKET, sha256, startBackupBucket, startProject, type BackupBucket, type Project } from '../helpers/storage-files.js';
import { ageKeygen } from '../helpers/age.js';

const RETRY = { attempts: 3, baseDelayMs: 5 };

function listLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warning: (m) => lines.push(`warning: ${m}`), secret: () => undefined };
}

type WholeManifest = ManifestHead & { files: FileEntry[]; skipped: SkippedFile[] };

const byBucketAndName = (a: { bucket: string; name: string }, b: { bucket: string; name: string }): number =>
  a.bucket === b.bucket ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.bucket < b.bucket ? -1 : 1;

/** A stored manifest read back whole (the product reads it an entry at a time), files and skipped rows in name order. */
async function readWholeManifest(store: FileStore, backup: string, identities: string[], work: string): Promise<WholeManifest> {
  const dir = await mkdtemp(path.join(work, 'manifest-'));
  try {
    const manifest = await store.openManifest(backup, identities, dir);
    const files: FileEntry[] = [];
    for await (const file of manifest.files()) files.push(file);
    const skipped: SkippedFile[] = [];
    for await (const row of manifest.skipped()) skipped.push(row);
    return { ...manifest.head, files: files.sort(byBucketAndName), skipped: skipped.sort(byBucketAndName) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The blob names of a stored index or checkpoint. */
async function indexBlobs(store: FileStore, key: string): Promise<string[]> {
  const blobs: string[] = [];
  await store.readIndexEntries(key, (entry) => void blobs.push(entry.b));
  return blobs;
}

/** Copies the storage rows of one database into another, as the SQL restore does. */
async function copyStorageRows(supabase: SupabaseCluster, from: string, to: string): Promise<void> {
  const q = (db: string, sql: string, params: unknown[] = []) => supabase.cluster.query<{ row: string }>(sql, { db, params });
  for (const { row } of await q(from, 'SELECT row_to_json(b)::text AS row FROM storage.buckets b')) {
    await q(to, 'INSERT INTO storage.buckets SELECT * FROM json_populate_record(NULL::storage.buckets, $1::json)', [row]);
  }
  const columns = 'id, bucket_id, name, owner, created_at, updated_at, last_accessed_at, metadata, version, owner_id, user_metadata';
  for (const { row } of await q(from, 'SELECT row_to_json(o)::text AS row FROM storage.objects o')) {
    await q(to, `INSERT INTO storage.objects (${columns}) SELECT ${columns} FROM json_populate_record(NULL::storage.objects, $1::json)`, [row]);
  }
}

describe('Storage files: backup, incremental backup, restore', () => {
  let supabase: SupabaseCluster;
  let source: Project;
  let bucket: BackupBucket;
  let work: string;
  const content = new Map<string, Buffer>();

  beforeAll(async () => {
    supabase = await startSupabaseCluster();
    source = await startProject(supabase, 'files_src', 'target');
    bucket = await startBackupBucket();
    work = await mkdtemp(path.join(tmpdir(), 'files-test-'));
    await source.query(`INSERT INTO storage.buckets (id, name, public) VALUES ('media', 'media', true), ('limited', 'limited', false)`);
    const files: [string, string, Buffer, { contentType?: string; cacheControl?: string; meta?: Record<string, string> }][] = [
      ['media', 'a.txt', Buffer.from('alpha'), { contentType: 'text/plain', cacheControl: 'max-age=3600', meta: { author: 'alice' } }],
      ['media', 'dir/b.bin', randomBytes(100_000), {}],
      ['media', 'copy of a.txt', Buffer.from('alpha'), { contentType: 'text/plain' }],
      ['media', 'large.bin', randomBytes(3 * 1024 * 1024 + 17), { contentType: 'application/octet-stream' }],
      ['media', 'gone.txt', Buffer.from('will lose its bytes'), {}],
      ['limited', 'notes/doc.txt', Buffer.from('x'.repeat(2000)), { contentType: 'text/plain', cacheControl: 'private, max-age=5' }],
    ];
    for (const [b, name, body, options] of files) {
      await source.put(b, name, body, options);
      content.set(`${b}/${name}`, body);
    }
    // Limits set after the upload: the source holds a file its bucket would now refuse (415 and 413).
    await source.query(`UPDATE storage.buckets SET allowed_mime_types = '{image/png}', file_size_limit = 1000 WHERE id = 'limited'`);
    await source.query(`UPDATE storage.objects SET user_metadata = '{"n": 1, "tags": ["x"], "author": "alice"}' WHERE name = 'a.txt'`);
    await source.loseBytes('media', 'gone.txt');
    await source.query(
      `INSERT INTO storage.objects (bucket_id, name, version, metadata) VALUES ('media', 'ünïcode #1.txt', 'v1', '{"eTag": "\\"abc\\"", "size": 3}')`,
    );
  });
  afterAll(async () => {
    await source?.stop();
    await bucket?.stop();
    await supabase?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const conn = () => parseDatabaseUrl(supabase.urlFor('files_src'));
  async function backupNow(
    name: string,
    store: FileStore,
    sealing: Awaited<ReturnType<typeof fileSealing>> = null,
    retry = RETRY,
    checkpointEvery?: number,
  ): Promise<{ outcome: FilesBackupOutcome; manifest: WholeManifest; log: string[] }> {
    const snapshot = await openSnapshot(conn());
    const listDir = await mkdtemp(path.join(work, 'list-'));
    let rows;
    try {
      rows = await readObjectRows(snapshot.client, listDir);
    } finally {
      await snapshot.release();
    }
    const log = listLogger();
    const outcome = await backupFiles({
      rows,
      source: source.remote,
      store,
      sealing,
      backup: name,
      snapshotId: snapshot.id,
      createdAt: new Date(),
      work,
      log,
      retry,
      ...(checkpointEvery ? { checkpointEvery } : {}),
    }).finally(() => rm(listDir, { recursive: true, force: true }));
    // Sealed manifests are read back by the tests that hold the identity.
    const manifest = sealing ? { ...outcome.manifest, files: [], skipped: [] } : await readWholeManifest(store, name, [], work);
    expect(manifest.counts).toEqual(outcome.manifest.counts);
    return { outcome, manifest, log: log.lines };
  }

  let second: WholeManifest;
  const store = () => new FileStore(bucket.remote, BACKUP_BUCKET, 'db/');

  it('a first backup stores every readable file by its sha256 and reports the missing one and the unreadable name', async () => {
    const { manifest, log } = await backupNow('full_2026-12-01T00-00-00-000Z_aaaaaaaa.sql', store());
    expect(manifest.counts).toMatchObject({ stored: 5, reused: 0, changed: 0, missing: 1, unreadableNames: 1 });
    const byName = new Map(manifest.files.map((f) => [`${f.bucket}/${f.name}`, f]));
    for (const [key, body] of content) {
      if (key === 'media/gone.txt') continue;
      expect(byName.get(key)?.sha256, key).toBe(sha256(body));
    }
    expect(byName.get('media/a.txt')).toMatchObject({ contentType: 'text/plain', cacheControl: 'max-age=3600' });
    expect(JSON.parse(byName.get('media/a.txt')!.userMetadata!)).toEqual({ n: 1, tags: ['x'], author: 'alice' });
    expect(manifest.skipped.map((s) => [s.name, s.reason])).toEqual([
      ['gone.txt', 'missing'],
      ['ünïcode #1.txt', 'unreadable-name'],
    ]);
    expect(log.filter((l) => l.startsWith('warning:'))).toHaveLength(2);
    // Identical files are stored once: 5 files, 4 blobs.
    expect(await bucket.keys('db/storage-files/blobs/')).toHaveLength(4);
    expect(await bucket.keys('db/storage-files/manifests/')).toEqual(['db/storage-files/manifests/full_2026-12-01T00-00-00-000Z_aaaaaaaa.sql.files.json']);
  });

  it('a second backup downloads only what was added or changed; a file overwritten during the backup is reported as changed', async () => {
    await source.put('media', 'new.txt', 'brand new', { contentType: 'text/plain' });
    content.set('media/new.txt', Buffer.from('brand new'));
    const changedB = randomBytes(50_000);
    await source.put('media', 'dir/b.bin', changedB);
    content.set('media/dir/b.bin', changedB);
    await source.storage.backend.delete('media', 'copy of a.txt');
    content.delete('media/copy of a.txt');
    await source.put('media', 'racing.txt', 'version one', { contentType: 'text/plain' });
    // While this backup runs, someone overwrites racing.txt (just before the backup reads it).
    source.storage.backend.beforeFirstAccess.set('media/racing.txt', () => source.put('media', 'racing.txt', 'version two'));
    const gets = () => source.storage.server.stats.calls.get('GetObject') ?? 0;
    const before = gets();
    const { manifest } = await backupNow('full_2026-12-02T00-00-00-000Z_bbbbbbbb.sql', store());
    expect(manifest.counts).toMatchObject({ stored: 2, reused: 3, changed: 1, missing: 1, unreadableNames: 1 });
    expect(manifest.skipped.find((s) => s.reason === 'changed')).toMatchObject({ name: 'racing.txt' });
    expect(manifest.skipped.find((s) => s.reason === 'changed')!.detail).toMatch(/changed during the backup/);
    // new.txt, dir/b.bin, racing.txt and the missing gone.txt (tried, 3 times) were fetched; reused files were not.
    expect(gets() - before).toBe(3 + RETRY.attempts);
    expect(manifest.files.map((f) => `${f.name}:${f.origin}`).sort()).toEqual(
      ['a.txt:reused', 'dir/b.bin:stored', 'large.bin:reused', 'new.txt:stored', 'notes/doc.txt:reused'].sort(),
    );
    second = manifest;
  });

  it('throttling and server errors are retried with backoff: nothing is reported missing for them', async () => {
    const retryStore = new FileStore(bucket.remote, BACKUP_BUCKET, 'retry/');
    const { server } = source.storage;
    server.fail({ operation: 'GetObject', times: 1, action: { status: 429, code: 'SlowDown', message: 'Please reduce your request rate.' } });
    server.fail({ operation: 'GetObject', after: 2, times: 1, action: { status: 503, code: 'ServiceUnavailable' } });
    server.fail({ operation: 'GetObject', after: 4, times: 1, action: 'reset' });
    bucket.server.fail({ operation: 'PutObject', times: 1, action: { status: 500, code: 'InternalError' } });
    try {
      // Four tries: one file may meet all three faults.
      const { manifest } = await backupNow('full_2026-12-02T12-00-00-000Z_abababab.sql', retryStore, null, { attempts: 4, baseDelayMs: 5 });
      expect(manifest.counts).toMatchObject({ stored: second.files.length + 1, missing: 1, unreadableNames: 1 });
    } finally {
      server.clearFaults();
      bucket.server.clearFaults();
    }
  });

  it('a run that fails half-way is resumed: the next run does not fetch again what the first stored', async () => {
    const resumeStore = new FileStore(bucket.remote, BACKUP_BUCKET, 'resume/');
    const { server } = source.storage;
    const gets = () => server.stats.calls.get('GetObject') ?? 0;
    // After three answers, Storage cuts every connection: the run fails (a network that stays down is fatal).
    server.fail({ operation: 'GetObject', after: 3, action: 'reset' });
    try {
      await expect(
        backupNow('full_2026-12-02T13-00-00-000Z_acacacac.sql', resumeStore, null, { attempts: 2, baseDelayMs: 1 }, 1),
      ).rejects.toThrow();
    } finally {
      server.clearFaults();
    }
    expect(await resumeStore.indexedBackups()).toEqual([]);
    // A checkpoint part per stored file here (checkpointEvery 1), each with the lines since the one before.
    const parts = await resumeStore.checkpoints();
    expect(parts.length).toBeGreaterThan(0);
    const partBlobs = await Promise.all(parts.map((part) => indexBlobs(resumeStore, part.key)));
    expect(partBlobs.every((blobs) => blobs.length >= 1)).toBe(true);
    const resumable = new Set(partBlobs.flat()).size;
    expect(resumable).toBe(partBlobs.flat().length);
    expect(resumable).toBeGreaterThan(0);
    // Retention keeps what a checkpoint references.
    await pruneFileStore(resumeStore, 'full_2026-12-09T00-00-00-000Z_eeeeeeee.sql', listLogger(), 0);
    expect(await bucket.keys('resume/storage-files/blobs/')).toHaveLength(resumable);

    const before = gets();
    const { manifest, log } = await backupNow('full_2026-12-02T14-00-00-000Z_adadadad.sql', resumeStore);
    expect(log.some((l) => l.includes('Resuming'))).toBe(true);
    expect(manifest.counts).toMatchObject({ reused: resumable, stored: second.files.length + 1 - resumable, missing: 1 });
    // Every readable file not in the checkpoint, plus the missing one's tries.
    expect(gets() - before).toBe(second.files.length + 1 - resumable + RETRY.attempts);
    expect(await resumeStore.checkpoints()).toEqual([]);
  });

  it('restores into a fresh project: bytes by PutObject with Content-Type and Cache-Control, user_metadata by SQL, bucket limits lifted and put back', async () => {
    const target = await startProject(supabase, 'files_dst', 'target');
    const db = await connectClient(parseDatabaseUrl(supabase.urlFor('files_dst')));
    try {
      await copyStorageRows(supabase, 'files_src', 'files_dst');
      const idsBefore = await target.query<{ name: string; id: string }>('SELECT name, id::text FROM storage.objects ORDER BY name');
      const log = listLogger();
      const manifest = await store().openManifest(second.backup, [], await mkdtemp(path.join(work, 'restore-')));
      const outcome = await restoreFiles({ manifest, store: store(), identities: [], target: target.remote, db, work, log, retry: RETRY });
      expect(outcome).toMatchObject({ restored: 5, mismatches: [] });
      for (const file of second.files) {
        const answer = await target.client.send(new GetObjectCommand({ Bucket: file.bucket, Key: file.name }));
        const bytes = Buffer.from(await answer.Body!.transformToByteArray());
        expect(sha256(bytes), file.name).toBe(sha256(content.get(`${file.bucket}/${file.name}`)!));
        expect(answer.ContentType, file.name).toBe(file.contentType);
        expect(answer.CacheControl, file.name).toBe(file.cacheControl);
      }
      expect(await target.query('SELECT name, id::text FROM storage.objects ORDER BY name')).toEqual(idsBefore);
      const [a] = await target.query<{ user_metadata: unknown }>("SELECT user_metadata FROM storage.objects WHERE name = 'a.txt'");
      expect(a!.user_metadata).toEqual({ n: 1, tags: ['x'], author: 'alice' });
      const [limited] = await target.query("SELECT allowed_mime_types, file_size_limit::text FROM storage.buckets WHERE id = 'limited'");
      expect(limited).toEqual({ allowed_mime_types: ['image/png'], file_size_limit: '1000' });
      expect(log.lines.filter((l) => l.includes('is not in the backup'))).toHaveLength(3);
    } finally {
      await db.end();
      await target.stop();
    }
  });

  it('retention deletes the manifests of backups whose SQL file is gone and the blobs no kept backup references, nothing else', async () => {
    const kept = 'full_2026-12-02T00-00-00-000Z_bbbbbbbb.sql';
    const gone = 'full_2026-12-01T00-00-00-000Z_aaaaaaaa.sql';
    await bucket.remote.putBytes(BACKUP_BUCKET, `db/${kept}`, Buffer.from('-- the SQL backup'));
    const referencedByKept = new Set(await indexBlobs(store(), store().indexKey(kept)));
    const blobsBefore = await bucket.keys('db/storage-files/blobs/');
    const log = listLogger();
    const outcome = await pruneFileStore(store(), 'full_2026-12-09T00-00-00-000Z_eeeeeeee.sql', log, 0);
    expect(outcome.backups).toEqual([gone]);
    expect(await store().indexedBackups()).toEqual([kept]);
    expect(await bucket.keys('db/storage-files/manifests/')).toEqual([`db/storage-files/manifests/${kept}.files.json`]);
    const blobsAfter = await bucket.keys('db/storage-files/blobs/');
    // The first version of dir/b.bin was only in the deleted backup.
    expect(blobsBefore.length - blobsAfter.length).toBe(1);
    expect(outcome.blobs).toBe(1);
    for (const blob of referencedByKept) expect(blobsAfter).toContain(`db/storage-files/blobs/${blob}`);
    // A blob younger than the grace period is kept even when unreferenced (another run may be storing it).
    await bucket.remote.putBytes(BACKUP_BUCKET, 'db/storage-files/blobs/in-flight', Buffer.from('x'));
    expect((await pruneFileStore(store(), 'full_2026-12-09T00-00-00-000Z_eeeeeeee.sql', log)).blobs).toBe(0);
    await bucket.remote.deleteKeys(BACKUP_BUCKET, ['db/storage-files/blobs/in-flight']);
  });

  it('encrypted: blobs and manifest are age files named by row, never by content; the next run reuses them without a secret; restore with the identity', async () => {
    const key = await ageKeygen(work, 'files-key.txt');
    const sealing = await fileSealing({ kind: 'recipients', recipients: [key.recipient] }, async () => Buffer.alloc(0));
    const sealedStore = new FileStore(bucket.remote, BACKUP_BUCKET, 'sealed/');
    const first = await backupNow('full_2026-12-03T00-00-00-000Z_cccccccc.sql', sealedStore, sealing);
    expect(first.manifest.counts).toMatchObject({ stored: 6, reused: 0 });
    const blobs = await bucket.keys('sealed/storage-files/blobs/');
    const hashes = [...content.values()].map(sha256);
    expect(blobs.every((k) => k.endsWith('.age') && !hashes.some((h) => k.includes(h)))).toBe(true);
    const index = (await bucket.server.readObject(BACKUP_BUCKET, 'sealed/storage-files/indexes/full_2026-12-03T00-00-00-000Z_cccccccc.sql.index.json')).toString();
    expect(hashes.some((h) => index.includes(h))).toBe(false);
    const manifestKey = 'sealed/storage-files/manifests/full_2026-12-03T00-00-00-000Z_cccccccc.sql.files.json.age';
    expect((await bucket.server.readObject(BACKUP_BUCKET, manifestKey)).subarray(0, 21).toString()).toBe('age-encryption.org/v1');

    const again = await backupNow('full_2026-12-04T00-00-00-000Z_dddddddd.sql', sealedStore, sealing);
    expect(again.manifest.counts).toMatchObject({ stored: 0, reused: 6 });

    const { readFile } = await import('node:fs/promises');
    const identity = (await readFile(key.identityFile, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    const read = await readWholeManifest(sealedStore, 'full_2026-12-04T00-00-00-000Z_dddddddd.sql', [identity], work);
    expect(read.counts).toEqual(again.manifest.counts);
    expect(read.files).toHaveLength(6);
    const readByName = new Map(read.files.map((f) => [`${f.bucket}/${f.name}`, f.sha256]));
    for (const [key, body] of content) if (key !== 'media/gone.txt') expect(readByName.get(key), key).toBe(sha256(body));
    const manifest = await sealedStore.openManifest('full_2026-12-04T00-00-00-000Z_dddddddd.sql', [identity], await mkdtemp(path.join(work, 'restore-')));
    const target = await startProject(supabase, 'files_dst2', 'target');
    const db = await connectClient(parseDatabaseUrl(supabase.urlFor('files_dst2')));
    try {
      await copyStorageRows(supabase, 'files_src', 'files_dst2');
      const outcome = await restoreFiles({ manifest, store: sealedStore, identities: [identity], target: target.remote, db, work, log: listLogger(), retry: RETRY });
      expect(outcome).toMatchObject({ restored: 6, mismatches: [] });
    } finally {
      await db.end();
      await target.stop();
    }
  });

  it('encrypted with a passphrase: stretched once into a key (salt in the store); restore with the passphrase alone', async () => {
    const passStore = new FileStore(bucket.remote, BACKUP_BUCKET, 'pass/');
    const sealing = await fileSealing({ kind: 'passphrase', passphrase: 'correct horse battery staple' }, () => passStore.passphraseSalt(true));
    const { manifest } = await backupNow('full_2026-12-05T00-00-00-000Z_ffffffff.sql', passStore, sealing);
    expect(manifest.counts).toMatchObject({ stored: 6 });
    const again = await fileSealing({ kind: 'passphrase', passphrase: 'correct horse battery staple' }, () => passStore.passphraseSalt(true));
    expect(again!.fingerprint).toBe(sealing!.fingerprint);
    const identities = await identitiesFor(passStore, [], 'correct horse battery staple');
    const read = await readWholeManifest(passStore, manifest.backup, identities, work);
    expect(read.counts).toEqual(manifest.counts);
    expect(read.files).toHaveLength(6);
    await expect(readWholeManifest(passStore, manifest.backup, await identitiesFor(passStore, [], 'wrong passphrase'), work)).rejects.toThrow();
  });
});
