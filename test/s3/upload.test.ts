/**
 * uploadFile on its own, against our S3 server: a file of one part is one PutObject streamed from
 * disk and tried again after a cut connection; a part S3 refuses is not tried again and leaves nothing
 * pending, nor does a file that cannot be read; a stream of known length (no file to read again) goes
 * up through lib-storage.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createS3Client, uploadFile, type S3Target } from '../../src/s3/index.js';
import { startS3Server, type S3Server } from '../helpers/s3/server.js';

const BUCKET = 'uploads';
const MiB = 1024 * 1024;

let server: S3Server;
let target: S3Target;
let dir: string;

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function fileOf(bytes: number): Promise<{ file: string; data: Buffer }> {
  const data = randomBytes(bytes);
  const file = path.join(dir, `file-${bytes}.bin`);
  await writeFile(file, data);
  return { file, data };
}

beforeEach(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  dir = await mkdtemp(path.join(tmpdir(), 's3-upload-'));
  const client = createS3Client({
    endpoint: server.endpoint,
    region: server.region,
    regionGiven: true,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  target = { client, bucket: BUCKET, endpoint: server.endpoint };
});

afterEach(async () => {
  target.client.destroy();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('uploadFile', () => {
  it('sends a file of one part as one streamed PutObject, again after a cut connection', async () => {
    const { file, data } = await fileOf(3 * MiB + 5);
    server.fail({ operation: 'PutObject', times: 1, action: 'reset' });
    const loaded: number[] = [];
    await uploadFile(target, { key: 'one.bin', file, bytes: data.length, onProgress: (bytes) => loaded.push(bytes) });
    expect(server.requests.filter((r) => r.operation === 'PutObject').map((r) => r.payloadHash)).toEqual(['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD']);
    expect(server.stats.calls.get('CreateMultipartUpload') ?? 0).toBe(0);
    expect(sha256(await server.readObject(BUCKET, 'one.bin'))).toBe(sha256(data));
    expect(loaded).toEqual([data.length]);
  });

  it('does not send a refused part again, and aborts the upload', async () => {
    const { file, data } = await fileOf(12 * MiB);
    server.fail({ operation: 'UploadPart', action: { status: 403, code: 'AccessDenied', message: 'no' } });
    await expect(uploadFile(target, { key: 'refused.bin', file, bytes: data.length, partSize: 5 * MiB, queueSize: 1 })).rejects.toThrow(
      /S3: uploading 'refused.bin' failed: access to bucket 'uploads'.*was denied/,
    );
    expect(server.stats.calls.get('UploadPart')).toBe(1);
    expect(server.stats.calls.get('AbortMultipartUpload')).toBe(1);
    expect(server.pendingUploads()).toEqual([]);
    expect(await server.objects(BUCKET)).toEqual([]);
  });

  it('a file that cannot be read fails the upload, and leaves nothing pending', async () => {
    await expect(uploadFile(target, { key: 'gone.bin', file: path.join(dir, 'no-such-file'), bytes: 20 * MiB })).rejects.toThrow(/S3: uploading 'gone.bin' failed.*ENOENT/);
    expect(server.pendingUploads()).toEqual([]);
  });

  it('sends a stream of known length in parts, byte for byte', async () => {
    const data = randomBytes(11 * MiB + 3);
    const stored = await uploadFile(target, { key: 'stream.bin', body: Readable.from([data.subarray(0, 4 * MiB), data.subarray(4 * MiB)]), bytes: data.length, partSize: 5 * MiB });
    expect(stored.etag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect(sha256(await server.readObject(BUCKET, 'stream.bin'))).toBe(sha256(data));
    expect(server.pendingUploads()).toEqual([]);
  });
});
