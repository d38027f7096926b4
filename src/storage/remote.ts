/**
 * The few S3 calls Storage files need: Storage's S3 protocol on one side, the file store on the other.
 * S3Remote speaks S3 over an S3Client (src/s3/ makes the clients); localremote.ts keeps the same keys
 * as files in a directory (the file store of the artifact). Errors keep their HTTP status (statusOf).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { statusOf } from './transfer.js';

export interface RemoteObject {
  body: Readable;
  /** As the server sent it (quoted). */
  eTag: string | undefined;
  size: number | undefined;
}

export interface PutOptions {
  contentType?: string;
  cacheControl?: string;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date | undefined;
}

/** What FileStore, the backup and the restore of files use; `bucket` means nothing to a local directory. */
export interface Remote {
  get(bucket: string, key: string, signal?: AbortSignal): Promise<RemoteObject>;
  getText(bucket: string, key: string): Promise<string>;
  getBytes(bucket: string, key: string): Promise<Buffer>;
  putFile(bucket: string, key: string, file: string, size: number, options?: PutOptions, signal?: AbortSignal): Promise<void>;
  putBytes(bucket: string, key: string, bytes: Buffer, contentType?: string): Promise<void>;
  exists(bucket: string, key: string): Promise<boolean>;
  /** Every object under `prefix` in key order; with `delimiter`, only those with none after the prefix. */
  list(bucket: string, prefix: string, delimiter?: string): AsyncGenerator<ListedObject>;
  deleteKeys(bucket: string, keys: string[]): Promise<void>;
  /** Releases the connections (nothing for a directory). */
  close(): void;
}

export class S3Remote implements Remote {
  constructor(readonly client: S3Client) {}

  close(): void {
    this.client.destroy();
  }

  async get(bucket: string, key: string, signal?: AbortSignal): Promise<RemoteObject> {
    const answer = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    if (!answer.Body) throw new Error(`s3://${bucket}/${key}: the answer had no body`);
    return { body: answer.Body as Readable, eTag: answer.ETag, size: answer.ContentLength };
  }

  async getText(bucket: string, key: string): Promise<string> {
    const answer = await this.get(bucket, key);
    const chunks: Buffer[] = [];
    for await (const chunk of answer.body) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }

  async getBytes(bucket: string, key: string): Promise<Buffer> {
    const answer = await this.get(bucket, key);
    const chunks: Buffer[] = [];
    for await (const chunk of answer.body) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  }

  /** Uploads a local file (its length known: no streaming upload needed). */
  async putFile(bucket: string, key: string, file: string, size: number, options: PutOptions = {}, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: size,
        ...(options.contentType ? { ContentType: options.contentType } : {}),
        ...(options.cacheControl ? { CacheControl: options.cacheControl } : {}),
      }),
      { abortSignal: signal },
    );
  }

  async putBytes(bucket: string, key: string, bytes: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentLength: bytes.length, ContentType: contentType }));
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** Every object under `prefix`, page by page (servers cap a page at 1000 keys). */
  async *list(bucket: string, prefix: string, delimiter?: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, ...(delimiter ? { Delimiter: delimiter } : {}) }),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key) yield { key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async deleteKeys(bucket: string, keys: string[]): Promise<void> {
    for (let at = 0; at < keys.length; at += 1000) {
      const batch = keys.slice(at, at + 1000).map((Key) => ({ Key }));
      await this.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
    }
  }
}
