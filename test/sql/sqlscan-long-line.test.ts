/**
 * One very long line (a large value in a PART 1 row, which pg_dump --column-inserts writes on one
 * line) costs linear work and flat memory: the scanner goes over each byte about once however many
 * chunks the line arrives in, and holds only a bounded part of it (heldBytesPeak). A line it would
 * have to hold whole beyond its limit (one a rewrite changes, a statement held for a quoted name) is
 * refused naming it. The line splitter of `restore` and `list` keeps a long line's pieces and joins
 * them once.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { manifestOfStream } from '../../src/restore/listing.js';
import { createHash } from 'node:crypto';
import { FilePolicy } from '../../src/sql/policy.js';
import { rewriteDumpLine } from '../../src/sql/rewrite.js';
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

  it('of 256 MB in PART 1 passes in 64 KB chunks holding at most a chunk and its head, through the rewrite and the file policy', () => {
    const piece = Buffer.alloc(64 * 1024, 'b');
    const head = Buffer.from("-- PART 1: AUTH AND STORAGE DATA\nINSERT INTO auth.users (id, raw_user_meta_data) VALUES ('1', '{\"x\": \"");
    const tail = Buffer.from("\"}');\nINSERT INTO auth.users (id, raw_user_meta_data) VALUES ('2', NULL);\n");
    const chunks = function* (): Generator<Buffer> {
      yield head;
      for (let i = 0; i < 4096; i++) yield piece;
      yield tail;
    };
    const scanner = new SqlScanner(rewriteDumpLine);
    const policy = new FilePolicy();
    const hashIn = createHash('sha256');
    const hashOut = createHash('sha256');
    for (const chunk of chunks()) {
      hashIn.update(chunk);
      for (const out of scanner.pushParts(chunk)) {
        hashOut.update(out);
        policy.push(out);
      }
    }
    hashOut.update(scanner.finish());
    expect(hashOut.digest('hex')).toBe(hashIn.digest('hex'));
    expect(scanner.report.rows.get('auth.users')).toBe(2);
    expect(scanner.report.lines).toBe(3);
    expect(scanner.heldBytesPeak).toBeLessThanOrEqual(MB + 64 * 1024);
    expect(policy.finish()).toEqual([]);
    expect(policy.scanner.report.rows.get('auth.users')).toBe(2);
    expect(policy.scanner.heldBytesPeak).toBeLessThanOrEqual(MB + 64 * 1024);
    expect(scanner.scannedBytes).toBeLessThanOrEqual(scanner.report.bytes + 64 * 1024);
  });

  it('that one pushed buffer holds whole is not held either', () => {
    const line = longInsert(16 * MB);
    const scanner = new SqlScanner(rewriteDumpLine);
    expect(Buffer.concat([scanner.push(line), scanner.finish()]).equals(line)).toBe(true);
    expect(scanner.report.rows.get('auth.users')).toBe(1);
    expect(scanner.heldBytesPeak).toBeLessThan(64 * 1024);
  });

  it('a long statement line the rewrite leaves alone (a COMMENT) is held up to the limit, then passes', () => {
    const line = Buffer.concat([Buffer.from("COMMENT ON TABLE public.t IS '"), Buffer.alloc(6 * MB, 'c'), Buffer.from("';\nSELECT 1;\n")]);
    const scanner = new SqlScanner(rewriteDumpLine, undefined, { holdLimit: 4 * MB });
    const out: Buffer[] = [];
    for (const chunk of chunksOf(line, 64 * 1024)) out.push(scanner.push(chunk));
    out.push(scanner.finish());
    expect(Buffer.concat(out).equals(line)).toBe(true);
    expect(scanner.report.endState).toBe('normal');
    expect(scanner.heldBytesPeak).toBeLessThanOrEqual(4 * MB + 64 * 1024);
  });

  it('that the rewrite would change, or a statement held for a quoted name, longer than the limit: refused, naming it', () => {
    const restrict = Buffer.concat([Buffer.from('\\restrict '), Buffer.alloc(5 * MB, 'k')]);
    const refuse = (input: Buffer): (() => void) => () => {
      const scanner = new SqlScanner(rewriteDumpLine, undefined, { holdLimit: 4 * MB });
      for (const chunk of chunksOf(input, 64 * 1024)) scanner.push(chunk);
    };
    expect(refuse(restrict)).toThrow(ScanError);
    expect(refuse(restrict)).toThrow(/^a statement line of more than 4 MiB starting "\\\\restrict kkk/);
    const quoted = Buffer.concat([Buffer.from('ALTER TABLE public."a\nb" ADD CONSTRAINT c CHECK (v <> \''), Buffer.alloc(5 * MB, 'q')]);
    expect(refuse(quoted)).toThrow(/^a statement with a quoted name over several lines runs on for more than 4 MiB.*ALTER TABLE public\."a/);
    // An INSERT is never rewritten: one with a newline in its table's name streams like any other.
    const insert = new SqlScanner(rewriteDumpLine, undefined, { holdLimit: 4 * MB });
    for (const chunk of chunksOf(Buffer.concat([Buffer.from('INSERT INTO public."a\nb" (v) VALUES (\''), Buffer.alloc(5 * MB, 'q')]), 64 * 1024)) {
      insert.push(chunk);
    }
    expect(insert.heldBytesPeak).toBeLessThanOrEqual(MB + 64 * 1024);
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
