import { describe, expect, it } from 'vitest';
import { rewriteDumpLine } from '../../src/sql/rewrite.js';
import { SqlScanner, manifestName, parseManifestName } from '../../src/sql/sqlscan.js';

/** Feeds `text` in chunks of `size` bytes and returns the output and the report. */
function scan(text: string, size: number, rewrite = false): { out: string; scanner: SqlScanner } {
  const scanner = new SqlScanner(rewrite ? rewriteDumpLine : undefined);
  const input = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) parts.push(scanner.push(input.subarray(i, i + size)));
  parts.push(scanner.finish());
  return { out: Buffer.concat(parts).toString('utf8'), scanner };
}

const CHUNK_SIZES = [1, 2, 3, 5, 7, 64, 1 << 20];

const DUMP = [
  '-- =====================================================',
  '-- COMPLETE DATABASE BACKUP',
  '\\restrict AbC123',
  'SET transaction_timeout = 0;',
  'BEGIN;',
  '-- PART 1: AUTH AND STORAGE DATA',
  "INSERT INTO auth.users (id, raw_user_meta_data) VALUES ('1', '{\"a\": 1}');",
  "INSERT INTO auth.users (id, raw_user_meta_data) VALUES ('2', 'line one",
  '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
  "INSERT INTO auth.users (id) VALUES (''x'');",
  "CREATE SCHEMA inside_a_string;');",
  "INSERT INTO auth.users (id) VALUES ('3;'); -- trailing comment",
  "INSERT INTO public.\"Odd name\" (id) VALUES (E'it\\'s \\\\');",
  '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
  'CREATE SCHEMA private;',
  'DROP SCHEMA IF EXISTS public;',
  'DROP TABLE IF EXISTS public.t;',
  'CREATE FUNCTION public.f() RETURNS void LANGUAGE plpgsql AS $body$',
  'BEGIN',
  '  -- PART 3: USER OBJECTS ON AUTH AND STORAGE',
  '  SET transaction_timeout = 0;',
  'CREATE SCHEMA foo;',
  '\\restrict inside_body',
  'END',
  '$body$;',
  'COPY public.tricky (id, body) FROM stdin;',
  '1\tline\\nwith newline',
  '2\t-- PART 3: USER OBJECTS ON AUTH AND STORAGE',
  '3\t\\\\.',
  '4\tCREATE SCHEMA x;',
  '\\.',
  'COPY public.empty (id) FROM stdin;',
  '\\.',
  '/* a block comment /* nested */ still comment',
  '-- PART 3: USER OBJECTS ON AUTH AND STORAGE',
  '*/',
  '-- PART 3: USER OBJECTS ON AUTH AND STORAGE',
  'ALTER TABLE public.t OWNER TO supabase_admin;',
  'ALTER TABLE public.u OWNER TO postgres;',
  'ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON TABLES TO postgres;',
  'COMMIT;',
  '-- END OF BACKUP',
  '-- rows auth.users 3',
  '-- rows public.tricky 4',
  '',
].join('\n');

describe('SqlScanner', () => {
  it.each(CHUNK_SIZES)('finds statements, rows and markers the same way in chunks of %i bytes', (size) => {
    const { scanner } = scan(DUMP, size);
    const report = scanner.report;
    expect(report.markers).toEqual([1, 2, 3]);
    expect(Object.fromEntries(report.rows)).toEqual({
      'auth.users': 3,
      'public."Odd name"': 1,
      'public.tricky': 4,
      'public.empty': 0,
    });
    expect(report.transaction).toEqual({ begin: 1, commit: 1 });
    expect(report.complete).toBe(true);
    expect(Object.fromEntries(report.manifest!)).toEqual({ 'auth.users': 3, 'public.tricky': 4 });
    expect(report.endState).toBe('normal');
    expect(report.header).toContain('-- COMPLETE DATABASE BACKUP');
  });

  it.each(CHUNK_SIZES)('rewrites statement lines only, never data or bodies (chunks of %i)', (size) => {
    const { out } = scan(DUMP, size, true);
    const lines = out.split('\n');
    expect(lines).toContain('-- [psql 17.6+ only] \\restrict AbC123');
    expect(lines).toContain('-- [PostgreSQL 17+ only] SET transaction_timeout = 0;');
    expect(lines).toContain('CREATE SCHEMA IF NOT EXISTS private;');
    expect(lines).toContain('-- [schemas are kept] DROP SCHEMA IF EXISTS public;');
    expect(lines).toContain('-- [reserved role] ALTER TABLE public.t OWNER TO supabase_admin;');
    expect(lines).toContain('ALTER TABLE public.u OWNER TO postgres;');
    expect(lines).toContain('DROP TABLE IF EXISTS public.t CASCADE;');
    expect(lines.some((l) => l.startsWith('-- [reserved role] ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin'))).toBe(true);
    // untouched: inside a string, a dollar-quoted body and COPY data
    expect(lines).toContain("CREATE SCHEMA inside_a_string;');");
    expect(lines).toContain('  SET transaction_timeout = 0;');
    expect(lines).toContain('CREATE SCHEMA foo;');
    expect(lines).toContain('\\restrict inside_body');
    expect(lines).toContain('4\tCREATE SCHEMA x;');
    // everything else byte for byte
    expect(out.replace(/-- \[[^\]]+\] /g, '').replace('CREATE SCHEMA IF NOT EXISTS private', 'CREATE SCHEMA private').replace(' CASCADE;', ';')).toBe(DUMP);
  });

  it('reports a file cut inside a COPY block or a string', () => {
    const cut = DUMP.slice(0, DUMP.indexOf('3\t\\\\.'));
    expect(scan(cut, 64).scanner.report.endState).toBe('copy');
    expect(scan(cut, 64).scanner.report.complete).toBe(false);
    const inString = DUMP.slice(0, DUMP.indexOf('-- PART 2'));
    expect(scan(inString, 64).scanner.report.endState).toBe('squote');
  });

  it('counts a COPY row longer than many chunks once', () => {
    const long = 'x'.repeat(100_000);
    const text = `COPY public.big (v) FROM stdin;\n${long}\n${long}\n\\.\n`;
    const { out, scanner } = scan(text, 4096, true);
    expect(scanner.report.rows.get('public.big')).toBe(2);
    expect(out).toBe(text);
  });

  it('counts the rows of a COPY block still running in rowsSoFar (the progress line), once', () => {
    const scanner = new SqlScanner();
    scanner.push(Buffer.from("INSERT INTO auth.users (id) VALUES ('1');\nCOPY public.t (v) FROM stdin;\na\nb\n"));
    expect(scanner.report.rows.get('public.t')).toBeUndefined();
    expect(scanner.rowsSoFar()).toBe(3);
    scanner.push(Buffer.from('c\n\\.\n'));
    expect(scanner.report.rows.get('public.t')).toBe(3);
    expect(scanner.rowsSoFar()).toBe(4);
  });

  it('passes non-UTF-8-aligned chunks of multi-byte text through unchanged', () => {
    const text = "INSERT INTO auth.users (v) VALUES ('héllo 🎉 日本語\n-- PART 1: AUTH AND STORAGE DATA\n');\n";
    for (const size of [1, 2, 3]) {
      const { out, scanner } = scan(text, size, true);
      expect(out).toBe(text);
      expect(scanner.report.markers).toEqual([]);
      expect(scanner.report.rows.get('auth.users')).toBe(1);
    }
  });
});

describe('names with a newline, a tab or two spaces', () => {
  const NAMES = [
    'DROP SCHEMA IF EXISTS "odd\nschema";',
    'CREATE SCHEMA "odd\nschema";',
    'COPY "odd\nschema"."t  1" (id, "x\ny", "c\td") FROM stdin;',
    '1\ta\t2',
    '2\tb\t3',
    '\\.',
    'COPY public."new\nline" (id) FROM stdin;',
    '7',
    '\\.',
    '-- =====================================================',
    '-- END OF BACKUP',
    '-- rows "odd\\nschema"."t  1" 2',
    '-- rows public."new\\nline" 1',
    '-- rows public."tab\\there" 0',
    '',
  ].join('\n');

  it.each(CHUNK_SIZES)('counts the rows of a COPY whose names hold newlines, reads the manifest, comments out whole lines (chunks of %i)', (size) => {
    const { out, scanner } = scan(NAMES, size, true);
    expect(scanner.report.rows).toEqual(new Map([['"odd\nschema"."t  1"', 2], ['public."new\nline"', 1]]));
    expect(scanner.report.manifest).toEqual(
      new Map([['"odd\nschema"."t  1"', 2], ['public."new\nline"', 1], ['public."tab\there"', 0]]),
    );
    expect(scanner.report.endState).toBe('normal');
    expect(out).toContain('-- [schemas are kept] DROP SCHEMA IF EXISTS "odd\n-- schema";\n');
    expect(out).toContain('CREATE SCHEMA IF NOT EXISTS "odd\nschema";\n');
  });

  it('writes a manifest name on one line and reads it back', () => {
    for (const name of ['public."tab\there"', 'public."two  spaces"', 'public."new\nline"', 'public."back\\slash"', 'public."nul\x01"']) {
      expect([...manifestName(name)].some((c) => c < " ")).toBe(false);
      expect(parseManifestName(manifestName(name))).toBe(name);
    }
  });
});
