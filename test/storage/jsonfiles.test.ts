/**
 * The file store's JSON read an item at a time (src/storage/jsonfiles.ts) whatever the layout and the
 * chunking, JSON-lines files read back up to a flush, and the compact sorted records (sortedrecords.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLinesFile, JsonPartScanner, readJsonParts, type JsonPart } from '../../src/storage/jsonfiles.js';
import { SortedRecords } from '../../src/storage/sortedrecords.js';

const DOCUMENT = {
  format: 'f',
  backup: 'b, "quoted" ]}',
  counts: { stored: 2, nested: [1, { a: '}' }] },
  files: [{ name: 'a,b]', meta: '{"x": [1]}' }, { name: 'ünï\\"c"' }, 7, 'text', [1, 2]],
  empty: [],
  skipped: [{ name: 'gone' }],
  last: null,
};

function scan(pieces: string[]): JsonPart[] {
  const parts: JsonPart[] = [];
  const scanner = new JsonPartScanner((part) => parts.push(part));
  for (const piece of pieces) scanner.push(piece);
  scanner.finish();
  return parts;
}

const EXPECTED: JsonPart[] = [
  { kind: 'field', key: 'format', value: 'f' },
  { kind: 'field', key: 'backup', value: DOCUMENT.backup },
  { kind: 'field', key: 'counts', value: DOCUMENT.counts },
  ...DOCUMENT.files.map((value): JsonPart => ({ kind: 'item', list: 'files', value })),
  { kind: 'item', list: 'skipped', value: { name: 'gone' } },
  { kind: 'field', key: 'last', value: null },
];

describe('JSON of the file store, an item at a time', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'jsonfiles-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads fields and list items of a one-line document, an indented one and one an item a line, in any chunking', () => {
    for (const text of [JSON.stringify(DOCUMENT), JSON.stringify(DOCUMENT, null, 2)]) {
      expect(scan([text])).toEqual(EXPECTED);
      expect(scan([...text])).toEqual(EXPECTED);
      for (const size of [2, 3, 7, 13]) {
        const pieces: string[] = [];
        for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
        expect(scan(pieces), `pieces of ${size}`).toEqual(EXPECTED);
      }
    }
  });

  it('refuses what is not one whole object', () => {
    expect(() => scan(['{"a": 1'])).toThrow(/ends before/);
    expect(() => scan(['[1, 2]'])).toThrow(/not a JSON document/);
    expect(() => scan(['{"a": 1} {}'])).toThrow(/not a JSON document/);
  });

  it('decodes UTF-8 cut anywhere in the byte stream', async () => {
    const bytes = Buffer.from(JSON.stringify(DOCUMENT));
    async function* oneByteAtATime(): AsyncGenerator<Buffer> {
      for (let at = 0; at < bytes.length; at++) yield bytes.subarray(at, at + 1);
    }
    const parts: JsonPart[] = [];
    await readJsonParts(oneByteAtATime(), (part) => void parts.push(part));
    expect(parts).toEqual(EXPECTED);
  });

  it('a JSON-lines file reads back what was appended up to a flush, while appends go on', async () => {
    const list = await JsonLinesFile.create(path.join(dir, 'list.jsonl'));
    const big = 'x'.repeat(300 * 1024);
    for (let i = 0; i < 1000; i++) list.append({ i, name: `ü${i}` });
    list.append({ big });
    const flushed = await list.flush();
    for (let i = 0; i < 1000; i++) list.append({ i: 1000 + i });
    const read: unknown[] = [];
    for await (const line of flushed.lines()) read.push(JSON.parse(line));
    expect(flushed.count).toBe(1001);
    expect(read).toHaveLength(1001);
    expect(read.at(-1)).toEqual({ big });
    await list.close();
    let all = 0;
    for await (const line of list.lines()) all += line.length > 0 ? 1 : 0;
    expect(all).toBe(2001);
  });

  it('sorted records: found by key, the last of a key kept, repeats merged away', () => {
    const records = new SortedRecords(5, 4);
    const keys = Array.from({ length: 50_000 }, () => {
      const key = randomBytes(4);
      key[0]! |= 1; // never the absent key below
      return key;
    });
    keys.forEach((key, i) => records.add(Buffer.concat([key, Buffer.from([i % 256])])));
    // The same keys again with another payload: the later record wins, and the size does not double.
    keys.forEach((key) => records.add(Buffer.concat([key, Buffer.from([255])])));
    expect(records.size).toBe(new Set(keys.map((k) => k.toString('hex'))).size);
    for (const key of keys.slice(0, 1000)) expect(records.find(key)?.[4]).toBe(255);
    expect(records.find(Buffer.from([0, 0, 0, 0]))).toBeNull();
  });
});
