import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileHasher } from '../src/filehash.js';
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
  it('writes every chunk in order with several batches in flight, and reports only completed prefixes', async () => {
    const file = path.join(dir, 'out');
    const handle = await open(file, 'w');
    const data = chunks(400);
    const expected = Buffer.concat(data);
    const reported: number[] = [];
    const writer = new BatchWriter(handle, {
      batchBytes: 4000,
      maxInFlight: 3,
      onWritten: (written) => {
        reported.push(written);
        // Everything before `written` is in the file already, whatever else is still in flight.
        expect(readFileSync(file).subarray(0, written).equals(expected.subarray(0, written))).toBe(true);
      },
    });
    for (const chunk of data) await writer.push(chunk);
    await writer.flush();
    await handle.close();

    expect(readFileSync(file).equals(expected)).toBe(true);
    expect(writer.written).toBe(expected.length);
    expect(reported.length).toBeGreaterThan(50);
    expect(reported.every((n, i) => i === 0 || n > reported[i - 1]!)).toBe(true);
    expect(reported.at(-1)).toBe(expected.length);
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

describe('FileHasher', () => {
  it('hashes a file as it grows, and gives the sha256 of the whole', async () => {
    const file = path.join(dir, 'growing');
    await writeFile(file, '');
    const hasher = new FileHasher(file);
    const data = chunks(300);
    let size = 0;
    for (const chunk of data) {
      await appendFile(file, chunk);
      size += chunk.length;
      if (size % 3 === 0) hasher.advance(size);
    }
    expect(await hasher.digest(size)).toBe(createHash('sha256').update(Buffer.concat(data)).digest('hex'));
  });

  it('fails clearly when the file is shorter than what was said to be written', async () => {
    const file = path.join(dir, 'short');
    await writeFile(file, 'only this');
    const hasher = new FileHasher(file);
    await expect(hasher.digest(1000)).rejects.toThrow(/hashing the backup file failed: the file is shorter/);
  });
});
