/**
 * One very long line (a large value in a PART 1 row, which pg_dump --column-inserts writes on one
 * line) costs linear work: the scanner goes over each byte once however many chunks the line arrives
 * in, and a line longer than the scanner holds is refused naming its table. The line splitter of
 * `restore` and `list` keeps a long line's pieces and joins them once.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { manifestOfStream } from '../../src/restore/listing.js';
import { ScanError, SqlScanner } from '../../src/sql/sqlscan.js';
import { LineSplitter } from '../../src/streams/lines.js';

const MB = 1024 * 1024;

function longInsert(valueBytes: number): Buffer {
  return Buffer.concat([
    Buffer.from("INSERT INTO auth.users (id, raw_user_meta_data) VALUES ('1', '{\"x\": \""),
    Buffer.alloc(valueBytes, 'a'),
    Buffer.from("\"}');\n"),
  ]);
}

function* chunksOf(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe('a very long line', () => {
  it('is scanned once, not once per chunk (32 MB in 16 KB chunks), its row counted and its bytes passed unchanged', () => {
    const line = longInsert(32 * MB);
    const scanner = new SqlScanner();
    let out = 0;
    let same = true;
    for (const chunk of chunksOf(line, 16 * 1024)) {
      const written = scanner.push(chunk);
      if (written.length > 0) same &&= written.equals(line.subarray(out, out + written.length));
      out += written.length;
    }
    out += scanner.finish().length;
    expect(out).toBe(line.length);
    expect(same).toBe(true);
    expect(scanner.report.rows.get('auth.users')).toBe(1);
    // Each byte once, plus the first chunk (scanned before it is known to start a long line).
    expect(scanner.scannedBytes).toBeLessThanOrEqual(line.length + 16 * 1024);
  });

  it('longer than the scanner holds: refused, naming the table', () => {
    const scanner = new SqlScanner(undefined, undefined, 4 * MB);
    const push = (): void => {
      for (const chunk of chunksOf(longInsert(8 * MB), 64 * 1024)) scanner.push(chunk);
    };
    expect(push).toThrow(ScanError);
    expect(push).toThrow(/^a row of auth\.users is longer than 4 MiB on one line/);
  });

  it('is cut from a stream by LineSplitter in pieces joined once; a line over the limit is skipped and reported', () => {
    const lines: number[] = [];
    const heads: string[] = [];
    const splitter = new LineSplitter((l) => lines.push(l.length), 4 * MB, (head) => heads.push(head.toString('utf8', 0, 11)));
    const input = Buffer.concat([Buffer.from('short\n'), longInsert(2 * MB), longInsert(6 * MB), Buffer.from('-- last')]);
    for (const chunk of chunksOf(input, 16 * 1024)) splitter.push(chunk);
    splitter.finish();
    expect(lines).toEqual([6, longInsert(2 * MB).length, 7]);
    expect(heads).toEqual(['INSERT INTO']);
  });

  it('does not stop `list` from reading the manifest after it', async () => {
    const file = Buffer.concat([
      longInsert(16 * MB),
      Buffer.from('-- END OF BACKUP\n-- rows auth.users 1\n-- rows public."new\\nline" 2\n-- total 2 tables, 3 rows\n'),
    ]);
    const manifest = await manifestOfStream(Readable.from(chunksOf(file, 64 * 1024)));
    expect(manifest?.rows).toEqual(new Map([['auth.users', 1], ['public."new\nline"', 2]]));
  });
});
