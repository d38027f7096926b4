/**
 * A large upload keeps memory flat: BYTES of generated data (3 GiB by default, S3_LARGE_TEST_BYTES to
 * change it) go through src/s3's multipart upload in a child process, whose peak RSS must stay within
 * the same budget as a 64 MiB upload's. The object that arrives is compared by sha256.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/action.js';
import { node24 } from '../helpers/runtimes.js';
import { startS3Server, type S3Server } from '../helpers/s3/server.js';

const BUCKET = 'large';
const MiB = 1024 * 1024;
const LARGE = Number(process.env.S3_LARGE_TEST_BYTES ?? 3 * 1024 * MiB);

let server: S3Server;

interface ChildReport {
  sha256: string;
  etag: string;
  maxRssBytes: number;
}

async function upload(key: string, bytes: number): Promise<ChildReport> {
  const child = await execa(node24().node, ['--import', path.join(ROOT, 'test/helpers/ts-resolve.mjs'), path.join(ROOT, 'test/helpers/s3/large-upload.ts')], {
    env: { PATH: process.env.PATH, S3_ENDPOINT: server.endpoint, S3_BUCKET: BUCKET, S3_KEY: key, BYTES: String(bytes), ...server.env },
    extendEnv: false,
    reject: false,
  });
  expect(child.exitCode, child.stderr).toBe(0);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as ChildReport;
}

async function storedSha256(key: string): Promise<string> {
  const [info] = (await server.objects(BUCKET)).filter((o) => o.key === key);
  const hash = createHash('sha256');
  for await (const chunk of server.backend.read(BUCKET, key, 0, info!.size - 1)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
});

afterAll(async () => {
  await server?.stop();
});

describe('a large upload', () => {
  it(`sends ${Math.round(LARGE / MiB)} MiB with the peak RSS of a 64 MiB upload`, { timeout: 900_000 }, async () => {
    const small = await upload('small.bin', 64 * MiB);
    expect(await storedSha256('small.bin')).toBe(small.sha256);
    await server.backend.delete(BUCKET, 'small.bin');

    const large = await upload('large.bin', LARGE);
    const parts = Math.ceil(LARGE / (8 * MiB));
    expect(large.etag).toMatch(new RegExp(`^"[0-9a-f]{32}-${parts}"$`));
    expect(await storedSha256('large.bin')).toBe(large.sha256);
    expect(server.pendingUploads()).toEqual([]);
    // Flat: what a 64 MiB upload needs (client, queue of 8 MiB parts), plus slack for the garbage collector.
    console.log(`peak RSS: 64 MiB upload ${Math.round(small.maxRssBytes / MiB)} MiB, ${Math.round(LARGE / MiB)} MiB upload ${Math.round(large.maxRssBytes / MiB)} MiB`);
    expect(large.maxRssBytes).toBeLessThan(small.maxRssBytes + 64 * MiB);
    expect(large.maxRssBytes).toBeLessThan(400 * MiB);
    await server.backend.delete(BUCKET, 'large.bin');
  });
});
