/**
 * Part1Rows: the rows PART 1 of a backup inserts into auth.users, auth.identities, storage.buckets and
 * storage.objects, read line by line from pg_dump's COPY blocks (backups since 2026-12) or its
 * --column-inserts output (older backups), and nothing else: not a look-alike inside a string or in
 * another table's COPY data, not anything after the PART 2 marker.
 */
import { describe, expect, it } from 'vitest';
import { LongStringCutter, Part1Rows, decodeCopyField, parseCopyFromStdin, parseInsert } from '../../src/restore/collisions.js';
import { LineSplitter } from '../../src/streams/lines.js';

function read(sql: string): Part1Rows {
  const rows = new Part1Rows();
  // Whole lines, as restore.ts feeds them after splitting its chunks.
  const lines = sql.split('\n');
  lines.forEach((line, i) => rows.line(i < lines.length - 1 ? `${line}\n` : line));
  return rows;
}

describe('parseInsert', () => {
  it('maps columns to values: strings with quotes and newlines, NULL, numbers, booleans, quoted identifiers', () => {
    const row = parseInsert(
      `INSERT INTO auth.users (id, email, "Weird ""Col""", n, flag, meta) VALUES ('a1', 'o''brien@x.test', NULL, -12.5, true, '{"a": "x\n-- PART 2: y"}');`,
    );
    expect(row).toEqual(
      new Map<string, string | null>([
        ['id', 'a1'],
        ['email', "o'brien@x.test"],
        ['Weird "Col"', null],
        ['n', '-12.5'],
        ['flag', 'true'],
        ['meta', '{"a": "x\n-- PART 2: y"}'],
      ]),
    );
  });

  it('refuses what is not a single-row INSERT with a column list', () => {
    expect(parseInsert('INSERT INTO auth.users VALUES (1);')).toBeNull();
    expect(parseInsert("INSERT INTO auth.users (id) VALUES ('unterminated);")).toBeNull();
  });
});

describe('Part1Rows', () => {
  const sql = [
    '-- COMPLETE DATABASE BACKUP',
    'BEGIN;',
    '-- PART 1: AUTH AND STORAGE DATA',
    'SET session_replication_role = replica;',
    "INSERT INTO auth.users (id, email, is_sso_user, raw_user_meta_data) VALUES ('u1', 'alice@example.test', false, '{\"bio\": \"line one",
    "INSERT INTO auth.users (id, email) VALUES (''fake'', ''inside-a-string@example.test'');",
    '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
    "still the string\"}');",
    "INSERT INTO auth.identities (id, provider_id, provider, user_id) VALUES ('i1', 'u1', 'email', 'u1');",
    "INSERT INTO auth.sessions (id, user_id) VALUES ('s1', 'u1');",
    "INSERT INTO storage.buckets (id, name) VALUES ('avatars', 'avatars');",
    "INSERT INTO storage.objects (id, bucket_id, name) VALUES ('o1', 'avatars', 'a/b.png');",
    'SET session_replication_role = DEFAULT;',
    '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
    "INSERT INTO auth.users (id, email) VALUES ('after', 'part2@example.test');",
    '',
  ].join('\n');

  it('reads the four tables of PART 1, multi-line rows whole, and stops at the PART 2 marker', () => {
    const rows = read(sql);
    expect(rows.done).toBe(true);
    const taken = rows.take();
    const users = taken.get('auth.users')!;
    expect(users).toHaveLength(1);
    expect(users[0]!.get('id')).toBe('u1');
    expect(users[0]!.get('raw_user_meta_data')).toContain("INSERT INTO auth.users (id, email) VALUES ('fake'");
    expect(taken.get('auth.identities')!.map((r) => r.get('provider'))).toEqual(['email']);
    expect(taken.get('storage.buckets')!.map((r) => r.get('name'))).toEqual(['avatars']);
    expect(taken.get('storage.objects')!.map((r) => r.get('name'))).toEqual(['a/b.png']);
    expect(rows.take().get('auth.users')).toEqual([]);
  });

  it('ignores INSERTs before the PART 1 marker', () => {
    const rows = read(`BEGIN;\nINSERT INTO auth.users (id) VALUES ('early');\n-- PART 1: AUTH AND STORAGE DATA\n`);
    expect(rows.take().get('auth.users')).toEqual([]);
  });
});

describe('PART 1 as COPY blocks', () => {
  const sql = [
    '-- PART 1: AUTH AND STORAGE DATA',
    'SET session_replication_role = replica;',
    'COPY auth.users (instance_id, id, email, "Odd ""Col""", is_sso_user, raw_user_meta_data, phone) FROM stdin;',
    '\\N\tu1\talice@example.test\tx\tf\t{"bio": "line one\\nline two\\t\\\\ -- PART 2: \'q\'"}\t\\N',
    '\\N\tu2\tsso@example.test\t\\N\tt\t{}\t+15550001',
    '\\.',
    'COPY auth.sessions (id, user_id) FROM stdin;',
    "s1\tINSERT INTO auth.users (id, email) VALUES ('fake', 'in-a-session@example.test');",
    "s2\tit's -- not a comment; \"x\"",
    '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
    '\\.',
    'COPY auth.identities (id, provider_id, provider, user_id) FROM stdin;',
    'i1\tu1\temail\tu1',
    '\\.',
    'COPY storage.buckets (id, name) FROM stdin;',
    'avatars\tavatars',
    '\\.',
    "INSERT INTO storage.objects (id, bucket_id, name) VALUES ('o1', 'avatars', 'a/b.png');",
    'SET session_replication_role = DEFAULT;',
    '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
    'COPY auth.users (id, email) FROM stdin;',
    'after\tpart2@example.test',
    '\\.',
    '',
  ].join('\n');

  it("reads the checked tables' rows (NULL, escapes, quoted names), skips other tables' data, stops at PART 2", () => {
    const rows = read(sql);
    expect(rows.done).toBe(true);
    const taken = rows.take();
    const users = taken.get('auth.users')!;
    expect(users.map((u) => [u.get('id'), u.get('email'), u.get('is_sso_user'), u.get('phone')])).toEqual([
      ['u1', 'alice@example.test', 'f', null],
      ['u2', 'sso@example.test', 't', '+15550001'],
    ]);
    expect(users[0]!.get('instance_id')).toBeNull();
    expect(users[0]!.get('Odd "Col"')).toBe('x');
    expect(users[0]!.get('raw_user_meta_data')).toBe('{"bio": "line one\nline two\t\\ -- PART 2: \'q\'"}');
    expect(taken.get('auth.identities')!.map((r) => r.get('provider'))).toEqual(['email']);
    expect(taken.get('storage.buckets')!.map((r) => r.get('name'))).toEqual(['avatars']);
    expect(taken.get('storage.objects')!.map((r) => r.get('name'))).toEqual(['a/b.png']);
  });

  it('decodes COPY text fields and column lists', () => {
    expect(decodeCopyField('\\N')).toBeNull();
    expect(decodeCopyField('plain')).toBe('plain');
    expect(decodeCopyField('a\\tb\\nc\\\\d\\re\\bf\\fg\\vh')).toBe('a\tb\nc\\d\re\bf\fg\vh');
    expect(decodeCopyField('\\101\\x42\\.')).toBe('AB.');
    expect(parseCopyFromStdin('COPY auth.users (id, "E""mail") FROM stdin;\n')).toEqual({ table: 'auth.users', columns: ['id', 'E"mail'] });
    expect(parseCopyFromStdin('COPY auth.sessions (id) FROM stdin;\n')).toEqual({ table: null, columns: [] });
    expect(parseCopyFromStdin('COPY auth.users_x (id) FROM stdin;\n')).toEqual({ table: null, columns: [] });
    expect(parseCopyFromStdin("INSERT INTO auth.users (id) VALUES ('1');\n")).toBeNull();
  });
});

describe('LongStringCutter', () => {
  /** PART 1 with a long value (quotes, doubled quotes, a comment's apostrophe, a quoted name) in random chunks. */
  function part1(valueBytes: number): Buffer {
    const value = `${"it''s -- not a comment; \"x\" ".repeat(Math.ceil(valueBytes / 28))}`;
    return Buffer.from(
      [
        "-- the project's backup",
        '-- PART 1: AUTH AND STORAGE DATA',
        `INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES ('u1', 'a@x.test', '{"v": "${value}"}');`,
        `INSERT INTO auth.users ("id", email, raw_user_meta_data) VALUES ('u2', 'b@x.test', 'short');`,
        '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
        '',
      ].join('\n'),
    );
  }

  function readCut(input: Buffer, sizes: () => number, kept: number): { rows: Part1Rows; longest: number } {
    const rows = new Part1Rows();
    const cutter = new LongStringCutter(kept);
    let longest = 0;
    const lines = new LineSplitter((line) => {
      longest = Math.max(longest, line.length);
      rows.line(line.toString('utf8'));
    }, 1 << 30);
    for (let i = 0; i < input.length; ) {
      const size = Math.max(1, sizes());
      lines.push(cutter.filter(input.subarray(i, i + size)));
      i += size;
    }
    lines.finish();
    return { rows, longest };
  }

  it('cuts a long value short, whatever the chunking, and leaves every other value as it was', () => {
    const input = part1(4 * 1024 * 1024);
    let seed = 7;
    const varied = (): number => (seed = (seed * 48271) % 2147483647) % 100;
    for (const [name, sizes] of [
      ['varied 1-100', varied],
      ['64 KB', () => 65536],
    ] as Array<[string, () => number]>) {
      const { rows, longest } = readCut(input, sizes, 1024);
      const users = rows.take().get('auth.users')!;
      expect(users.map((u) => [u.get('id'), u.get('email')]), name).toEqual([['u1', 'a@x.test'], ['u2', 'b@x.test']]);
      expect(users[0]!.get('raw_user_meta_data')!.length, name).toBeLessThanOrEqual(1024 + 2);
      expect(users[1]!.get('raw_user_meta_data'), name).toBe('short');
      expect(longest, name).toBeLessThan(2048);
    }
    // One, two and three bytes at a time (a quote pair or a `--` cut anywhere), on a shorter file.
    const small = part1(3000);
    for (const sizes of [() => 1, () => 2, () => 3]) {
      const cut = readCut(small, sizes, 100).rows.take().get('auth.users')!;
      expect(cut.map((u) => u.get('email'))).toEqual(['a@x.test', 'b@x.test']);
      const whole = readCut(small, sizes, Infinity).rows.take().get('auth.users')!;
      expect(whole[0]!.get('raw_user_meta_data')).toBe(`{"v": "${"it's -- not a comment; \"x\" ".repeat(Math.ceil(3000 / 28))}"}`);
    }
  });

  /** PART 1 as COPY: a long field (with escapes and quotes) between short ones, in another table too. */
  function copyPart1(valueBytes: number): Buffer {
    const value = 'it\'s \\\\ a \\t "x" -- '.repeat(Math.ceil(valueBytes / 20));
    return Buffer.from(
      [
        '-- PART 1: AUTH AND STORAGE DATA',
        'COPY auth.sessions (id, note) FROM stdin;',
        `s1\t'${value}`,
        '\\.',
        'COPY auth.flow_state (id) FROM stdin;',
        'ab',
        `'${value}`,
        '\\.',
        'COPY auth.users (id, email, raw_user_meta_data, phone) FROM stdin;',
        `u1\ta@x.test\t{"v": "${value}"}\t+1555`,
        'u2\tb@x.test\tshort\t\\N',
        '\\.',
        `INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES ('u3', 'c@x.test', '${value.replace(/'/g, "''")}');`,
        '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
        '',
      ].join('\n'),
    );
  }

  it('cuts a long COPY field short, whatever the chunking or where its escapes fall, and leaves the other fields whole', () => {
    const input = copyPart1(200_000);
    let seed = 11;
    const varied = (): number => (seed = (seed * 48271) % 2147483647) % 100;
    // Cuts at every offset of the value's escapes, and chunks of every shape.
    for (const kept of [1000, 1001, 1002, 1003, 1004, 1005]) {
      for (const [name, sizes] of [
        ['varied 1-100', varied],
        ['64 KB', () => 65536],
      ] as Array<[string, () => number]>) {
        const { rows, longest } = readCut(input, sizes, kept);
        const users = rows.take().get('auth.users')!;
        const what = `${name}, kept ${kept}`;
        expect(users.map((u) => [u.get('id'), u.get('email'), u.get('phone')]), what).toEqual([
          ['u1', 'a@x.test', '+1555'],
          ['u2', 'b@x.test', null],
          ['u3', 'c@x.test', undefined],
        ]);
        expect(users[0]!.get('raw_user_meta_data')!.length, what).toBeLessThanOrEqual(kept + 1);
        expect(users[1]!.get('raw_user_meta_data'), what).toBe('short');
        expect(longest, what).toBeLessThan(4 * kept);
        expect(rows.done, what).toBe(true);
      }
    }
    const small = copyPart1(3000);
    const cut = readCut(small, () => 1, 100).rows.take().get('auth.users')!;
    expect(cut.map((u) => u.get('phone'))).toEqual(['+1555', null, undefined]);
    const whole = readCut(small, () => 3, Infinity).rows.take().get('auth.users')!;
    expect(whole[0]!.get('raw_user_meta_data')).toBe(`{"v": "${'it\'s \\ a \t "x" -- '.repeat(150)}"}`);
  });

  it('passes the bytes unchanged when nothing is longer than it keeps', () => {
    const input = part1(3000);
    const cutter = new LongStringCutter(1 << 20);
    const out: Buffer[] = [];
    for (let i = 0; i < input.length; i += 7) out.push(cutter.filter(input.subarray(i, i + 7)));
    expect(Buffer.concat(out).equals(input)).toBe(true);
  });
});
