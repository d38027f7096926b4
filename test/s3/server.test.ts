/**
 * The S3 stand-in itself (test/helpers/s3/server.ts): it must refuse what S3 refuses, or tests of the
 * s3 destination would pass on requests a real bucket rejects.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/s3/index.js';
import { startS3Server, type S3Server } from '../helpers/s3/server.js';

const BUCKET = 'stand-in';

describe('the S3 stand-in', () => {
  let server: S3Server;
  let client: S3Client;
  const clientWith = (accessKeyId: string, secretAccessKey: string): S3Client =>
    createS3Client({ endpoint: server.endpoint, region: server.region, regionGiven: true, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });

  beforeAll(async () => {
    server = await startS3Server({ buckets: [BUCKET] });
    client = clientWith(server.accessKeyId, server.secretAccessKey);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const errorOf = (promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> =>
    promise.then(
      () => ({ name: 'no error', status: undefined }),
      (error: Error & { $metadata?: { httpStatusCode?: number } }) => ({ name: error.name, status: error.$metadata?.httpStatusCode }),
    );

  it('verifies signatures: an unknown key id, a wrong secret, no signature', async () => {
    const put = (c: S3Client): Promise<unknown> => c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'x', Body: 'x' }));
    expect(await errorOf(put(clientWith('AKIAUNKNOWN', server.secretAccessKey)))).toEqual({ name: 'InvalidAccessKeyId', status: 403 });
    expect(await errorOf(put(clientWith(server.accessKeyId, 'wrong-secret')))).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    const anonymous = await fetch(`${server.endpoint}/${BUCKET}/x`);
    expect([anonymous.status, await anonymous.text()]).toEqual([403, expect.stringContaining('<Code>AccessDenied</Code>')]);
    expect(await server.objects(BUCKET)).toEqual([]);
  });

  it('answers a missing bucket as S3 does: HEAD 404 without a body, other calls NoSuchBucket', async () => {
    expect(await errorOf(client.send(new HeadBucketCommand({ Bucket: 'absent' })))).toEqual({ name: 'NotFound', status: 404 });
    expect(await errorOf(client.send(new PutObjectCommand({ Bucket: 'absent', Key: 'x', Body: 'x' })))).toEqual({ name: 'NoSuchBucket', status: 404 });
  });

  it('decodes the aws-chunked bodies of the SDK default checksums and checks their CRC32 trailer', async () => {
    const defaults = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
    const data = randomBytes(300_000);
    await defaults.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'chunked', Body: Readable.from([data]), ContentLength: data.length }));
    expect(server.requests.filter((r) => r.key === 'chunked').map((r) => r.payloadHash)).toEqual(['STREAMING-UNSIGNED-PAYLOAD-TRAILER']);
    expect((await server.readObject(BUCKET, 'chunked')).equals(data)).toBe(true);
    const [stored] = (await server.objects(BUCKET)).filter((o) => o.key === 'chunked');
    expect(stored?.etag).toBe(`"${createHash('md5').update(data).digest('hex')}"`);
    defaults.destroy();
  });

  it('keeps pending multipart uploads until completed or aborted, and answers 416 past the end', async () => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp' }));
    await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mp', UploadId, PartNumber: 1, Body: Buffer.alloc(1000) }));
    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(listed.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['mp', UploadId]]);
    expect(server.pendingUploads()).toEqual([{ bucket: BUCKET, key: 'mp', uploadId: UploadId, parts: 1 }]);
    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp', UploadId }));
    expect(server.pendingUploads()).toEqual([]);
    expect(await errorOf(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'chunked', Range: 'bytes=999999999-' })))).toEqual({
      name: 'InvalidRange',
      status: 416,
    });
  });

  it('injects faults: an error answer or a cut connection on the Nth call', async () => {
    server.fail({ operation: 'PutObject', after: 1, times: 1, action: { status: 503, code: 'SlowDown' } });
    server.fail({ operation: 'GetObject', times: 1, action: 'reset' });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'f1', Body: '1' }));
    expect(await errorOf(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'f2', Body: '2' })))).toEqual({ name: 'SlowDown', status: 503 });
    expect((await errorOf(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'f1' })))).name).toMatch(/ECONNRESET|socket hang up|Error/);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'f3', Body: '3' }));
    server.clearFaults();
    expect((await server.objects(BUCKET)).map((o) => o.key).filter((k) => k.startsWith('f'))).toEqual(['f1', 'f3']);
  });
});
