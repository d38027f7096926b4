/**
 * The S3 operations the backup tools need, generic over what the objects are: a bucket check before
 * any work starts, listing a prefix, uploading a file (multipart, bounded memory, nothing left pending
 * when it fails or is cancelled), small objects, reading an object as a stream, deleting keys.
 * Every failure is an S3Error naming what to check (errors.ts).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { explainS3Error, S3Error, type S3ErrorContext } from './errors.js';

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
/** Parts sent at once. Memory is about (queue + 1) × part size. */
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
 * Uploads a complete file (or a stream of known length): one PutObject when it fits a part, else a multipart upload of parts in
 * parallel, each retried by the client. On failure or cancellation the multipart upload is aborted
 * (lib-storage does it; a sweep of the key's pending uploads catches what it could not), so no
 * object and no pending upload remains.
 */
export async function uploadFile(target: S3Target, options: UploadOptions): Promise<StoredObject> {
  const partSize = options.partSize ?? partSizeFor(options.bytes);
  const body = options.body ?? createReadStream(requireFile(options.file), { highWaterMark: MiB });
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
    partSize,
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
    const result = await upload.done();
    return { key: options.key, etag: result.ETag ?? '', ...(result.VersionId ? { versionId: result.VersionId } : {}) };
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
