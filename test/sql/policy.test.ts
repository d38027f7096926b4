/**
 * The file policy (src/sql/policy.ts): a backup file holds no psql meta-command but the product's own,
 * wherever psql would run one, and no statement a backup never writes; the rewrite never leaves the
 * tail of a commented-out statement to run; names are escaped in the header and in log text.
 */
import { describe, expect, it } from 'vitest';
import { fileHeader, part1Open, part2Open, part3, fileFooter, type FileMeta } from '../../src/backup/merge.js';
import type { BackupPlan } from '../../src/backup/catalog.js';
import { displayName, neutraliseWorkflowCommands, printable } from '../../src/log.js';
import { FilePolicy, recordedSha256Prefix } from '../../src/sql/policy.js';
import { rewriteDumpLine } from '../../src/sql/rewrite.js';
import { SqlScanner } from '../../src/sql/sqlscan.js';

const META: FileMeta = {
  generatedAt: new Date('2026-11-29T23:45:00.000Z'),
  serverVersion: '17.6',
  serverMajor: 17,
  pgDumpVersion: '17.6',
  pgDumpMajor: 17,
  snapshotId: '00000003-00000002-1',
  userSchemas: ['public'],
};

const PLAN = {
  managedTables: [],
  userSchemas: ['public', 'tenant "x"'],
  userTables: [],
  extensions: [{ name: 'pgcrypto', schema: 'extensions' }],
  publication: ['ALTER PUBLICATION supabase_realtime ADD TABLE ONLY public.notes;'],
  userObjectsOnManaged: {
    triggers: ['CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();'],
    policies: ['CREATE POLICY "own files" ON storage.objects AS PERMISSIVE FOR SELECT TO authenticated USING ((auth.uid() = owner));'],
  },
  customRoles: [{ name: 'app_reader', login: false, inherit: true }, { name: "it's", login: true, inherit: false }],
  warnings: [],
} as unknown as BackupPlan;

/** A backup file as the merge writes it, with `part2` as PART 2's dump and `part1` as PART 1's. */
function backupFile(part2 = '', part1 = ''): string {
  return [
    fileHeader(META),
    part1Open(),
    "INSERT INTO auth.users (id, email) VALUES ('u1', 'a@example.com');\n",
    part1,
    '\nSET session_replication_role = DEFAULT;\n',
    part2Open(PLAN),
    'SET statement_timeout = 0;\n',
    "SELECT pg_catalog.set_config('search_path', '', false);\n",
    'CREATE TABLE public.notes (\n    id integer NOT NULL,\n    body text DEFAULT \'\\! not a command\'\n);\n',
    'COPY public.notes (id, body) FROM stdin;\n1\t\\\\! id\n2\tSELECT 1; \\! id\n\\.\n',
    'CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $$SELECT \'\\! inside a body\'$$;\n',
    'ALTER TABLE ONLY public.notes ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES auth.users(id);\n',
    'CREATE POLICY p ON public.notes USING ((auth.uid() IS NOT NULL));\n',
    "SELECT pg_catalog.setval('public.notes_id_seq', 1, false);\n",
    part2,
    PLAN.publication.join('\n'),
    '\n',
    part3(PLAN),
    fileFooter(new Map([['auth.users', 1], ['public.notes', 2]])),
  ].join('');
}

function problemsOf(text: string, chunk = 7): { line: number; reason: string }[] {
  const policy = new FilePolicy();
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += chunk) policy.push(bytes.subarray(i, i + chunk));
  return policy.finish();
}

function lineOf(text: string, needle: string): number {
  return text.slice(0, text.lastIndexOf(needle)).split('\n').length;
}

describe('the file policy', () => {
  it("accepts a file as the product writes it (its own \\set and \\echo lines, role preamble, PART 3)", () => {
    for (const chunk of [1, 7, 4096]) expect(problemsOf(backupFile(), chunk)).toEqual([]);
  });

  it.each([
    ['\\! touch /tmp/x'],
    ['\\o /tmp/out'],
    ["\\copy (SELECT 1) TO PROGRAM 'touch /tmp/x'"],
    ['\\i /etc/passwd'],
    ['\\setenv PGPASSWORD x'],
    ['SELECT 1 \\gexec'],
    ['SELECT 1; \\! id'],
    ['   \\! id'],
    ["\\echo `id`"],
    ['\\set ON_ERROR_STOP off'],
    ['\\restrict abc'],
  ])('refuses the meta-command in %j, naming its line', (line) => {
    const file = backupFile(`${line}\n`);
    const problems = problemsOf(file);
    const meta = problems.find((p) => p.reason.startsWith('psql meta-command'));
    expect(meta?.line).toBe(lineOf(file, line));
    expect(meta!.reason).toMatch(/psql meta-command «\\.*»: a backup file runs no commands/);
  });

  it('refuses a meta-command on the line after a multi-line statement began, and in the header', () => {
    expect(problemsOf(backupFile('CREATE VIEW public.v AS\n\\! id\nSELECT 1;\n'))[0]!.reason).toContain('«\\! id»');
    const header = backupFile().replace('BEGIN;\n', 'BEGIN;\n\\! id\n');
    expect(problemsOf(header)[0]!.reason).toContain('«\\! id»');
  });

  it.each([
    ["CREATE ROLE evil LOGIN PASSWORD 'x';", 'creates, alters or drops roles'],
    ['ALTER ROLE app_reader SUPERUSER;', 'creates, alters or drops roles'],
    ['  create user evil;', 'creates, alters or drops roles'],
    ['GRANT postgres TO app_reader;', 'role membership'],
    ['GRANT supabase_admin TO app_reader;', 'role membership'],
    ['SET ROLE supabase_admin;', 'changes the role it runs as'],
    ['SET SESSION AUTHORIZATION supabase_admin;', 'changes the role it runs as'],
    ['RESET ROLE;', 'changes the role it runs as'],
    ["SELECT pg_catalog.set_config('role', 'supabase_admin', false);", 'SELECT that a backup does not write'],
    ['SELECT public.evil();', 'SELECT that a backup does not write'],
    ['ALTER TABLE auth.users ADD COLUMN x text;', 'changes «auth.users», a Supabase-managed schema'],
    ['CREATE TABLE\n  "storage".sneaky (id int);', 'changes «storage.sneaky», a Supabase-managed schema'],
    ['CREATE TRIGGER t AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.f();', 'a Supabase-managed schema'],
    ['DROP SCHEMA auth CASCADE;', 'changes «auth», a Supabase-managed schema'],
    ['GRANT ALL ON SCHEMA vault TO anon;', 'changes «vault», a Supabase-managed schema'],
    ['ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin GRANT ALL ON TABLES TO anon;', 'default privileges of a reserved role'],
    ['ALTER TABLE public.notes OWNER TO supabase_admin;', 'reserved role'],
    ['DO $$BEGIN CREATE ROLE x SUPERUSER; END$$;', 'DO block that is not one of the backup'],
    ["DO $roles$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'x') THEN CREATE ROLE \"x\" LOGIN SUPERUSER; END IF;\nEND\n$roles$;", 'DO block'],
    ["COPY public.notes FROM PROGRAM 'id';", 'COPY only reads FROM stdin'],
    ['CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION public.f();', 'event triggers'],
    ['ALTER SYSTEM SET log_statement = none;', 'not a statement a backup holds'],
    ['SELECT 1; CREATE ROLE evil;', 'creates, alters or drops roles'],
  ])('refuses %j in PART 2', (statement, reason) => {
    const file = backupFile(`${statement}\n`);
    const problems = problemsOf(file);
    expect(problems.map((p) => p.reason).join('\n')).toContain(reason);
    expect(problems[0]!.line).toBe(lineOf(file, statement));
  });

  it('refuses statements outside the PART layout', () => {
    expect(problemsOf(backupFile().replace('BEGIN;\n', 'BEGIN;\nCREATE TABLE public.early (id int);\n'))[0]!.reason).toContain('before PART 1');
    expect(problemsOf(backupFile('', 'CREATE TABLE public.x (id int);\n'))[0]!.reason).toContain('PART 1 holds only data');
    expect(problemsOf(backupFile('', "INSERT INTO public.x VALUES (1);\n"))[0]!.reason).toContain('PART 1 holds only data');
    expect(problemsOf(backupFile('', 'COPY public.x (id) FROM stdin;\n1\n\\.\n'))[0]!.reason).toContain('PART 1 holds only data');
    expect(problemsOf(backupFile('', 'COPY auth.identities (id, "Provider") FROM stdin;\ni1\temail\n\\.\n'))).toEqual([]);
    const part3Extra = backupFile().replace('\nCOMMIT;\n', '\nALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;\nCOMMIT;\n');
    expect(problemsOf(part3Extra)[0]!.reason).toContain('PART 3 holds only triggers and policies');
    const afterCommit = `${backupFile()}DROP TABLE public.notes;\n`;
    expect(problemsOf(afterCommit)[0]!.reason).toContain("after the backup's COMMIT");
  });

  it('never looks inside COPY data, strings, function bodies or comments', () => {
    const file = backupFile("-- \\! a comment\n/* \\! a block comment */\nCOMMENT ON TABLE public.notes IS 'CREATE ROLE x; \\! id';\n");
    expect(problemsOf(file)).toEqual([]);
  });
});

describe('the rewrite of a multi-line statement', () => {
  function rewrite(sql: string): string {
    const scanner = new SqlScanner(rewriteDumpLine);
    const out = Buffer.concat([scanner.push(Buffer.from(sql)), scanner.finish()]).toString('utf8');
    return out;
  }

  it("comments out pg_dump's DROP SCHEMA of a name with a newline and \\! to its end", () => {
    const out = rewrite('DROP SCHEMA IF EXISTS "a\n\\! touch /tmp/pwned\n";\nCREATE SCHEMA "a\n\\! touch /tmp/pwned\n";\n');
    expect(out).toBe(
      '-- [schemas are kept] DROP SCHEMA IF EXISTS "a\n-- \\! touch /tmp/pwned\n-- ";\n' +
        'CREATE SCHEMA IF NOT EXISTS "a\n\\! touch /tmp/pwned\n";\n',
    );
    expect(problemsOf(backupFile(out))).toEqual([]);
  });

  it('reads a quoted name that looks like the end of its statement as a name: the statement stays whole', () => {
    // The owner is postgres; "OWNER TO supabase_admin;" and "\\! id" are inside the table's name.
    const sql = 'ALTER TABLE public."x OWNER TO supabase_admin;\n\\! id\n" OWNER TO postgres;\nSELECT 1;\n';
    expect(rewrite(sql)).toBe(sql);
  });

  it('comments out every line of an OWNER TO a reserved role whose quoted name runs on', () => {
    const out = rewrite('ALTER TABLE public."x\n\\! id\n" OWNER TO supabase_admin;\nSELECT 1;\n');
    expect(out.split('\n').slice(0, 3).every((line) => line.startsWith('--'))).toBe(true);
    expect(out).toContain('\nSELECT 1;\n');
  });
});

describe('names from the database in comments and logs', () => {
  const hostile = 'a\n\\! touch /tmp/pwned\n::error::x\t"q"';

  it('the header holds them escaped, on one line', () => {
    const header = fileHeader({ ...META, userSchemas: ['public', hostile] });
    const includes = header.split('\n').find((line) => line.startsWith('-- Includes:'))!;
    expect(includes).toBe(
      '-- Includes: auth (data), storage (data), public, "a\\n\\! touch /tmp/pwned\\n::error::x\\t""q""" (schema + data)',
    );
    expect(header.split('\n').filter((line) => line.startsWith('\\'))).toEqual(['\\set ON_ERROR_STOP on']);
  });

  it('printable and displayName leave no control character; workflow commands are neutralised at line starts', () => {
    expect(printable('a\nb\r\u001b[31m\u0085\u2028')).toBe('a\\nb\\r\\u001b[31m\\u0085\\u2028');
    expect(displayName('plain_name')).toBe('plain_name');
    // eslint-disable-next-line no-control-regex
    expect(displayName(hostile)).not.toMatch(/[\u0000-\u001f]/);
    expect(neutraliseWorkflowCommands('ok\n::error::x\n  ::warning::y')).toBe('ok\n:\u200b:error::x\n  :\u200b:warning::y');
  });
});

describe('the sha256 a name records', () => {
  it('is read from full_<time>_<8 hex>.sql[.gz][.age] only', () => {
    expect(recordedSha256Prefix('/x/full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql.gz.age')).toBe('3fa9c1d2');
    expect(recordedSha256Prefix('full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql')).toBe('3fa9c1d2');
    expect(recordedSha256Prefix('backup.sql')).toBeNull();
  });
});
