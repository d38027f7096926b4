import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchSink, OutputFile } from '../../src/streams/filewrite.js';
import { BlockGatherer, claim, handOver, isHandedOver, release } from '../../src/streams/ownership.js';

/** Releasing frees memory by detaching an ArrayBuffer (Node.js 22+); before that nothing is marked. */
const canDetach = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

/** A buffer of its own (not a slice of node's pool), with distinct bytes. */
function own(length: number, fill: string): Buffer {
  const buffer = Buffer.allocUnsafeSlow(length);
  buffer.fill(fill);
  return buffer;
}

describe('buffers handed over', () => {
  it.runIf(canDetach)('a handed-over buffer is freed (empty) when released, and only then', () => {
    const buffer = handOver(own(65536, 'a'));
    expect(isHandedOver(buffer)).toBe(true);
    expect(buffer.buffer.byteLength).toBe(65536);
    release(buffer);
    expect(buffer.length).toBe(0);
    expect(buffer.buffer.byteLength).toBe(0);
    // Released once: a second release does nothing.
    release(buffer);
  });

  it('a buffer that is not marked, a view of one, a pool slice and a claimed buffer are never freed', () => {
    const plain = own(1000, 'p');
    release(plain);
    expect(plain.toString()).toBe('p'.repeat(1000));

    const whole = handOver(own(1000, 'w'));
    const view = whole.subarray(10, 20);
    expect(isHandedOver(handOver(view))).toBe(false);
    release(view);
    expect(whole.length).toBe(1000);

    const pooled = Buffer.from('a short string lives in a slice of the shared pool');
    expect(isHandedOver(handOver(pooled))).toBe(false);

    const kept = claim(handOver(own(1000, 'k')));
    release(kept);
    expect(kept.toString()).toBe('k'.repeat(1000));
  });

  it('BlockGatherer copies pieces into whole blocks, handed over, and the rest into one of its own', () => {
    const gather = new BlockGatherer(100);
    const pieces = [own(30, 'a'), own(150, 'b'), own(5, 'c'), own(40, 'd')];
    const blocks = pieces.flatMap((piece) => gather.add(piece));
    const rest = gather.rest();
    expect(blocks.map((block) => block.length)).toEqual([100, 100]);
    expect(rest?.length).toBe(25);
    expect(Buffer.concat([...blocks, rest!]).equals(Buffer.concat(pieces))).toBe(true);
    if (canDetach) expect([...blocks, rest!].every(isHandedOver)).toBe(true);
    expect(gather.rest()).toBeNull();
  });
});

describe('BatchSink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ownership-test-'));
  });
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes chunks in order, each seen once, and frees a handed-over chunk once it is in the file', async () => {
    const file = path.join(dir, 'out');
    const output = await OutputFile.create(file);
    const handed = Array.from({ length: 40 }, (_, i) => handOver(own(70_000 + i, String.fromCharCode(97 + (i % 26)))));
    const kept = own(5000, 'K');
    const chunks = [...handed.slice(0, 20), kept, ...handed.slice(20)];
    const expected = Buffer.concat(chunks);
    let seen = 0;
    const sink = new BatchSink(output, (chunk) => (seen += chunk.length), { batchBytes: 200_000 });
    await pipeline(Readable.from(chunks, { objectMode: false }), sink);
    await output.close();
    expect(readFileSync(file).equals(expected)).toBe(true);
    expect(sink.written).toBe(expected.length);
    expect(seen).toBe(expected.length);
    expect(kept.toString()).toBe('K'.repeat(5000));
    if (canDetach) expect(handed.every((chunk) => chunk.length === 0)).toBe(true);
  });
});
