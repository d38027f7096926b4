/**
 * Where the S3 stand-in keeps buckets and objects. The server speaks the protocol (authentication,
 * bodies, multipart, listing, errors) and hands finished objects to an `ObjectBackend`; the default
 * keeps them on disk. Another backend (e.g. rows in Supabase Storage's `storage.objects`) implements
 * the same interface and is passed to `startS3Server({ backend })`.
 *
 * An object reaches a backend as a complete file in the server's staging directory, its hashes already
 * checked, so a backend never sees a half-received body: `put` takes ownership of that file.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  /** Quoted, as S3 sends it: `"<md5>"` or `"<md5 of part md5s>-N"`. */
  etag: string;
  lastModified: Date;
  contentType: string;
  /** x-amz-meta-* headers, names lower-cased, without the prefix. */
  metadata: Record<string, string>;
  /** The Cache-Control header of the upload, when it had one. */
  cacheControl?: string;
}

export interface ObjectBackend {
  createBucket(bucket: string): Promise<void>;
  bucketExists(bucket: string): Promise<boolean>;
  /** Deletes an empty bucket; returns false when it still holds objects. */
  deleteBucket(bucket: string): Promise<boolean>;
  listBuckets(): Promise<string[]>;
  /** Stores the staged file (now the backend's) as `info.key`, replacing any object of that key. */
  put(bucket: string, stagedFile: string, info: ObjectInfo): Promise<void>;
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** The bytes `start`..`end` inclusive. */
  read(bucket: string, key: string, start: number, end: number): Readable;
  /** Called by GET before the answer starts: throwing an S3Fault here answers with its status (e.g. bytes gone). */
  checkReadable?(bucket: string, key: string): Promise<void>;
  /** Returns false when there was no such object. */
  delete(bucket: string, key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, in ascending key order (UTF-8 byte order, as S3). */
  list(bucket: string, prefix: string): Promise<ObjectInfo[]>;
  /** Removes everything the backend stored. */
  close(): Promise<void>;
}

/** Objects as files under `root` (named by a hash of bucket and key), their descriptions in memory. */
export class DiskBackend implements ObjectBackend {
  private readonly buckets = new Map<string, Map<string, ObjectInfo>>();

  constructor(private readonly root: string) {}

  async createBucket(bucket: string): Promise<void> {
    await mkdir(this.root, { recursive: true });
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
  }

  async bucketExists(bucket: string): Promise<boolean> {
    return this.buckets.has(bucket);
  }

  async deleteBucket(bucket: string): Promise<boolean> {
    const objects = this.buckets.get(bucket);
    if (objects && objects.size > 0) return false;
    this.buckets.delete(bucket);
    return true;
  }

  async listBuckets(): Promise<string[]> {
    return [...this.buckets.keys()].sort();
  }

  async put(bucket: string, stagedFile: string, info: ObjectInfo): Promise<void> {
    await rename(stagedFile, this.fileOf(bucket, info.key));
    this.objects(bucket).set(info.key, info);
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    return this.buckets.get(bucket)?.get(key);
  }

  read(bucket: string, key: string, start: number, end: number): Readable {
    return createReadStream(this.fileOf(bucket, key), { start, end, highWaterMark: 256 * 1024 });
  }

  async delete(bucket: string, key: string): Promise<boolean> {
    const existed = this.objects(bucket).delete(key);
    if (existed) await rm(this.fileOf(bucket, key), { force: true });
    return existed;
  }

  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    return [...this.objects(bucket).values()]
      .filter((info) => info.key.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  }

  async close(): Promise<void> {
    this.buckets.clear();
    await rm(this.root, { recursive: true, force: true });
  }

  private objects(bucket: string): Map<string, ObjectInfo> {
    const objects = this.buckets.get(bucket);
    if (!objects) throw new Error(`no bucket ${bucket}`);
    return objects;
  }

  private fileOf(bucket: string, key: string): string {
    return join(this.root, createHash('sha256').update(`${bucket}\0${key}`).digest('hex'));
  }
}
