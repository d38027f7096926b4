import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchWriter, writeInBatches } from '../src/filewrite.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'filewrite-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Chunks of uneven sizes with distinct content, so a batch out of place shows. */
function chunks(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(1 + ((i * 7919) % 3000), `${i},`));
}

describe('BatchWriter', () => {
  it('writes every chunk in order with several batches in flight, and counts only what is in the file', async () => {
    const file = path.join(dir, 'out');
    const handle = await open(file, 'w');
    const data = chunks(400);
    const expected = Buffer.concat(data);
    const writer = new BatchWriter(handle, { batchBytes: 4000, maxInFlight: 3 });
    const seen = new Set<number>();
    for (const chunk of data) {
      await writer.push(chunk);
      // Everything before `written` is in the file already, whatever else is still in flight.
      seen.add(writer.written);
      expect(readFileSync(file).subarray(0, writer.written).equals(expected.subarray(0, writer.written))).toBe(true);
    }
    await writer.flush();
    await handle.close();

    expect(readFileSync(file).equals(expected)).toBe(true);
    expect(writer.written).toBe(expected.length);
    expect(seen.size).toBeGreaterThan(50);
  });

  it('fails the writer of the chunks when a write fails', async () => {
    const file = path.join(dir, 'readonly');
    await writeFile(file, '');
    const handle = await open(file, 'r');
    const write = async (): Promise<number> => {
      async function* source(): AsyncGenerator<Buffer> {
        yield* chunks(200);
      }
      return writeInBatches(source(), handle);
    };
    await expect(write()).rejects.toThrow(/EBADF/);
    await handle.close();
  });
});
