/**
 * The Storage stand-in (test/helpers/storage-s3.ts) does to `storage.objects` what Supabase Storage's S3
 * protocol does (shared/storage-s3-reference.md): tests of the files backup are only as good as it.
 */
import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/s3/index.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';
import { startStorageServer, type StorageServer } from '../helpers/storage-s3.js';

describe('the Storage stand-in', () => {
  let supabase: SupabaseCluster;
  let storage: StorageServer;
  let client: S3Client;
  const db = 'standin';
  const query = <R extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> =>
    supabase.cluster.query<R>(sql, { db, params });

  beforeAll(async () => {
    supabase = await startSupabaseCluster();
    await supabase.createTarget(db);
    storage = await startStorageServer(supabase.cluster, db);
    const { server } = storage;
    client = createS3Client({
      endpoint: server.endpoint,
      region: server.region,
      regionGiven: true,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      maxAttempts: 1,
    });
    await query(
      `INSERT INTO storage.buckets (id, name, allowed_mime_types, file_size_limit) VALUES
         ('media', 'media', NULL, NULL), ('limited', 'limited', '{image/*}', 10)`,
    );
  });
  afterAll(async () => {
    client?.destroy();
    await storage?.stop();
    await supabase?.stop();
  });

  const statusOf = (promise: Promise<unknown>): Promise<number | string | undefined> =>
    promise.then(
      () => 'ok',
      (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode,
    );
  const put = (key: string, body: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}, bucket = 'media') =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
  const read = async (key: string, extra: Partial<ConstructorParameters<typeof GetObjectCommand>[0]> = {}) => {
    const answer = await client.send(new GetObjectCommand({ Bucket: 'media', Key: key, ...extra }));
    return { answer, text: await answer.Body!.transformToString() };
  };

  it('PutObject writes the row as Storage does: quoted md5 eTag, mimetype, cacheControl, user_metadata lower-cased', async () => {
    await put('a/one.txt', 'hello', { ContentType: 'text/plain', CacheControl: 'max-age=60', Metadata: { Color: 'blue' } });
    const [row] = await query<{ metadata: Record<string, unknown>; user_metadata: unknown; version: string; owner: string | null }>(
      "SELECT metadata, user_metadata, version, owner FROM storage.objects WHERE bucket_id = 'media' AND name = 'a/one.txt'",
    );
    expect(row!.metadata).toMatchObject({
      eTag: `"${createHash('md5').update('hello').digest('hex')}"`,
      size: 5,
      mimetype: 'text/plain',
      cacheControl: 'max-age=60',
      contentLength: 5,
      httpStatusCode: 200,
    });
    expect(row!.user_metadata).toEqual({ color: 'blue' });
    expect(row!.owner).toBeNull();
    await put('a/plain.bin', 'x');
    const [plain] = await query<{ metadata: Record<string, unknown>; user_metadata: unknown }>(
      "SELECT metadata, user_metadata FROM storage.objects WHERE name = 'a/plain.bin'",
    );
    expect(plain!.metadata).toMatchObject({ mimetype: 'application/octet-stream', cacheControl: 'no-cache' });
    expect(plain!.user_metadata).toEqual({});
  });

  it('PutObject onto a row made by SQL keeps its id, owner and created_at and gives a new version; the old bytes go', async () => {
    const owner = '11111111-1111-4111-8111-111111111111';
    await query(
      `INSERT INTO storage.objects (id, bucket_id, name, owner, owner_id, created_at, version, metadata, user_metadata)
       VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'media', 'sql/row.txt', $1::uuid, $1::text, '2026-01-01', 'v-old', '{}', '{"k": 1}')`,
      [owner],
    );
    await put('sql/row.txt', 'new bytes');
    const [row] = await query<{ id: string; owner: string; owner_id: string; created_at: Date; version: string; user_metadata: unknown }>(
      "SELECT id, owner, owner_id, created_at, version, user_metadata FROM storage.objects WHERE name = 'sql/row.txt'",
    );
    expect(row).toMatchObject({ id: 'aaaaaaaa-0000-4000-8000-000000000001', owner, owner_id: owner, user_metadata: {} });
    expect(row!.created_at.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(row!.version).not.toBe('v-old');
    const before = row!.version;
    await put('sql/row.txt', 'newer bytes');
    const [after] = await query<{ version: string }>("SELECT version FROM storage.objects WHERE name = 'sql/row.txt'");
    expect(after!.version).not.toBe(before);
    await expect(unlink(storage.backend.fileOf('media', 'sql/row.txt', before))).rejects.toThrow(/ENOENT/);
    expect((await read('sql/row.txt')).text).toBe('newer bytes');
  });

  it('GET honours Range and sends the ETag; If-Match is ignored', async () => {
    await put('r.txt', '0123456789');
    const { answer, text } = await read('r.txt', { Range: 'bytes=2-4' });
    expect(text).toBe('234');
    expect(answer.ContentRange).toBe('bytes 2-4/10');
    expect(answer.ETag).toBe(`"${createHash('md5').update('0123456789').digest('hex')}"`);
    expect((await read('r.txt', { IfMatch: '"not-the-etag"' })).text).toBe('0123456789');
  });

  it('a row whose bytes are missing answers GET with 500; a name outside the allowed characters with 400', async () => {
    await query(
      `INSERT INTO storage.objects (bucket_id, name, version, metadata) VALUES ('media', 'gone.txt', 'v1', '{"eTag": "\\"x\\"", "size": 3}')`,
    );
    expect(await statusOf(read('gone.txt'))).toBe(500);
    expect(await statusOf(put('ünï.txt', 'x'))).toBe(400);
    expect(await statusOf(put('100%.txt', 'x'))).toBe(400);
    expect(await statusOf(read('a#b.txt'))).toBe(400);
    expect(await statusOf(put('ok name (1)!.txt', 'x'))).toBe('ok');
  });

  it("a bucket's allowed_mime_types give 415 and its file_size_limit 413", async () => {
    expect(await statusOf(put('doc.pdf', 'x', { ContentType: 'application/pdf' }, 'limited'))).toBe(415);
    expect(await statusOf(put('big.png', 'x'.repeat(11), { ContentType: 'image/png' }, 'limited'))).toBe(413);
    expect(await statusOf(put('ok.png', 'x'.repeat(10), { ContentType: 'image/png' }, 'limited'))).toBe('ok');
  });

  it('ListObjectsV2 pages at most 1000 keys', async () => {
    await query(
      `INSERT INTO storage.objects (bucket_id, name, version, metadata)
       SELECT 'media', 'many/' || lpad(i::text, 5, '0'), 'v', '{"size": 0}' FROM generate_series(1, 1001) i`,
    );
    const page = await client.send(new ListObjectsV2Command({ Bucket: 'media', Prefix: 'many/', MaxKeys: 5000 }));
    expect(page.KeyCount).toBe(1000);
    expect(page.IsTruncated).toBe(true);
  });
});
