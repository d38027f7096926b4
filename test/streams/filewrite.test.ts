import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchWriter, OutputFile, writeInBatches } from '../../src/streams/filewrite.js';

const BLOCK = 4096;

/** Chunks of uneven sizes with distinct content, so a batch out of place shows. */
function chunks(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(1 + ((i * 7919) % 3000), `${i},`));
}

describe('BatchWriter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'filewrite-test-'));
  });
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes every chunk in order with several batches in flight, and counts only what is in the file', async () => {
    const file = path.join(dir, 'out');
    const options = { batchBytes: 4000, maxInFlight: 3 };
    const output = await OutputFile.create(file);
    const data = chunks(400);
    const expected = Buffer.concat(data);
    const writer = new BatchWriter(output, options);
    const seen = new Set<number>();
    for (const chunk of data) {
      await writer.push(chunk);
      // Everything before `written` is in the file already, whatever else is still in flight.
      seen.add(writer.written);
      expect(readFileSync(file).subarray(0, writer.written).equals(expected.subarray(0, writer.written))).toBe(true);
    }
    await writer.flush();
    await output.close();

    expect(readFileSync(file).equals(expected)).toBe(true);
    expect(writer.written).toBe(expected.length);
    expect(seen.size).toBeGreaterThan(50);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('ends the file at its last byte, whatever its length', async () => {
    for (const length of [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17]) {
      const file = path.join(dir, `out-${length}`);
      // A file that was there before is replaced, not overwritten in part.
      await writeFile(file, Buffer.alloc(5 * BLOCK, 'x'));
      const batches = { batchBytes: BLOCK };
      const output = await OutputFile.create(file);
      const data = Buffer.alloc(length, 'ab');
      async function* source(): AsyncGenerator<Buffer> {
        // Pieces that straddle the batch boundaries.
        for (let at = 0; at < length; at += 1000) yield data.subarray(at, at + 1000);
      }
      expect(await writeInBatches(source(), output, batches)).toBe(length);
      await output.close();
      expect(readFileSync(file).equals(data), `length ${length}`).toBe(true);
    }
  });

  it('refuses a chunk after the end of the file', async () => {
    const output = await OutputFile.create(path.join(dir, 'out'));
    const writer = new BatchWriter(output);
    await writer.push(Buffer.from('one'));
    await writer.flush();
    expect(() => writer.push(Buffer.from('two'))).toThrow(/after the end of the file/);
    await output.close();
  });

  it('fails the writer of the chunks when a write fails', async () => {
    const output = await OutputFile.create(path.join(dir, 'closed'));
    await output.close();
    async function* source(): AsyncGenerator<Buffer> {
      yield* chunks(2000);
    }
    await expect(writeInBatches(source(), output)).rejects.toThrow(/EBADF|closed/);
  });
});
