/**
 * Differential test of the SqlScanner's fast paths (byte-level lexing, lines left undecoded, chunks
 * passed through as views, the cut line completed from the next chunk): on random SQL, split into
 * random chunks, it must report and write exactly what the plain text scanner (the test oracle in
 * helpers/sqlscan-reference.ts) does when fed the same input in one piece. With a tiny `streamAfter`,
 * almost every line is a "long line" to the scanner: decided from its head and lexed piece by piece
 * as its chunks come, cut anywhere (mid-token, mid-quote, mid-character), and it must still agree.
 */
import { describe, expect, it } from 'vitest';
import { FilePolicy } from '../../src/sql/policy.js';
import { rewriteDumpLine } from '../../src/sql/rewrite.js';
import { SqlScanner, type ScannerLimits, type ScanWatcher } from '../../src/sql/sqlscan.js';
import { ReferenceSqlScanner } from '../helpers/sqlscan-reference.js';

/** mulberry32: a small seeded PRNG, so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whole lines a pg_dump (or this action) writes, and some it never would. */
const LINES = [
  "INSERT INTO auth.users (id, raw_user_meta_data) VALUES ('1', '{\"a\": \"it''s -- not a comment; $$\"}');\n",
  'INSERT INTO public."Odd ""name""" (v) VALUES (\'x\');\n',
  "INSERT INTO auth.identities (id, data) VALUES ('2', 'multi\nline\n-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)\n');\n",
  "INSERT INTO storage.objects (id) VALUES (E'esc\\'aped \\\\');\n",
  'INSERT INTO "Mixed"."Case" (v) VALUES (1);\n',
  "INSERT INTO auth.users (id, raw_user_meta_data) VALUES ('3', NULL);\n",
  `INSERT INTO auth.users (id, note) VALUES ('3b', '${'a long value; -- past the short search '.repeat(3)}it''s'' "q" $$');\n`,
  "INSERT INTO auth.users (id, raw_user_meta_data) VALUES (E'4\\'', 'x');\n",
  "INSERT INTO auth.users (id, note) VALUES (E'5', 'a');\n",
  "INSERT INTO auth.users (id, note) VALUES ('6', 'open string\n",
  "INSERT INTO auth.users (id, note) VALUES (E'7 \\' still open\n",
  "INSERT INTO auth.users(id) VALUES ('8');\n",
  "INSERT INTO auth.usersX (id) VALUES ('9');\n",
  "INSERT INTO a'b (id) VALUES ('10');\n",
  "INSERT INTO public.é (id) VALUES ('11');\n",
  "INSERT INTO public.t (id) VALUES ($$12$$, '13');\n",
  "INSERT INTO public.t (id) VALUES (-- '14'\n",
  "INSERTINTO x VALUES ('15');\n",
  'COPY public.t (id, body) FROM stdin;\n',
  'COPY "weird"."t ""q""" (v) FROM stdin;\n',
  '1\trow with -- dashes and \'quotes\' and $$ dollars\n',
  '2\t\\\\.\n',
  '\\.\n',
  '\\.\r\n',
  '-- =====================================================\n',
  '-- COMPLETE DATABASE BACKUP\n',
  '-- PART 1: AUTH AND STORAGE DATA\n',
  '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)\n',
  '-- PART 3: USER OBJECTS ON AUTH AND STORAGE\n',
  '-- END OF BACKUP\n',
  '-- rows public.t 2\n',
  '-- rows auth.users 1\n',
  'BEGIN;\n',
  'COMMIT;\n',
  '\\restrict AbC\n',
  '\\unrestrict AbC\n',
  'SET transaction_timeout = 0;\n',
  'SET SESSION AUTHORIZATION supabase_admin;\n',
  'CREATE SCHEMA private;\n',
  'DROP SCHEMA IF EXISTS public;\n',
  'DROP TABLE IF EXISTS public.t;\n',
  'ALTER TABLE public.t OWNER TO supabase_admin;\n',
  'ALTER TABLE public.t OWNER TO postgres;\n',
  'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$\n',
  'SELECT 1; -- inside the body\n',
  '$body$;\n',
  'CREATE FUNCTION g() RETURNS text AS $$ SELECT $a$x$a$ $$;\n',
  '/* a block /* nested */ still\n',
  'comment */ SELECT 1;\n',
  '\n',
  '   \t\n',
  '\u00a0COPY public.nbsp (v) FROM stdin;\n',
  'SELECT "x$$y", $1, a$$b, typeE\'x\' FROM t;\n',
  'SELECT \'héllo 🎉 日本語\';\n',
  'SELECT 1 /*/ odd */;\n',
];

/** Atoms that push the lexer through every state, in any order. */
const ATOMS = [
  "'", "''", '"', '""', '$$', '$tag$', '$t$', '$1', 'a$', '--', '/*', '*/', '/*/', '*/*', ';', '\n', '\r\n', ' ', '\t',
  "E'", "e'", "xE'", '\\', "\\'", '\\\\', 'x', 'SELECT ', 'INSERT INTO a.b ', 'INSERT INTO "q""x".y ', 'COPY a.b FROM stdin;\n',
  '\\.', '\\.\n', 'é', '🎉', '\u00a0', '\u2003', '\ufeff', '-- PART 1: A\n', 'BEGIN;\n', 'COMMIT;\n', '$é$', '-', '/', '*',
];

function randomSql(random: () => number): string {
  const parts: string[] = [];
  const count = 1 + Math.floor(random() * 60);
  for (let i = 0; i < count; i++) {
    if (random() < 0.5) {
      parts.push(LINES[Math.floor(random() * LINES.length)]!);
    } else {
      const atoms = 1 + Math.floor(random() * 12);
      for (let j = 0; j < atoms; j++) parts.push(ATOMS[Math.floor(random() * ATOMS.length)]!);
    }
  }
  return parts.join('');
}

interface Outcome {
  out: string;
  report: unknown;
}

function reference(input: Buffer, rewrite: boolean): Outcome {
  const scanner = new ReferenceSqlScanner(rewrite ? rewriteDumpLine : undefined);
  const out = Buffer.concat([scanner.push(input), scanner.finish()]).toString('utf8');
  return { out, report: plain(scanner.report) };
}

function fast(input: Buffer, rewrite: boolean, sizes: () => number, parts: boolean, limits?: ScannerLimits): Outcome {
  const scanner = new SqlScanner(rewrite ? rewriteDumpLine : undefined, undefined, limits);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; ) {
    const size = Math.max(1, sizes());
    const chunk = input.subarray(i, i + size);
    if (parts) out.push(...scanner.pushParts(chunk));
    else out.push(scanner.push(chunk));
    i += size;
  }
  out.push(scanner.finish());
  return { out: Buffer.concat(out).toString('utf8'), report: plain(scanner.report) };
}

function plain(report: object): unknown {
  return JSON.parse(JSON.stringify(report, (_key, value: unknown) => (value instanceof Map ? Object.fromEntries(value) : value)));
}

describe('SqlScanner fast paths', () => {
  it('agree with the text scanner on random SQL in random chunks', () => {
    for (let seed = 1; seed <= Number(process.env.FUZZ_SEEDS ?? 400); seed++) {
      const random = prng(seed);
      const input = Buffer.from(randomSql(random), 'utf8');
      for (const rewrite of [false, true]) {
        const expected = reference(input, rewrite);
        const chunkings: Array<[string, () => number]> = [
          ['random 1-40', () => 1 + Math.floor(random() * 40)],
          ['random 1-400', () => 1 + Math.floor(random() * 400)],
          ['1', () => 1],
          ['whole', () => input.length],
        ];
        for (const [name, sizes] of chunkings) {
          const parts = random() < 0.5;
          const streamAfter = random() < 0.5 ? undefined : 1 + Math.floor(random() * 48);
          const actual = fast(input, rewrite, sizes, parts, { streamAfter });
          const context = `seed ${seed}, rewrite ${rewrite}, chunks ${name}, pushParts ${parts}, streamAfter ${streamAfter}`;
          expect(actual.report, context).toEqual(expected.report);
          expect(actual.out, context).toBe(expected.out);
        }
      }
    }
  });

  it('never decodes an INSERT line when nothing needs it, and still counts its row', () => {
    const long = 'x'.repeat(5000);
    const text = `INSERT INTO public."${'n'.repeat(200)}" (v) VALUES ('${long}');\nINSERT INTO public.t (v) VALUES ('${long}\n${long}');\n`;
    for (const size of [1, 7, 100, 4096, 1 << 20]) {
      const actual = fast(Buffer.from(text), true, () => size, true);
      expect(actual.out).toBe(text);
      expect(actual.report).toEqual(reference(Buffer.from(text), true).report);
    }
  });

  it('follows a string literal that spans thousands of lines in one chunk', () => {
    const body = Array.from({ length: 20_000 }, (_, i) => `line ${i} of a long value; -- PART 2: not a marker`).join('\n');
    const text = `INSERT INTO auth.users (v) VALUES ('${body}');\nCOMMIT;\n-- PART 3: USER OBJECTS ON AUTH AND STORAGE\n`;
    const input = Buffer.from(text);
    const actual = fast(input, true, () => input.length, true);
    expect(actual.report).toEqual(reference(input, true).report);
    expect(actual.out).toBe(text);
  });
});

/** Records what a watcher is told, to compare two scans. */
class Recorder implements ScanWatcher {
  readonly events: string[] = [];
  following = false;
  metaCommand(line: number, text: string): void {
    this.events.push(`meta ${line} ${text}`);
  }
  statement(line: number, text: string): void {
    this.events.push(`statement ${line} ${text}`);
    // Now and then, collect the next lines, as the file policy does for a statement it reads on.
    this.following = text.length % 3 === 0;
  }
  statementEnd(): void {
    this.events.push('end');
    this.following = false;
  }
  continuation(line: number, text: string): void {
    this.events.push(`continuation ${line} ${text}`);
  }
}

function watched(input: Buffer, sizes: () => number, limits: ScannerLimits): { out: string; report: unknown; events: string[] } {
  const recorder = new Recorder();
  const scanner = new SqlScanner(rewriteDumpLine, recorder, limits);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; ) {
    const size = Math.max(1, sizes());
    out.push(...scanner.pushParts(input.subarray(i, i + size)));
    i += size;
  }
  out.push(scanner.finish());
  return { out: Buffer.concat(out).toString('utf8'), report: plain(scanner.report), events: recorder.events };
}

describe('SqlScanner long lines', () => {
  it('tell a watcher what they tell it held whole, cut into random pieces anywhere', () => {
    const whole: ScannerLimits = { streamAfter: 1 << 30, holdLimit: 1 << 30 };
    for (let seed = 1; seed <= Number(process.env.FUZZ_SEEDS ?? 400) / 4; seed++) {
      const random = prng(seed);
      // Long lines: many atoms and lines with their newlines dropped now and then, so lines run past
      // the 4 KiB a watcher reads ahead and the scanner streams them.
      const pieces: string[] = [];
      while (pieces.join('').length < 40_000) {
        const piece = randomSql(random);
        pieces.push(random() < 0.7 ? piece.replace(/\n/g, ' ') : piece);
      }
      const input = Buffer.from(pieces.join(''), 'utf8');
      const expected = watched(input, () => input.length, whole);
      for (const [name, sizes] of [
        ['random 1-3000', () => 1 + Math.floor(random() * 3000)],
        ['random 1-40', () => 1 + Math.floor(random() * 40)],
      ] as Array<[string, () => number]>) {
        const actual = watched(input, sizes, { streamAfter: 1 });
        const context = `seed ${seed}, chunks ${name}`;
        expect(actual.report, context).toEqual(expected.report);
        expect(actual.events, context).toEqual(expected.events);
        expect(actual.out, context).toBe(expected.out);
      }
    }
  });
});

describe('the file policy on the scanner that rewrites', () => {
  it('refuses what it refuses reading the rewritten output a second time', () => {
    for (let seed = 1; seed <= Number(process.env.FUZZ_SEEDS ?? 400); seed++) {
      const random = prng(seed);
      const input = Buffer.from(randomSql(random), 'utf8');
      const size = 1 + Math.floor(random() * 400);
      // One pass: the policy watches the scanner that rewrites.
      const folded = new FilePolicy(rewriteDumpLine);
      const out: Buffer[] = [];
      for (let i = 0; i < input.length; i += size) out.push(...folded.scanner.pushParts(input.subarray(i, i + size)));
      out.push(folded.end());
      // Two passes: the rewritten output read again by a policy of its own.
      const rewriter = new SqlScanner(rewriteDumpLine);
      const written = Buffer.concat([rewriter.push(input), rewriter.finish()]);
      const second = new FilePolicy();
      second.push(written);
      const context = `seed ${seed}`;
      expect(Buffer.concat(out).toString('utf8'), context).toBe(written.toString('utf8'));
      expect(folded.problems, context).toEqual(second.finish());
      expect(plain(folded.scanner.report), context).toEqual(plain(rewriter.report));
    }
  });
});
