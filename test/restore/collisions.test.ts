/**
 * Part1Rows: the rows PART 1 of a backup inserts into auth.users, auth.identities, storage.buckets and
 * storage.objects, read line by line from pg_dump's --column-inserts output, and nothing else: not a
 * look-alike inside a string, not anything after the PART 2 marker.
 */
import { describe, expect, it } from 'vitest';
import { Part1Rows, parseInsert } from '../../src/restore/collisions.js';

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
