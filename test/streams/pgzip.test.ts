/**
 * ParallelGzip (the `compression: gzip` stage): blocks compressed side by side must come out as one
 * valid gzip file in input order, readable by gunzip and by node's streaming gunzip (what `restore`
 * uses), whatever the chunking of the input.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasZstd, ParallelCompress, ParallelGzip, zstdFrames } from '../../src/streams/pgzip.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pgzip-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Text with some incompressible bytes, cut into chunks of random sizes. */
function input(bytes: number): { whole: Buffer; chunks: Buffer[] } {
  const line = (i: number): string => `INSERT INTO t (id, body) VALUES (${i}, '${randomBytes(8).toString('hex')} row ${i}');\n`;
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    parts.push(line(i));
    size += parts.at(-1)!.length;
  }
  const whole = Buffer.from(parts.join('')).subarray(0, bytes);
  const chunks: Buffer[] = [];
  for (let at = 0; at < whole.length; ) {
    const n = 1 + Math.floor(Math.random() * 5000);
    chunks.push(whole.subarray(at, at + n));
    at += n;
  }
  return { whole, chunks };
}

async function compress(chunks: Buffer[], blockSize: number, inFlight: number, stage: ParallelCompress = new ParallelGzip(1, blockSize, inFlight)): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), stage, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

async function gunzipStream(gz: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([gz]), createGunzip(), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

describe('ParallelGzip', () => {
  it('many blocks in flight: gunzip, gunzipSync and createGunzip all give the input back, in order', async () => {
    const { whole, chunks } = input(300_000);
    const gz = await compress(chunks, 10_000, 4);
    // 30 members: the file is made of several gzip members (each starts with the magic 1f 8b).
    expect(gz.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), 10)).toBeGreaterThan(0);
    expect(gunzipSync(gz).equals(whole)).toBe(true);
    expect((await gunzipStream(gz)).equals(whole)).toBe(true);
    const file = path.join(dir, 'blocks.sql.gz');
    await writeFile(file, gz);
    await execa('gunzip', ['-k', '-f', file]);
    expect((await readFile(path.join(dir, 'blocks.sql'))).equals(whole)).toBe(true);
  });

  it('an input shorter than a block, and an empty input, make valid gzip files', async () => {
    const { whole, chunks } = input(5000);
    expect(gunzipSync(await compress(chunks, 1 << 20, 2)).equals(whole)).toBe(true);
    const empty = await compress([], 1 << 20, 2);
    expect(empty.length).toBeGreaterThan(0);
    expect(gunzipSync(empty).length).toBe(0);
  });

  it('each block is the gzip member zlib.gzipSync makes of it, in order (one slot stream per block in flight, reset in between)', async () => {
    const { whole, chunks } = input(123_456);
    const members: Buffer[] = [];
    for (let at = 0; at < whole.length; at += 10_000) members.push(gzipSync(whole.subarray(at, at + 10_000), { level: 1 }));
    expect((await compress(chunks, 10_000, 3)).equals(Buffer.concat(members))).toBe(true);
  });

  it('a chunk that fills several blocks at once', async () => {
    const { whole } = input(95_000);
    const gz = await compress([whole.subarray(0, 3), whole.subarray(3, 94_000), whole.subarray(94_000)], 10_000, 2);
    expect(gunzipSync(gz).equals(whole)).toBe(true);
  });

  it.skipIf(!hasZstd())('zstd: many frames in flight, `zstd -d` and node:zlib give the input back', async () => {
    const { whole, chunks } = input(300_000);
    const zst = await compress(chunks, 10_000, 4, new ParallelCompress(zstdFrames(1), 10_000, 4));
    const zstdDecompressSync = (zlib as unknown as { zstdDecompressSync: (input: Buffer) => Buffer }).zstdDecompressSync;
    expect(zstdDecompressSync(zst).equals(whole)).toBe(true);
    const file = path.join(dir, 'frames.sql.zst');
    await writeFile(file, zst);
    await execa('zstd', ['-d', '-q', '-f', file]);
    expect((await readFile(path.join(dir, 'frames.sql'))).equals(whole)).toBe(true);
    const empty = await compress([], 1 << 20, 2, new ParallelCompress(zstdFrames(1), 1 << 20, 2));
    expect(zstdDecompressSync(empty).length).toBe(0);
  });

  it('a failing source fails the stage', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(50_000, 65);
      throw new Error('the dump broke');
    }
    await expect(
      pipeline(Readable.from(broken()), new ParallelGzip(1, 10_000, 2), async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) void chunk;
      }),
    ).rejects.toThrow('the dump broke');
  });
});
