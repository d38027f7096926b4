/** The statement-line rewrites that make pg_dump's output restorable as `postgres` into a hosted project. */
import { describe, expect, it } from 'vitest';
import { fileHeader, versionGuard } from '../../src/backup/merge.js';
import { dumpLineRewriter, rewriteDumpLine } from '../../src/sql/rewrite.js';
import { SqlScanner } from '../../src/sql/sqlscan.js';
import { olderTargetProblem, sourceVersionOf } from '../../src/sql/verify.js';

describe('DROP POLICY / DROP TRIGGER from pg_dump --clean (hosted supautils refuses them on a missing table)', () => {
  it('comments them out: DROP TABLE ... CASCADE drops the policies and triggers of an existing table', () => {
    expect(rewriteDumpLine('DROP POLICY IF EXISTS "own notes" ON public.notes;\n')).toBe(
      '-- [dropped with its table] DROP POLICY IF EXISTS "own notes" ON public.notes;\n',
    );
    expect(rewriteDumpLine('DROP TRIGGER IF EXISTS touch ON "Reporting"."Monthly";\n')).toBe(
      '-- [dropped with its table] DROP TRIGGER IF EXISTS touch ON "Reporting"."Monthly";\n',
    );
    expect(rewriteDumpLine('DROP TABLE IF EXISTS public.notes;\n')).toBe('DROP TABLE IF EXISTS public.notes CASCADE;\n');
  });

  it('leaves data alone: a COPY row that reads like the statement is not a statement line', () => {
    const scanner = new SqlScanner(rewriteDumpLine);
    const sql = 'COPY public.t (body) FROM stdin;\nDROP POLICY IF EXISTS x ON public.t;\n\\.\n';
    expect(scanner.push(Buffer.from(sql)).toString()).toBe(sql);
  });
});

describe('table privileges of a PostgreSQL 15/16 source dumped by pg_dump 17', () => {
  const from15by17 = dumpLineRewriter({ sourceMajor: 15, dumpMajor: 17 });
  const list = 'SELECT,INSERT,REFERENCES,DELETE,TRIGGER,TRUNCATE,UPDATE';

  it("turns the spelled-out list of every old privilege back into ALL (PostgreSQL 17's ALL adds MAINTAIN)", () => {
    expect(from15by17(`GRANT ${list} ON TABLE public.t TO anon;\n`)).toBe('GRANT ALL ON TABLE public.t TO anon;\n');
    expect(from15by17(`ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ${list} ON TABLES TO anon;\n`)).toBe(
      'ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO anon;\n',
    );
    expect(from15by17(`GRANT ${list} ON TABLE public.t TO app WITH GRANT OPTION;\n`)).toBe(
      'GRANT ALL ON TABLE public.t TO app WITH GRANT OPTION;\n',
    );
  });

  it('keeps partial lists, other objects, other version pairs, and the reserved-role rule', () => {
    expect(from15by17('GRANT SELECT,INSERT ON TABLE public.t TO anon;\n')).toBe('GRANT SELECT,INSERT ON TABLE public.t TO anon;\n');
    expect(from15by17('GRANT ALL ON SEQUENCE public.s TO anon;\n')).toBe('GRANT ALL ON SEQUENCE public.s TO anon;\n');
    const same = `GRANT ${list} ON TABLE public.t TO anon;\n`;
    expect(dumpLineRewriter({ sourceMajor: 17, dumpMajor: 17 })(same)).toBe(same);
    expect(dumpLineRewriter({ sourceMajor: 15, dumpMajor: 15 })(same)).toBe(same);
    expect(from15by17(`ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ${list} ON TABLES TO anon;\n`)).toMatch(
      /^-- \[reserved role\] /,
    );
  });
});

describe('the version guard: a file from PostgreSQL 17 stops before any change on an older server', () => {
  const meta = { generatedAt: new Date('2026-11-29T23:45:00Z'), serverVersion: '17.6', serverMajor: 17, pgDumpVersion: '17.6', pgDumpMajor: 17, snapshotId: 's', userSchemas: ['public'] };

  it('compares server_version_num with the source major, before BEGIN', () => {
    const header = fileHeader(meta);
    expect(header.indexOf(versionGuard(meta))).toBeGreaterThan(header.indexOf('\\set ON_ERROR_STOP on'));
    expect(header.indexOf(versionGuard(meta))).toBeLessThan(header.indexOf('\nBEGIN;'));
    expect(versionGuard(meta)).toContain("current_setting('server_version_num')::int < 170000");
    expect(versionGuard(meta)).toContain('this backup was taken from PostgreSQL 17.6');
  });

  it('writes only digits of the version it was given', () => {
    expect(versionGuard({ serverVersion: "15.8'; DROP TABLE x; --", serverMajor: 15 })).toContain('taken from PostgreSQL 15.8;');
  });

  it('the header tells the restore CLI the source version', () => {
    const scanner = new SqlScanner();
    scanner.push(Buffer.from(fileHeader(meta)));
    expect(sourceVersionOf(scanner.report.header)).toEqual({ major: 17, version: '17.6' });
    expect(olderTargetProblem(scanner.report.header, 15, '15.8')).toMatch(
      /^this backup was taken from PostgreSQL 17\.6 and the target runs PostgreSQL 15\.8, an older major version/,
    );
    expect(olderTargetProblem(scanner.report.header, 17, '17.2')).toBeNull();
  });
});
