/**
 * FileRangeBody (src/s3/filebody.ts) as the SDK uses it, `body.pipe(request)` into a real HTTP request
 * on loopback: the server gets exactly the range, the chunks come from at most BUFFERS_PER_BODY
 * buffers, used again; read as a plain Readable it gives the same bytes; a file shorter than the range
 * is an error, not a request that waits; destroying it closes the file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUFFERS_PER_BODY, CHUNK_BYTES, ChunkPool, FileRangeBody } from '../../src/s3/filebody.js';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A pool that remembers every buffer it handed out. */
class WatchedPool extends ChunkPool {
  readonly handedOut = new Set<ArrayBufferLike>();

  override take(): Buffer {
    const buffer = super.take();
    this.handedOut.add(buffer.buffer);
    return buffer;
  }
}

let dir: string;
let file: string;
let data: Buffer;
let server: http.Server;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'filebody-'));
  file = path.join(dir, 'data.bin');
  data = randomBytes(8 * MiB + 12_345);
  await writeFile(file, data);
  // Answers with the sha256 and length of what it received.
  server = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    req.on('end', () => res.end(JSON.stringify({ sha256: hash.digest('hex'), bytes })));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Pipes `body` into a PUT of `bytes` bytes, as the SDK's node handler does. */
async function put(body: FileRangeBody, bytes: number): Promise<{ sha256: string; bytes: number }> {
  const request = http.request(url, { method: 'PUT', headers: { 'content-length': bytes } });
  const answer = once(request, 'response');
  body.pipe(request);
  const [response] = (await answer) as [http.IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString()) as { sha256: string; bytes: number };
}

/** How many descriptors of this process are open on `name`. */
function openOn(name: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === name;
    } catch {
      return false;
    }
  }).length;
}

describe('FileRangeBody', () => {
  it('sends exactly its range through a pipe, from a few buffers used again', async () => {
    const start = 3 * MiB + 7;
    const end = data.length - 1001;
    const pool = new WatchedPool(BUFFERS_PER_BODY);
    const body = new FileRangeBody(file, { start, end }, pool);
    const received = await put(body, end - start + 1);
    body.destroy();
    expect(received).toEqual({ sha256: sha256(data.subarray(start, end + 1)), bytes: end - start + 1 });
    expect((end - start + 1) / CHUNK_BYTES).toBeGreaterThan(4 * BUFFERS_PER_BODY);
    expect(pool.handedOut.size).toBeGreaterThan(0);
    expect(pool.handedOut.size).toBeLessThanOrEqual(BUFFERS_PER_BODY);
  });

  it('an empty range is an empty body', async () => {
    const body = new FileRangeBody(file, { start: 0, end: -1 });
    expect(await put(body, 0)).toEqual({ sha256: sha256(Buffer.alloc(0)), bytes: 0 });
    body.destroy();
  });

  it('read as a plain Readable, gives the same range', async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of new FileRangeBody(file, { start: 10, end: 2 * MiB })) chunks.push(chunk as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(data.subarray(10, 2 * MiB + 1)));
  });

  it('fails when the file ends before the range does', async () => {
    const body = new FileRangeBody(file, { start: 0, end: data.length + MiB });
    const failed = once(body, 'error');
    const request = http.request(url, { method: 'PUT', headers: { 'content-length': data.length + MiB + 1 } });
    request.on('error', () => undefined);
    body.pipe(request);
    const [error] = (await failed) as [Error];
    request.destroy();
    expect(error.message).toContain(`ended at byte ${data.length}`);
  });

  it('closes the file when destroyed', async () => {
    const body = new FileRangeBody(file, { start: 0, end: data.length - 1 });
    body.read(0);
    await once(body, 'readable');
    expect(openOn(file)).toBe(1);
    body.destroy();
    await once(body, 'close');
    expect(openOn(file)).toBe(0);
  });
});
