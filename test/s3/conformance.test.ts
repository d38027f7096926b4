/**
 * Our S3 stand-in (test/helpers/s3/server.ts) against the known package (s3rver): the same SDK calls,
 * through src/s3's client settings, give the same answers. Where s3rver is known to differ (multipart
 * ETags, storage-s3-reference.md) only our server's answer is checked, against the AWS rule.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, deleteObjects, listObjects, readSmallObject, uploadFile, type S3Target } from '../../src/s3/index.js';
import { startS3Server, type S3Server } from '../helpers/s3/server.js';
import { startS3rver, type S3rver } from '../helpers/s3/s3rver.js';

const BUCKET = 'conformance';

interface Observed {
  head: { size: number | undefined; etag: string | undefined; meta: Record<string, string> | undefined; type: string | undefined };
  range: { body: string; contentRange: string | undefined; length: number | undefined };
  listed: { count: number; sorted: boolean; first: string | undefined; last: string | undefined };
  delimited: string[];
  multipart: { sha256: string; size: number; etag: string };
  missing: string;
  afterDelete: number;
}

function targetFor(server: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }): S3Target {
  const client = createS3Client({
    endpoint: server.endpoint,
    region: server.region,
    regionGiven: true,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  return { client, bucket: BUCKET, endpoint: server.endpoint };
}

async function exercise(target: S3Target, bigFile: string, bigSize: number): Promise<Observed> {
  const { client } = target;
  await client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'a/one.txt', Body: 'hello, conformance', ContentType: 'text/plain', Metadata: { origin: 'test' } }),
  );
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'a/one.txt' }));
  const ranged = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/one.txt', Range: 'bytes=2-5' }));
  const rangeBody = await ranged.Body!.transformToString();

  const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(keys.slice(i, i + 50).map((Key) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }))));
  }
  const listed = await listObjects(target, 'many/');
  const delimited = await client.send(new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({ Bucket: BUCKET, Delimiter: '/' }));

  const stored = await uploadFile(target, { key: 'big/file.bin', file: bigFile, bytes: bigSize, partSize: 5 * 1024 * 1024 });
  const back = await readSmallObject(target, 'big/file.bin');

  const missing = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'no/such' })).then(
    () => 'found',
    (error: Error) => error.name,
  );
  await deleteObjects(target, keys);
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'a/one.txt' }));
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'big/file.bin' }));
  const left = await listObjects(target, '');

  return {
    head: { size: head.ContentLength, etag: head.ETag, meta: head.Metadata, type: head.ContentType },
    range: { body: rangeBody, contentRange: ranged.ContentRange, length: ranged.ContentLength },
    listed: {
      count: listed.length,
      sorted: listed.every((o, i) => i === 0 || listed[i - 1]!.key < o.key),
      first: listed[0]?.key,
      last: listed.at(-1)?.key,
    },
    delimited: (delimited.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''),
    multipart: { sha256: createHash('sha256').update(back).digest('hex'), size: back.length, etag: stored.etag },
    missing,
    afterDelete: left.length,
  };
}

describe('our S3 server answers as s3rver does', () => {
  let dir: string;
  let ours: S3Server;
  let theirs: S3rver;
  const bigSize = 17 * 1024 * 1024 + 123;
  let big: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conformance-'));
    big = randomBytes(bigSize);
    await writeFile(join(dir, 'big.bin'), big);
    ours = await startS3Server({ buckets: [BUCKET] });
    theirs = await startS3rver(BUCKET);
  });
  afterAll(async () => {
    await ours?.stop();
    await theirs?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('put, head, ranged get, paged and delimited list, multipart, missing key and delete agree', async () => {
    const a = await exercise(targetFor(ours), join(dir, 'big.bin'), bigSize);
    const b = await exercise(targetFor(theirs), join(dir, 'big.bin'), bigSize);
    const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');
    const { multipart: ourMultipart, ...ourRest } = a;
    const { multipart: theirMultipart, ...theirRest } = b;
    expect(ourRest).toEqual(theirRest);
    expect(ourMultipart.sha256).toBe(theirMultipart.sha256);
    expect(ourMultipart.size).toBe(theirMultipart.size);

    expect(a.head).toEqual({ size: 18, etag: `"${md5('hello, conformance')}"`, meta: { origin: 'test' }, type: 'text/plain' });
    expect(a.range).toEqual({ body: 'llo,', contentRange: 'bytes 2-5/18', length: 4 });
    expect(a.listed).toEqual({ count: 1005, sorted: true, first: 'many/00000', last: 'many/01004' });
    expect(a.delimited).toEqual(['a/', 'many/']);
    expect(a.missing).toBe('NoSuchKey');
    expect(a.afterDelete).toBe(0);
    // AWS's multipart ETag: md5 of the parts' binary md5s, then '-' and the number of parts.
    const parts = [0, 1, 2, 3].map((i) => Buffer.from(md5(big.subarray(i * 5 * 1024 * 1024, (i + 1) * 5 * 1024 * 1024)), 'hex'));
    expect(ourMultipart).toEqual({
      sha256: createHash('sha256').update(big).digest('hex'),
      size: bigSize,
      etag: `"${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-4"`,
    });
    expect(ours.pendingUploads()).toEqual([]);
  });
});
