/**
 * `restore --storage-files`: the files of a backup's manifest back into a project's Storage, after the
 * SQL restore brought back their rows (docs/storage-files.md):
 *   1. each bucket's `allowed_mime_types` and `file_size_limit` are lifted, so no file the source holds
 *      is refused (415, 413), and put back exactly as they were afterwards, whatever happens;
 *   2. every file is read from the store (decrypted), checked against its sha256, and uploaded with S3
 *      PutObject to the same bucket and name with the source row's Content-Type and Cache-Control:
 *      Storage upserts onto the restored row, keeping its id, owner and created_at;
 *   3. `user_metadata` is put back by SQL (PutObject replaces it, and x-amz-meta keeps strings only);
 *   4. every file is read back from Storage and hashed: it must be the manifest's sha256.
 */
import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { AgeDecryptStream } from '../streams/agestream.js';
import { formatBytes, printable, type Logger } from '../log.js';
import { HashStream, DEFAULT_CONCURRENCY } from './backup.js';
import type { FileEntry } from './manifest.js';
import type { Remote } from './remote.js';
import type { FileStore, ManifestFile } from './store.js';
import { DEFAULT_RETRY, forEachLimited, withRetries, type RetryPolicy } from './transfer.js';

export interface FilesRestoreInput {
  /** The backup's manifest, brought to local disk (FileStore.openManifest): read an entry at a time. */
  manifest: ManifestFile;
  store: FileStore;
  /** age identities that open the blobs (from --identity, or derived from the passphrase). */
  identities: string[];
  /** Storage's S3 protocol of the target project. */
  target: Remote;
  /** A connection to the target database as `postgres` (bucket limits, user_metadata). */
  db: pg.Client;
  work: string;
  log: Logger;
  concurrency?: number;
  retry?: RetryPolicy;
  signal?: AbortSignal;
}

export interface FilesRestoreOutcome {
  restored: number;
  bytes: number;
  /** Files of the manifest the backup never held (skipped when it was made), by reason. */
  notInBackup: number;
  /** Files whose bytes, read back from the target, did not hash to the manifest's sha256. */
  mismatches: string[];
}

export class FilesRestoreError extends Error {
  override name = 'FilesRestoreError';
}

interface BucketLimits {
  id: string;
  allowed_mime_types: string[] | null;
  file_size_limit: string | null;
}

export async function restoreFiles(input: FilesRestoreInput): Promise<FilesRestoreOutcome> {
  const { manifest, log } = input;
  const buckets = await bucketsOf(manifest);
  const missingBuckets = await bucketsNotInTarget(input.db, buckets);
  if (missingBuckets.length > 0) {
    throw new FilesRestoreError(
      `the target has no bucket ${missingBuckets.map(printable).join(', ')}: restore the SQL backup ${manifest.head.backup} first (it brings the buckets and the rows back)`,
    );
  }
  const dir = await mkdtemp(path.join(input.work, 'files-restore-'));
  const limits = await liftBucketLimits(input.db, buckets);
  let restored = 0;
  let bytes = 0;
  try {
    await forEachLimited(manifest.files(), input.concurrency ?? DEFAULT_CONCURRENCY, async (file) => {
      await uploadOne(file, dir, input);
      bytes += file.size;
      if (++restored % 500 === 0) log.info(`⏳ Storage files restored: ${restored} of ${manifest.fileCount} (${formatBytes(bytes)})`);
    });
  } finally {
    await putBackBucketLimits(input.db, limits);
    await rm(dir, { recursive: true, force: true });
  }
  for await (const skipped of manifest.skipped()) {
    log.warning(`Storage file ${printable(skipped.bucket)}/${printable(skipped.name)} is not in the backup (${skipped.reason}): its row is restored without bytes`);
  }
  log.info(`✅ ${restored} Storage files uploaded (${formatBytes(bytes)}); bucket limits put back as they were`);
  await putBackUserMetadata(input.db, manifest.files());
  const mismatches = await checkRestoredFiles(input);
  if (mismatches.length > 0) {
    throw new FilesRestoreError(`${mismatches.length} restored file(s) do not hash to the manifest's sha256: ${mismatches.slice(0, 10).join(', ')}`);
  }
  log.info(`🔍 Every restored file read back from Storage hashes to the manifest's sha256 (${restored} files)`);
  return { restored, bytes, notInBackup: manifest.skippedCount, mismatches };
}

/** The buckets the files are in (a project has a handful). */
async function bucketsOf(manifest: ManifestFile): Promise<string[]> {
  const buckets = new Set<string>();
  for await (const file of manifest.files()) buckets.add(file.bucket);
  return [...buckets];
}

async function bucketsNotInTarget(db: pg.Client, buckets: string[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM storage.buckets WHERE id = ANY($1::text[])', [buckets]);
  const present = new Set(rows.map((r) => r.id));
  return buckets.filter((b) => !present.has(b));
}

/** Reads the limits of the buckets, then clears them: a file the source holds must not be refused (415/413). */
async function liftBucketLimits(db: pg.Client, buckets: string[]): Promise<BucketLimits[]> {
  const { rows } = await db.query<BucketLimits>(
    `SELECT id, allowed_mime_types, file_size_limit::text AS file_size_limit FROM storage.buckets
      WHERE id = ANY($1::text[]) AND (allowed_mime_types IS NOT NULL OR file_size_limit IS NOT NULL)`,
    [buckets],
  );
  if (rows.length > 0) {
    await db.query('UPDATE storage.buckets SET allowed_mime_types = NULL, file_size_limit = NULL WHERE id = ANY($1::text[])', [
      rows.map((r) => r.id),
    ]);
  }
  return rows;
}

async function putBackBucketLimits(db: pg.Client, limits: BucketLimits[]): Promise<void> {
  for (const bucket of limits) {
    await db.query('UPDATE storage.buckets SET allowed_mime_types = $2::text[], file_size_limit = $3::bigint WHERE id = $1', [
      bucket.id,
      bucket.allowed_mime_types,
      bucket.file_size_limit,
    ]);
  }
}

/** Blob → plain temporary file (checked against the sha256) → PutObject, retried on throttling and server errors. */
async function uploadOne(file: FileEntry, dir: string, input: FilesRestoreInput): Promise<void> {
  const temp = path.join(dir, `${file.blob}-${Math.random().toString(36).slice(2)}`);
  const retry = input.retry ?? DEFAULT_RETRY;
  try {
    await withRetries(() => fetchBlob(file, temp, input), retry, input.signal);
    await withRetries(
      () =>
        input.target.putFile(
          file.bucket,
          file.name,
          temp,
          file.size,
          { contentType: file.contentType ?? undefined, cacheControl: file.cacheControl ?? undefined },
          input.signal,
        ),
      retry,
      input.signal,
    );
  } finally {
    await rm(temp, { force: true });
  }
}

async function fetchBlob(file: FileEntry, temp: string, input: FilesRestoreInput): Promise<void> {
  const answer = await input.store.remote.get(input.store.bucket, input.store.blobKey(file.blob), input.signal);
  const hash = new HashStream();
  const sealed = file.blob.endsWith('.age');
  const decrypt = sealed ? new AgeDecryptStream({ identities: input.identities }) : undefined;
  if (sealed && input.identities.length === 0) throw new FilesRestoreError('the files are encrypted: give the age identity or the passphrase');
  await Promise.all([
    decrypt?.ready,
    pipeline([answer.body, ...(decrypt ? [decrypt] : []), hash, createWriteStream(temp, { mode: 0o600 })], { signal: input.signal }),
  ]);
  const sha256 = hash.digest();
  if (sha256 !== file.sha256) {
    throw new FilesRestoreError(`${file.bucket}/${file.name}: the stored blob hashes to ${sha256}, the manifest says ${file.sha256}`);
  }
}

/** user_metadata exactly as the source row had it (PutObject replaced it with what x-amz-meta could carry), 1 000 rows a statement. */
async function putBackUserMetadata(db: pg.Client, files: AsyncIterable<FileEntry>): Promise<void> {
  let batch: FileEntry[] = [];
  const write = async (): Promise<void> => {
    await db.query(
      `UPDATE storage.objects o SET user_metadata = u.meta::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[]) AS u(bucket, name, meta)
        WHERE o.bucket_id = u.bucket AND o.name = u.name`,
      [batch.map((f) => f.bucket), batch.map((f) => f.name), batch.map((f) => f.userMetadata)],
    );
    batch = [];
  };
  for await (const file of files) {
    batch.push(file);
    if (batch.length >= 1000) await write();
  }
  if (batch.length > 0) await write();
}

/** Every restored file read back through Storage and hashed; returns the ones that differ. */
async function checkRestoredFiles(input: FilesRestoreInput): Promise<string[]> {
  const mismatches: string[] = [];
  await forEachLimited(input.manifest.files(), input.concurrency ?? DEFAULT_CONCURRENCY, async (file) => {
    const sha256 = await withRetries(
      async () => {
        const answer = await input.target.get(file.bucket, file.name, input.signal);
        const hash = new HashStream();
        await pipeline(answer.body, hash, new Writable({ write: (_chunk, _encoding, done) => done() }), { signal: input.signal });
        return hash.digest();
      },
      input.retry ?? DEFAULT_RETRY,
      input.signal,
    );
    if (sha256 !== file.sha256) mismatches.push(`${printable(file.bucket)}/${printable(file.name)}`);
  });
  return mismatches;
}
