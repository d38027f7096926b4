/**
 * The S3 operations the backup tools need, generic over what the objects are: a bucket check before
 * any work starts, listing a prefix, uploading a file (multipart, bounded memory, nothing left pending
 * when it fails or is cancelled), small objects, reading an object as a stream, deleting keys.
 * Every failure is an S3Error naming what to check (errors.ts).
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { streamingClient, type StreamingClient } from './client.js';
import { BUFFERS_PER_BODY, ChunkPool, FileRangeBody, type ByteRange } from './filebody.js';
import { explainS3Error, isTransientS3Error, S3Error, type S3ErrorContext } from './errors.js';

export interface ObjectSummary {
  key: string;
  size: number;
  lastModified: Date;
  etag: string;
}

export interface StoredObject {
  key: string;
  etag: string;
  versionId?: string;
}

/** Where calls go and how failures are worded. */
export interface S3Target {
  client: S3Client;
  bucket: string;
  /** describeEndpoint(settings), for messages. */
  endpoint: string;
}

const MiB = 1024 * 1024;
/** S3 allows 10,000 parts; the part size leaves room so any file up to ~5 TB fits. */
const MAX_PARTS = 9_000;
const MIN_PART_SIZE = 8 * MiB;
/** Parts sent at once (from a file each is streamed, so memory does not grow with the part size). */
export const UPLOAD_QUEUE = 4;

function context(target: S3Target, action: string): S3ErrorContext {
  return { action, bucket: target.bucket, endpoint: target.endpoint };
}

async function call<T>(target: S3Target, action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw explainS3Error(error, context(target, action));
  }
}

/**
 * Before any work: the bucket exists and the credentials can read it (HeadBucket), and can list the
 * prefix (needed for retention and `list`). Writes nothing.
 */
export async function checkBucket(target: S3Target, prefix: string): Promise<void> {
  const list = (): Promise<unknown> => target.client.send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: prefix, MaxKeys: 1 }));
  try {
    await target.client.send(new HeadBucketCommand({ Bucket: target.bucket }));
  } catch (error) {
    // A HEAD answer has no body, so no error code: a GET of the same bucket says which (wrong key id,
    // wrong secret, no such bucket).
    const detail = await list().then(
      () => error,
      (listError: unknown) => listError,
    );
    throw explainS3Error(detail, context(target, 'checking the bucket'));
  }
  await call(target, `listing '${prefix || '/'}'`, list);
}

/** Every object under `prefix` (all pages), in key order. */
export async function listObjects(target: S3Target, prefix: string, delimiter?: string): Promise<ObjectSummary[]> {
  const objects: ObjectSummary[] = [];
  let token: string | undefined;
  do {
    const page = await call(target, `listing '${prefix || '/'}'`, () =>
      target.client.send(
        new ListObjectsV2Command({ Bucket: target.bucket, Prefix: prefix, ...(delimiter ? { Delimiter: delimiter } : {}), ...(token ? { ContinuationToken: token } : {}) }),
      ),
    );
    for (const item of page.Contents ?? []) {
      if (item.Key === undefined) continue;
      objects.push({ key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0), etag: item.ETag ?? '' });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** The part size for a file of `bytes`: at least 8 MiB, larger so the file needs at most 9,000 parts. */
export function partSizeFor(bytes: number): number {
  return Math.max(MIN_PART_SIZE, Math.ceil(bytes / MAX_PARTS / MiB) * MiB);
}

export interface UploadOptions {
  key: string;
  /** What to upload: a file, or a stream of exactly `bytes` bytes. */
  file?: string;
  body?: Readable;
  bytes: number;
  contentType?: string;
  metadata?: Record<string, string>;
  /** Cancels the upload; the multipart upload is aborted before the promise settles. */
  signal?: AbortSignal;
  partSize?: number;
  queueSize?: number;
  /** Called as parts complete, with the bytes stored so far. */
  onProgress?: (loaded: number) => void;
}

/**
 * Uploads a complete file (or a stream of known length): one PutObject when it fits a part, else a
 * multipart upload of parts in parallel, each retried on transient errors. On failure or cancellation
 * the multipart upload is aborted (and a sweep of the key's pending uploads catches what that could
 * not), so no object and no pending upload remains.
 */
export async function uploadFile(target: S3Target, options: UploadOptions): Promise<StoredObject> {
  if (options.body) return uploadStream(target, options, options.body);
  return uploadFromDisk(target, options, requireFile(options.file));
}

interface FileUpload {
  target: S3Target;
  /** Sends the requests whose body is read from the file. */
  sender: StreamingClient;
  file: string;
  partSize: number;
  /** The read buffers of the request bodies, used again from part to part. */
  chunks: ChunkPool;
  options: UploadOptions;
}

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 20_000;

/**
 * A file is read from disk for each part (again for each retry), so memory does not grow with the part
 * size or the file: a stream body is sent as it is read, signed as UNSIGNED-PAYLOAD (the SDK hashes
 * only strings and buffers). lib-storage would hold every part in memory.
 */
async function uploadFromDisk(target: S3Target, options: UploadOptions, file: string): Promise<StoredObject> {
  const sender = await streamingClient(target.client);
  try {
    options.signal?.throwIfAborted();
    const chunks = new ChunkPool((options.queueSize ?? UPLOAD_QUEUE) * BUFFERS_PER_BODY);
    const upload: FileUpload = { target, sender, file, partSize: options.partSize ?? partSizeFor(options.bytes), chunks, options };
    return options.bytes <= upload.partSize ? await putWholeFile(upload) : await uploadParts(upload);
  } catch (error) {
    await abortPendingUploads(target, options.key).catch(() => undefined);
    if (options.signal?.aborted) throw cancelled(options.signal);
    throw explainS3Error(error, context(target, `uploading '${options.key}'`));
  } finally {
    sender.close();
  }
}

function objectParams(upload: FileUpload): { Bucket: string; Key: string; ContentType: string; Metadata?: Record<string, string> } {
  const { options } = upload;
  return {
    Bucket: upload.target.bucket,
    Key: options.key,
    ContentType: options.contentType ?? 'application/octet-stream',
    ...(options.metadata ? { Metadata: options.metadata } : {}),
  };
}

function storedObject(key: string, result: { ETag?: string; VersionId?: string }): StoredObject {
  return { key, etag: result.ETag ?? '', ...(result.VersionId ? { versionId: result.VersionId } : {}) };
}

async function putWholeFile(upload: FileUpload): Promise<StoredObject> {
  const { options } = upload;
  const result = await sendFromFile(upload, { start: 0, end: options.bytes - 1 }, options.signal, (body, signal) =>
    upload.sender.client.send(new PutObjectCommand({ ...objectParams(upload), Body: body, ContentLength: options.bytes }), { abortSignal: signal }),
  );
  options.onProgress?.(options.bytes);
  return storedObject(options.key, result);
}

async function uploadParts(upload: FileUpload): Promise<StoredObject> {
  const { target, options } = upload;
  const signal = options.signal;
  const created = await target.client.send(new CreateMultipartUploadCommand(objectParams(upload)), signal ? { abortSignal: signal } : {});
  const uploadId = created.UploadId;
  if (!uploadId) throw new S3Error(`S3: uploading '${options.key}' failed: CreateMultipartUpload gave no upload id`, 'NoUploadId');
  const id = { Bucket: target.bucket, Key: options.key, UploadId: uploadId };
  try {
    const parts = await sendParts(upload, uploadId);
    const result = await target.client.send(new CompleteMultipartUploadCommand({ ...id, MultipartUpload: { Parts: parts } }));
    return storedObject(options.key, result);
  } catch (error) {
    await target.client.send(new AbortMultipartUploadCommand(id)).catch(() => undefined);
    throw error;
  }
}

function partRange(index: number, partSize: number, bytes: number): ByteRange {
  const start = index * partSize;
  return { start, end: Math.min(start + partSize, bytes) - 1 };
}

/**
 * Every part, `queueSize` at a time, in order of their numbers. The first part that fails for good
 * stops the others (those in flight are cut off) and is the error; all have settled when it is thrown,
 * so an abort of the upload comes after the last part request.
 */
async function sendParts(upload: FileUpload, uploadId: string): Promise<CompletedPart[]> {
  const { options } = upload;
  const count = Math.ceil(options.bytes / upload.partSize);
  const parts: CompletedPart[] = [];
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let next = 0;
  let loaded = 0;
  const failures: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < count && !signal.aborted) {
      const index = next++;
      const range = partRange(index, upload.partSize, options.bytes);
      try {
        parts[index] = { PartNumber: index + 1, ETag: await sendPart(upload, uploadId, index + 1, range, signal) };
      } catch (error) {
        failures.push(error);
        stop.abort();
        return;
      }
      loaded += range.end - range.start + 1;
      options.onProgress?.(loaded);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.queueSize ?? UPLOAD_QUEUE, count) }, () => worker()));
  if (failures.length > 0) throw failures[0];
  options.signal?.throwIfAborted();
  return parts;
}

async function sendPart(upload: FileUpload, uploadId: string, partNumber: number, range: ByteRange, signal: AbortSignal): Promise<string> {
  const { target, options } = upload;
  const result = await sendFromFile(upload, range, signal, (body, attemptSignal) =>
    upload.sender.client.send(
      new UploadPartCommand({ Bucket: target.bucket, Key: options.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: range.end - range.start + 1 }),
      { abortSignal: attemptSignal },
    ),
  );
  if (!result.ETag) throw new S3Error(`S3: uploading '${options.key}' failed: part ${partNumber} was stored without an ETag`, 'NoETag');
  return result.ETag;
}

/**
 * Sends a request whose body is `range` of the file (FileRangeBody): a fresh stream for each attempt,
 * transient failures tried again after a backoff, up to the client's attempts. `send` gets `signal`
 * joined with one that fires when the file cannot be read.
 */
async function sendFromFile<T>(
  upload: FileUpload,
  range: ByteRange,
  signal: AbortSignal | undefined,
  send: (body: Readable, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const body = new FileRangeBody(upload.file, range, upload.chunks);
    // The SDK pipes the body, and a pipe does not pass a read error on: the request would wait for
    // bytes until it times out.
    const unreadable = new AbortController();
    body.once('error', (error) => unreadable.abort(error));
    try {
      return await send(body, signal ? AbortSignal.any([signal, unreadable.signal]) : unreadable.signal);
    } catch (error) {
      if (unreadable.signal.aborted) throw unreadable.signal.reason;
      if (signal?.aborted || attempt >= upload.sender.attempts || !isTransientS3Error(error)) throw error;
    } finally {
      // A failed request leaves its stream paused, holding the file open.
      body.destroy();
    }
    await sleep(backoff(attempt), undefined, signal ? { signal } : {});
  }
}

/** Full jitter, as the SDK's standard retry: a random wait up to 100 ms × 2^attempt, at most 20 s. */
function backoff(attempt: number): number {
  return Math.random() * Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);
}

/**
 * A stream that cannot be read again: lib-storage, which gathers each part in memory (so it can send
 * it again) and aborts the upload itself when it fails.
 */
async function uploadStream(target: S3Target, options: UploadOptions, body: Readable): Promise<StoredObject> {
  const { Upload } = await import('@aws-sdk/lib-storage');
  const upload = new Upload({
    client: target.client,
    params: {
      Bucket: target.bucket,
      Key: options.key,
      Body: body,
      ContentLength: options.bytes,
      ContentType: options.contentType ?? 'application/octet-stream',
      ...(options.metadata ? { Metadata: options.metadata } : {}),
    },
    partSize: options.partSize ?? partSizeFor(options.bytes),
    queueSize: options.queueSize ?? UPLOAD_QUEUE,
    leavePartsOnError: false,
  });
  if (options.onProgress) {
    const report = options.onProgress;
    upload.on('httpUploadProgress', (progress) => report(progress.loaded ?? 0));
  }
  // Cancelling ends the body, so lib-storage stops, waits for the parts in flight and aborts the
  // upload itself (its own abort() would return before the AbortMultipartUpload is sent).
  const cancel = (): void => {
    body.destroy(cancelled(options.signal));
  };
  options.signal?.addEventListener('abort', cancel, { once: true });
  try {
    options.signal?.throwIfAborted();
    return storedObject(options.key, await upload.done());
  } catch (error) {
    body.destroy();
    await abortPendingUploads(target, options.key).catch(() => undefined);
    if (options.signal?.aborted) throw cancelled(options.signal);
    throw explainS3Error(error, context(target, `uploading '${options.key}'`));
  } finally {
    options.signal?.removeEventListener('abort', cancel);
  }
}

function requireFile(file: string | undefined): string {
  if (file === undefined) throw new Error('uploadFile needs a file or a body');
  return file;
}

function cancelled(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('cancelled');
}

/** Aborts every pending multipart upload of exactly `key` (a last line after a failed upload). */
export async function abortPendingUploads(target: S3Target, key: string): Promise<number> {
  const listed = await target.client.send(new ListMultipartUploadsCommand({ Bucket: target.bucket, Prefix: key }));
  let aborted = 0;
  for (const pending of listed.Uploads ?? []) {
    if (pending.Key !== key || !pending.UploadId) continue;
    await target.client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: pending.UploadId }));
    aborted++;
  }
  return aborted;
}

/** Stores a small object (a manifest, a signature) in one PutObject. */
export async function putSmallObject(target: S3Target, key: string, body: Buffer | string, contentType: string): Promise<StoredObject> {
  const result = await call(target, `uploading '${key}'`, () =>
    target.client.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body, ContentType: contentType })),
  );
  return { key, etag: result.ETag ?? '', ...(result.VersionId ? { versionId: result.VersionId } : {}) };
}

/** An object's bytes as a stream (errors while streaming are the stream's). */
export async function readObject(target: S3Target, key: string, signal?: AbortSignal): Promise<{ stream: Readable; bytes: number }> {
  const result = await call(target, `reading '${key}'`, () =>
    target.client.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }), signal ? { abortSignal: signal } : {}),
  );
  if (!(result.Body instanceof Readable)) throw new S3Error(`S3: reading '${key}' gave no stream`, 'NoBody');
  return { stream: result.Body, bytes: result.ContentLength ?? 0 };
}

/** A small object's bytes (a manifest). */
export async function readSmallObject(target: S3Target, key: string): Promise<Buffer> {
  const { stream } = await readObject(target, key);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Deletes keys, 1000 per request; a key S3 could not delete is an error naming it. */
export async function deleteObjects(target: S3Target, keys: readonly string[]): Promise<void> {
  for (let at = 0; at < keys.length; at += 1000) {
    const batch = keys.slice(at, at + 1000);
    const result = await call(target, `deleting ${batch.length} object(s)`, () =>
      target.client.send(new DeleteObjectsCommand({ Bucket: target.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
    );
    const failed = result.Errors?.[0];
    if (failed) throw new S3Error(`S3: deleting '${failed.Key}' failed: ${failed.Code ?? ''} ${failed.Message ?? ''}`.trim(), failed.Code ?? 'DeleteFailed');
  }
}
