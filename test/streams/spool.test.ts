import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Spool } from '../../src/streams/spool.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

const chunk = (i: number, size = 1000): Buffer => Buffer.alloc(size, 65 + (i % 26));
const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function drain(iterable: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of iterable) parts.push(part);
  return Buffer.concat(parts);
}

/** 50 chunks of 1000 bytes, all spilled before anyone reads; returns what was sent. */
async function sendBeforeReading(source: PassThrough, spool: Spool): Promise<Buffer[]> {
  const sent = Array.from({ length: 50 }, (_, i) => chunk(i));
  for (const part of sent) source.write(part);
  // The spill writes take their time on a busy machine: wait for them rather than a fixed 50 ms.
  await vi.waitFor(() => expect(spool.spilledBytes).toBe(50_000), { timeout: 10_000, interval: 10 });
  return sent;
}

describe('Spool', () => {
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'spool-test-'));
  });

  it('keeps the stream flowing into the spill file until read, then gives every byte in order', async () => {
    const source = new PassThrough();
    const spillPath = path.join(dir, 'spill');
    const spool = new Spool(source, spillPath, { batchBytes: 1000 });
    const sent = await sendBeforeReading(source, spool);
    expect(existsSync(spillPath)).toBe(true);

    // The consumer starts; the producer goes on writing while it catches up, then hands over.
    const reading = drain(spool);
    for (let i = 50; i < 3000; i++) {
      sent.push(chunk(i));
      source.write(chunk(i));
      if (i % 100 === 0) await tick(1);
    }
    source.end();
    const got = await reading;
    expect(got.equals(Buffer.concat(sent))).toBe(true);
    // Some of what arrived while the spill file was read went through it too, not the 3 MB sent.
    expect(spool.spilledBytes).toBeGreaterThanOrEqual(50_000);
    expect(spool.spilledBytes).toBeLessThan(500_000);
    expect(existsSync(spillPath)).toBe(false);
  });

  it('lets the stream wait rather than spill more when the consumer reads slower than it arrives', async () => {
    const source = new PassThrough({ highWaterMark: 4000 });
    const spool = new Spool(source, path.join(dir, 'spill'), { batchBytes: 1000 });
    const sent = await sendBeforeReading(source, spool);

    const got: Buffer[] = [];
    const reading = (async () => {
      for await (const part of spool) {
        got.push(part);
        await tick(2);
      }
    })();
    // A fast writer: it waits only when the stream is full.
    for (let i = 50; i < 400; i++) {
      sent.push(chunk(i));
      if (!source.write(chunk(i))) await new Promise((resolve) => source.once('drain', resolve));
    }
    source.end();
    await reading;
    expect(Buffer.concat(got).equals(Buffer.concat(sent))).toBe(true);
    // The spill file grew by about a quarter (and the few chunks already on their way) after the
    // consumer came, then the stream waited: most of the 400 KB never went through the file.
    expect(spool.spilledBytes).toBeLessThanOrEqual(75_000);
  });

  it('appends to the spill file in batches of 1 MiB and keeps at most one batch in memory', async () => {
    const source = new PassThrough();
    const spillPath = path.join(dir, 'spill');
    const spool = new Spool(source, spillPath);
    const sent: Buffer[] = [];
    for (let i = 0; i < 1100; i++) {
      sent.push(chunk(i));
      source.write(chunk(i));
      if (i % 100 === 0) await tick(1);
    }
    // The first batch's write lands in its own time (a fixed 50 ms is not enough on a busy machine).
    await vi.waitFor(() => expect(statSync(spillPath).size).toBeGreaterThanOrEqual(1 << 20), { timeout: 10_000, interval: 10 });
    // All 1.1 MB went to the spill file, but only one batch of at least 1 MiB is in it; the rest waits in memory.
    expect(spool.spilledBytes).toBe(1_100_000);
    expect(statSync(spillPath).size).toBeGreaterThanOrEqual(1 << 20);
    expect(statSync(spillPath).size).toBeLessThan(1_100_000);
    const reading = drain(spool);
    source.end();
    expect((await reading).equals(Buffer.concat(sent))).toBe(true);
  });

  it('spills nothing when it is read from the start', async () => {
    const data = Array.from({ length: 20 }, (_, i) => chunk(i));
    const source = new PassThrough();
    const spool = new Spool(source, path.join(dir, 'spill'));
    const reading = drain(spool);
    for (const part of data) {
      source.write(part);
      await tick(1);
    }
    source.end();
    expect((await reading).equals(Buffer.concat(data))).toBe(true);
    expect(spool.spilledBytes).toBeLessThanOrEqual(1000);
  });

  it('gives everything when the stream ended before the consumer came', async () => {
    const data = Array.from({ length: 30 }, (_, i) => chunk(i, 70_000));
    const spool = new Spool(Readable.from(data), path.join(dir, 'spill'));
    // Until the whole stream is in the spill file (a fixed 50 ms is not enough on a busy machine).
    await vi.waitFor(() => expect(spool.spilledBytes).toBe(30 * 70_000), { timeout: 10_000, interval: 10 });
    expect((await drain(spool)).equals(Buffer.concat(data))).toBe(true);
    expect(spool.spilledBytes).toBe(30 * 70_000);
  });

  it('stops reading at its limit, so the writer waits, and still gives every byte', async () => {
    const source = new PassThrough({ highWaterMark: 4096 });
    const spool = new Spool(source, path.join(dir, 'spill'), { limit: 10_000 });
    const sent: Buffer[] = [];
    let blocked = false;
    for (let i = 0; i < 100 && !blocked; i++) {
      sent.push(chunk(i));
      blocked = !source.write(chunk(i));
      await tick(2);
    }
    expect(blocked).toBe(true);
    expect(spool.spilledBytes).toBeGreaterThanOrEqual(10_000);
    expect(spool.spilledBytes).toBeLessThan(12_000);
    const reading = drain(spool);
    for (let i = 100; i < 200; i++) {
      sent.push(chunk(i));
      if (!source.write(chunk(i))) await new Promise((resolve) => source.once('drain', resolve));
    }
    source.end();
    expect((await reading).equals(Buffer.concat(sent))).toBe(true);
  });

  it('fails the consumer when the stream fails, and cleans up', async () => {
    const source = new PassThrough();
    const spillPath = path.join(dir, 'spill');
    const spool = new Spool(source, spillPath);
    source.write(chunk(1));
    await tick();
    source.destroy(new Error('the dump broke'));
    await expect(drain(spool)).rejects.toThrow('the dump broke');
    expect(existsSync(spillPath)).toBe(false);
  });

  it('stops the stream and deletes the spill file when closed unread', async () => {
    const source = new PassThrough();
    const spillPath = path.join(dir, 'spill');
    const spool = new Spool(source, spillPath, { batchBytes: 1000 });
    source.write(chunk(1));
    await vi.waitFor(() => expect(existsSync(spillPath)).toBe(true), { timeout: 10_000, interval: 5 });
    await spool.close();
    expect(source.destroyed).toBe(true);
    expect(existsSync(spillPath)).toBe(false);
  });
});
