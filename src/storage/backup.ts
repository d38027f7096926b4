/**
 * The Storage files of one backup: every file row of the snapshot, fetched through Storage's S3 protocol
 * (a few at a time, each streamed to a temporary file while its sha256 is computed), checked against the
 * row (the ETag the GET returns against `metadata->>'eTag'`), and stored in the file store unless an
 * earlier backup already holds that row version. Rows whose bytes cannot be had are reported one by one:
 * changed during the backup, missing, or a name Storage's API cannot read. None of them fails the run.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatBytes, printable, type Logger } from '../log.js';
import { JsonLinesFile } from './jsonfiles.js';
import { FileTally, indexEntryOf, rowKey, MANIFEST_FORMAT, type FileCounts, type FileEntry, type IndexHead, type ManifestHead, type SkippedFile } from './manifest.js';
import { isReadableBucket, isReadableName } from './names.js';
import { objectRows, type ObjectList, type StorageObjectRow } from './objects.js';
import { PreviousIndex } from './previous.js';
import type { Remote } from './remote.js';
import { encryptFile, type FileSealing } from './sealing.js';
import type { FileStore, ManifestLists } from './store.js';
import { DEFAULT_RETRY, forEachLimited, isRetryable, statusOf, withRetries, type RetryPolicy } from './transfer.js';

/** Files in flight at once: each holds a socket and a stream buffer, never a whole file. */
export const DEFAULT_CONCURRENCY = 4;
/** A checkpoint of what is stored is written after this many stored files (a rerun after a failure resumes there). */
export const CHECKPOINT_EVERY = 500;

/** Skipped rows a summary lists (the counts have them all; the manifest lists every one). */
const SKIPPED_LISTED = 100;

export interface FilesBackupInput {
  /** The snapshot's file list (read back one row at a time). */
  rows: ObjectList;
  /** Storage's S3 protocol of the project. */
  source: Remote;
  store: FileStore;
  sealing: FileSealing | null;
  /** The SQL backup file these files go with. */
  backup: string;
  snapshotId: string;
  createdAt: Date;
  /** A private temporary directory. */
  work: string;
  log: Logger;
  concurrency?: number;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  /** Stored files between checkpoints (default CHECKPOINT_EVERY). */
  checkpointEvery?: number;
}

/** Why a row's bytes are not in the backup: thrown inside one file's transfer, turned into a SkippedFile. */
class Skip extends Error {
  constructor(
    readonly reason: SkippedFile['reason'],
    detail: string,
  ) {
    super(detail);
  }
}

export interface FilesBackupOutcome {
  /** The stored manifest's head: the backup, the sealing, the counts. */
  manifest: ManifestHead;
  /** The first skipped rows (SKIPPED_LISTED); the manifest lists every one. */
  skipped: SkippedFile[];
}

/**
 * Every row of the file list, a few at a time; each file's manifest entry, index line or skipped row is
 * appended to a JSON-lines file in a private directory as it is done (in that order, not the list's),
 * and the manifest and index are composed from those files at the end: memory holds the files in
 * flight and one compact record a file of the previous index (previous.ts), whatever the count.
 */
export async function backupFiles(input: FilesBackupInput): Promise<FilesBackupOutcome> {
  const checkpointKeys = (await input.store.checkpoints()).map((c) => c.key);
  const dir = await mkdtemp(path.join(input.work, 'files-'));
  const previous = new PreviousIndex(input.sealing !== null);
  const opened: JsonLinesFile[] = [];
  const create = async (name: string): Promise<JsonLinesFile> => {
    const file = await JsonLinesFile.create(path.join(dir, name));
    opened.push(file);
    return file;
  };
  try {
    await readPreviousIndexes(input, checkpointKeys, previous, create);
    const lists: ManifestLists = { files: await create('files.jsonl'), skipped: await create('skipped.jsonl'), index: await create('index.jsonl') };
    const tally = new FileTally();
    const skipped: SkippedFile[] = [];
    const storing = new Map<string, Promise<void>>();
    const every = input.checkpointEvery ?? CHECKPOINT_EVERY;
    let done = 0;
    let storedSinceCheckpoint = 0;
    let checkpointed = { part: 0, bytes: 0 };
    let checkpoint = Promise.resolve();
    await forEachLimited(objectRows(input.rows), input.concurrency ?? DEFAULT_CONCURRENCY, async (row) => {
      try {
        const entry = await backupOne(row, previous, storing, dir, input);
        await lists.files.append(entry);
        await lists.index.append(indexEntryOf(entry, input.sealing !== null));
        tally.file(entry);
        if (entry.origin === 'stored' && ++storedSinceCheckpoint >= every) {
          storedSinceCheckpoint = 0;
          checkpoint = checkpoint.then(async () => {
            const part = checkpointed.part + 1;
            checkpointed = { part, bytes: await input.store.writeCheckpoint(indexHeadOf(input), lists.index, checkpointed.bytes, part, dir) };
          });
          await checkpoint;
        }
      } catch (error) {
        if (!(error instanceof Skip)) throw error;
        const skip: SkippedFile = { bucket: row.bucket, name: row.name, id: row.id, version: row.version, reason: error.reason, detail: error.message };
        await lists.skipped.append(skip);
        tally.skip(skip);
        if (skipped.length < SKIPPED_LISTED) skipped.push(skip);
        input.log.warning(`Storage file ${printable(row.bucket)}/${printable(row.name)}: ${error.message}`);
      }
      if (++done % 1000 === 0) input.log.info(`⏳ Storage files: ${done} of ${input.rows.count}`);
    });
    await checkpoint;
    const manifest = manifestHeadOf(input, tally.counts);
    await input.store.writeManifest(manifest, lists, input.sealing, dir);
    // What this run reused from the checkpoints of interrupted runs is in its own index now.
    await input.store.remote.deleteKeys(input.store.bucket, checkpointKeys);
    return { manifest, skipped };
  } finally {
    await previous.close();
    await Promise.all(opened.map((file) => file.close().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  }
}

function indexHeadOf(input: FilesBackupInput): IndexHead {
  return {
    format: MANIFEST_FORMAT,
    backup: input.backup,
    createdAt: input.createdAt.toISOString(),
    blobNaming: input.sealing ? 'row' : 'sha256',
    encryption: input.sealing?.fingerprint ?? null,
  };
}

function manifestHeadOf(input: FilesBackupInput, counts: FileCounts): ManifestHead {
  const { format, backup, createdAt, blobNaming, encryption } = indexHeadOf(input);
  return { format, backup, snapshot: input.snapshotId, createdAt, blobNaming, encryption, counts };
}

/**
 * The last backup's index and the checkpoints of runs that failed since, when their blobs were sealed
 * the way this run seals them (else those files are fetched again): each read from the bucket into a
 * local JSON-lines file, then taken into `previous`.
 */
async function readPreviousIndexes(
  input: FilesBackupInput,
  checkpointKeys: string[],
  previous: PreviousIndex,
  create: (name: string) => Promise<JsonLinesFile>,
): Promise<void> {
  const fingerprint = input.sealing?.fingerprint ?? null;
  const latest = (await input.store.indexedBackups()).at(-1);
  const keys = [...(latest ? [input.store.indexKey(latest)] : []), ...checkpointKeys];
  let resumed = 0;
  for (const [n, key] of keys.entries()) {
    const entries = await create(`previous-${n}.jsonl`);
    const head = await input.store.readIndexEntries(key, (entry) => entries.append(entry));
    if (head.encryption === fingerprint) {
      await previous.add(entries);
      if (n > 0 || !latest) resumed += entries.count;
    } else if (n === 0 && latest) {
      input.log.info('🗂️ The previous file backup was sealed with another key (or none): every file is stored again');
    }
  }
  if (resumed > 0) input.log.info(`🗂️ Resuming: ${resumed} file(s) stored by a run that did not finish are not fetched again`);
}

function entryOf(row: StorageObjectRow, size: number, sha256: string, blob: string, origin: FileEntry['origin']): FileEntry {
  return {
    bucket: row.bucket,
    name: row.name,
    id: row.id,
    version: row.version,
    size,
    sha256,
    eTag: row.eTag,
    contentType: row.contentType,
    cacheControl: row.cacheControl,
    userMetadata: row.userMetadata,
    blob,
    origin,
  };
}

async function backupOne(
  row: StorageObjectRow,
  previous: PreviousIndex,
  storing: Map<string, Promise<void>>,
  dir: string,
  input: FilesBackupInput,
): Promise<FileEntry> {
  if (!isReadableBucket(row.bucket) || !isReadableName(row.name)) {
    throw new Skip('unreadable-name', "its name holds characters Storage's API cannot read or write (unicode, %, #, ~, [], quotes, backslash)");
  }
  const reused = await previous.find(row);
  if (reused) return entryOf(row, reused.size, reused.sha256, reused.blob, 'reused');

  const temp = path.join(dir, rowKey(row));
  try {
    const fetched = await download(row, temp, input);
    const blob = input.sealing ? `${rowKey(row)}.age` : fetched.sha256;
    // The same content in two files in flight at once is uploaded once (later ones find it by HEAD).
    let stored = storing.get(blob);
    if (!stored) {
      stored = storeBlob(temp, blob, input).finally(() => storing.delete(blob));
      storing.set(blob, stored);
    }
    await stored;
    return entryOf(row, fetched.size, fetched.sha256, blob, 'stored');
  } finally {
    await rm(temp, { force: true });
    await rm(`${temp}.age`, { force: true });
  }
}

/** Quotes and case do not matter in an ETag comparison; a weak prefix neither. */
function sameETag(a: string | undefined | null, b: string | undefined | null): boolean {
  const norm = (tag: string): string => tag.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
  return typeof a === 'string' && typeof b === 'string' && norm(a) === norm(b);
}

/** GET into `file` with its sha256, retried on throttling and server errors; Skip when the row's bytes cannot be had. */
async function download(row: StorageObjectRow, file: string, input: FilesBackupInput): Promise<{ size: number; sha256: string }> {
  try {
    return await withRetries(
      async () => {
        const answer = await input.source.get(row.bucket, row.name, input.signal);
        if (row.eTag && !sameETag(answer.eTag, row.eTag)) {
          answer.body.destroy();
          throw new Skip(
            'changed',
            `changed during the backup (ETag ${answer.eTag ?? 'none'}, the snapshot's row has ${row.eTag}): ` +
              'Storage keeps no old versions, so the bytes of the snapshot are gone; the next backup stores the new ones',
          );
        }
        const hash = new HashStream();
        await pipeline(answer.body, hash, createWriteStream(file, { mode: 0o600 }), { signal: input.signal });
        if (row.size !== null && hash.size !== row.size) {
          throw new Skip('changed', `changed during the backup (${hash.size} bytes read, the snapshot's row says ${row.size})`);
        }
        return { size: hash.size, sha256: hash.digest() };
      },
      input.retry ?? DEFAULT_RETRY,
      input.signal,
      (error) => !(error instanceof Skip) && isRetryable(error),
    );
  } catch (error) {
    if (error instanceof Skip) throw error;
    input.signal?.throwIfAborted();
    const status = statusOf(error);
    if (status === 400) throw new Skip('unreadable-name', `Storage refused its name (HTTP 400: ${(error as Error).name})`);
    if (status !== undefined && (status === 404 || status >= 500 || status === 403)) {
      throw new Skip('missing', `its bytes could not be read (HTTP ${status} after retries): the row has no file behind it`);
    }
    throw error;
  }
}

/** Uploads a downloaded file to the store (encrypted first when the backup is), unless the blob is there already. */
async function storeBlob(file: string, blob: string, input: FilesBackupInput): Promise<void> {
  const key = input.store.blobKey(blob);
  if (await input.store.remote.exists(input.store.bucket, key)) return;
  let upload = file;
  if (input.sealing) {
    upload = `${file}.age`;
    await encryptFile(file, upload, input.sealing);
  }
  const { size } = await stat(upload);
  await withRetries(
    () => input.store.remote.putFile(input.store.bucket, key, upload, size, {}, input.signal),
    input.retry ?? DEFAULT_RETRY,
    input.signal,
  );
}

/** Passes bytes through while counting them and computing their sha256. */
export class HashStream extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** One log line of a manifest's counts. */
export function describeCounts(c: FileCounts): string {
  return (
    `${c.stored + c.reused} files (${formatBytes(c.bytes)}): ${c.stored} stored (${formatBytes(c.storedBytes)}), ` +
    `${c.reused} reused from earlier backups, ${c.changed} changed during the backup, ${c.missing} missing, ` +
    `${c.unreadableNames} unreadable names`
  );
}
