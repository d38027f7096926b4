/**
 * A large upload keeps memory flat: a file of BYTES (3 GiB by default, S3_LARGE_TEST_BYTES to change
 * it) goes through src/s3's multipart upload in a child process (Node 24, the test's loader), whose
 * peak RSS must stay under the action's budget (issue #18: 150 MiB) and within MARGIN of a 64 MiB
 * file's, and whose Buffers must never hold more than BUFFERS_CEILING (the read buffers are pooled,
 * src/s3/filebody.ts).
 *
 * Measured (child, Node 24): 64 MiB file 107–108 MiB, 3 GiB file 131–133 MiB; Buffers 1–4 MiB at
 * their peak. The 3 GiB upload's extra ~24 MiB is V8's heap, not buffers: the young generation grows
 * to its maximum (16 MB semi-spaces, +16 MiB) once enough has survived its collections, and the old
 * one gathers ~5 MiB of requests promoted while in flight before a full collection. Both are bounded
 * by V8's limits, so a larger file stays there (6 GiB: 135 MiB). With fs.createReadStream bodies it was 135 and 166
 * MiB (Buffers 36 and 60 MiB: 64 KiB reads awaiting collection); lib-storage 187 and 284–305. The
 * files are sparse (a few random blocks, holes between), so they cost no disk; the object that
 * arrives is compared by sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/action.js';
import { node24 } from '../helpers/runtimes.js';
import { startS3Server, type S3Server } from '../helpers/s3/server.js';

const BUCKET = 'large';
const MiB = 1024 * 1024;
const PART = 8 * MiB;
const BLOCK = 64 * 1024;
const LARGE = Number(process.env.S3_LARGE_TEST_BYTES ?? 3 * 1024 * MiB);
const CEILING = 150 * MiB;
/** The young generation's growth (16 MiB) and the old one's garbage (~5 MiB), and a few MiB of noise. */
const MARGIN = 32 * MiB;
const BUFFERS_CEILING = 16 * MiB;

let server: S3Server;
let dir: string;

interface ChildReport {
  etag: string;
  maxRssBytes: number;
  maxArrayBuffersBytes: number;
}

/**
 * A sparse file of `bytes` with random blocks at the start, across the first part boundary, in the
 * middle and at the end; returns its sha256.
 */
async function sparseFile(file: string, bytes: number): Promise<string> {
  await writeFile(file, '');
  await truncate(file, bytes);
  const handle = await open(file, 'r+');
  try {
    for (const at of [0, PART - BLOCK / 2, Math.floor(bytes / 2), bytes - BLOCK]) await handle.write(randomBytes(BLOCK), 0, BLOCK, at);
  } finally {
    await handle.close();
  }
  return sha256(createReadStream(file, { highWaterMark: MiB }));
}

async function sha256(stream: AsyncIterable<unknown>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function upload(key: string, file: string, bytes: number): Promise<ChildReport> {
  const child = await execa(node24().node, ['--import', path.join(ROOT, 'test/helpers/ts-resolve-sync.mjs'), path.join(ROOT, 'test/helpers/s3/large-upload.ts')], {
    env: { PATH: process.env.PATH, S3_ENDPOINT: server.endpoint, S3_BUCKET: BUCKET, S3_KEY: key, FILE: file, BYTES: String(bytes), ...server.env },
    extendEnv: false,
    reject: false,
  });
  expect(child.exitCode, child.stderr).toBe(0);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as ChildReport;
}

async function storedSha256(key: string): Promise<string> {
  const [info] = (await server.objects(BUCKET)).filter((o) => o.key === key);
  return sha256(server.backend.read(BUCKET, key, 0, info!.size - 1));
}

/** Uploads a sparse file of `bytes` as `key`, checks what arrived, and removes file and object again. */
async function uploadChecked(key: string, bytes: number): Promise<ChildReport> {
  const file = path.join(dir, key);
  const sent = await sparseFile(file, bytes);
  try {
    const report = await upload(key, file, bytes);
    expect(report.etag).toMatch(new RegExp(`^"[0-9a-f]{32}-${Math.ceil(bytes / PART)}"$`));
    expect(await storedSha256(key)).toBe(sent);
    expect(server.pendingUploads()).toEqual([]);
    await server.backend.delete(BUCKET, key);
    return report;
  } finally {
    await rm(file, { force: true });
  }
}

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  dir = await mkdtemp(path.join(tmpdir(), 'large-upload-'));
});

afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a large upload', () => {
  it(`sends a ${Math.round(LARGE / MiB)} MiB file with about the peak RSS of a 64 MiB one`, { timeout: 900_000 }, async () => {
    const small = await uploadChecked('small.bin', 64 * MiB);
    const large = await uploadChecked('large.bin', LARGE);
    const mib = (bytes: number): number => Math.round(bytes / MiB);
    console.log(
      `peak RSS: 64 MiB file ${mib(small.maxRssBytes)} MiB, ${mib(LARGE)} MiB file ${mib(large.maxRssBytes)} MiB; ` +
        `Buffers ${mib(small.maxArrayBuffersBytes)} and ${mib(large.maxArrayBuffersBytes)} MiB`,
    );
    // Each part is streamed from the file: the SDK signs it unhashed, so no part is held in memory.
    const partHashes = server.requests.filter((r) => r.operation === 'UploadPart').map((r) => r.payloadHash);
    expect(new Set(partHashes)).toEqual(new Set(['UNSIGNED-PAYLOAD']));
    expect(large.maxArrayBuffersBytes).toBeLessThanOrEqual(BUFFERS_CEILING);
    expect(large.maxRssBytes).toBeLessThanOrEqual(small.maxRssBytes + MARGIN);
    expect(large.maxRssBytes).toBeLessThanOrEqual(CEILING);
  });
});
