/**
 * The few statement lines of pg_dump's output that a restore as `postgres` into a Supabase project (or
 * with an older psql) cannot run. Applied by the merge to statement lines only, never to data or to
 * function bodies (SqlScanner decides what is a statement line).
 */
import type { LineRewriter } from './sqlscan.js';
import { isReservedRole } from '../postgres/supabase.js';

const ROLE = String.raw`("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`;
const OWNER_TO = new RegExp(String.raw`^ALTER [\s\S]+ OWNER TO ${ROLE};\s*$`);
const DEFAULT_PRIVILEGES_FOR_ROLE = new RegExp(String.raw`^ALTER DEFAULT PRIVILEGES FOR ROLE ${ROLE} `);
/**
 * Every table privilege of PostgreSQL 15 and 16, as pg_dump 17+ spells out their `ALL` (PostgreSQL 17
 * added MAINTAIN, so for an older source it can no longer write `ALL`).
 */
const PRE17_TABLE_PRIVILEGES = ['DELETE', 'INSERT', 'REFERENCES', 'SELECT', 'TRIGGER', 'TRUNCATE', 'UPDATE'].join(',');
const TABLE_GRANT = /^((?:ALTER DEFAULT PRIVILEGES .*?)?GRANT )([A-Z,]+)( ON TABLES? )/;

function unquote(role: string): string {
  return role.startsWith('"') ? role.slice(1, -1).replace(/""/g, '"') : role;
}

function commentOut(line: string, why: string): string {
  // A statement line may span lines (a quoted name with a newline): every one of them is commented out.
  return `-- [${why}] ${line.replace(/\n(?!$)/g, '\n-- ')}`;
}

export interface RewriteOptions {
  /** Major version of the server the dump was taken from. */
  sourceMajor?: number;
  /** Major version of the pg_dump that wrote it. */
  dumpMajor?: number;
}

/**
 * A PostgreSQL 15/16 `ALL` on tables that pg_dump 17+ wrote as the list of the old privileges: `ALL`
 * again, so the restore into PostgreSQL 17 grants what a new table gets there (MAINTAIN too), exactly
 * as the same backup made with pg_dump 15 does. Without it, the restore lowers the target's default
 * privileges for anon, authenticated, service_role and postgres below a fresh project's.
 */
function tableAllOfOlderSource(line: string): string {
  const grant = TABLE_GRANT.exec(line);
  if (!grant || grant[2]!.split(',').sort().join(',') !== PRE17_TABLE_PRIVILEGES) return line;
  return `${grant[1]}ALL${grant[3]}${line.slice(grant[0].length)}`;
}

type Rules = Readonly<Record<string, (line: string) => string>>;

/** The rules, by the first character of the lines they apply to. */
const RULES: Rules = {
  '\\': (line) => (/^\\(un)?restrict\b/.test(line) ? commentOut(line, 'psql 17.6+ only') : line),
  S: (line) => {
    if (/^SET transaction_timeout\b/.test(line)) return commentOut(line, 'PostgreSQL 17+ only');
    if (/^SET SESSION AUTHORIZATION\b/.test(line)) return commentOut(line, 'needs a superuser');
    return line;
  },
  R: (line) => (/^RESET SESSION AUTHORIZATION;/.test(line) ? commentOut(line, 'needs a superuser') : line),
  D: (line) => {
    if (/^DROP SCHEMA IF EXISTS /.test(line)) return commentOut(line, 'schemas are kept');
    // Hosted supautils refuses these when the table does not exist yet (a fresh project), IF EXISTS or
    // not; the DROP TABLE ... CASCADE below drops the table's policies and triggers anyway.
    if (/^DROP (POLICY|TRIGGER) IF EXISTS /.test(line)) return commentOut(line, 'dropped with its table');
    // CASCADE also drops what hangs off a table outside the dump (a view in another schema).
    if (/^DROP TABLE IF EXISTS .*[^E];\s*$/.test(line)) return line.replace(/;(\s*)$/, ' CASCADE;$1');
    return line;
  },
  C: (line) => {
    if (line.startsWith('CREATE SCHEMA ') && !line.startsWith('CREATE SCHEMA IF NOT EXISTS ')) {
      return line.replace('CREATE SCHEMA ', 'CREATE SCHEMA IF NOT EXISTS ');
    }
    return line;
  },
  A: (line) => {
    const owner = OWNER_TO.exec(line);
    if (owner && isReservedRole(unquote(owner[1]!))) return commentOut(line, 'reserved role');
    const defaults = DEFAULT_PRIVILEGES_FOR_ROLE.exec(line);
    if (defaults && isReservedRole(unquote(defaults[1]!))) return commentOut(line, 'reserved role');
    return line;
  },
};

/** The rules for a dump of a PostgreSQL 15/16 server written by pg_dump 17 or newer. */
const OLDER_SOURCE_RULES: Rules = {
  ...RULES,
  A: (line) => {
    const rewritten = RULES.A!(line);
    return rewritten === line ? tableAllOfOlderSource(line) : rewritten;
  },
  G: tableAllOfOlderSource,
};

/**
 * - `\restrict` / `\unrestrict` (pg_dump 17.6+/16.10+/15.14+): commented out, so any psql reads the file;
 * - `SET transaction_timeout` (pg_dump 17): PostgreSQL 15/16 reject it;
 * - `DROP SCHEMA` (from --clean): would drop `public` itself; `CREATE SCHEMA` made idempotent;
 * - `DROP POLICY/TRIGGER IF EXISTS` (from --clean): refused by hosted supautils on a fresh project;
 * - `DROP TABLE IF EXISTS` gets CASCADE;
 * - ownership and default privileges of reserved roles, and SET SESSION AUTHORIZATION: `postgres` may not;
 * - for a source older than PostgreSQL 17 dumped by pg_dump 17+: table privileges that are all of
 *   the source's become `ALL` again.
 * Lines starting with any other character (INSERT rows among them) are never changed, which
 * `firstChars` tells the scanner.
 */
export function dumpLineRewriter(options: RewriteOptions = {}): LineRewriter {
  const olderSource = (options.sourceMajor ?? 17) < 17 && (options.dumpMajor ?? 0) >= 17;
  const rules = olderSource ? OLDER_SOURCE_RULES : RULES;
  return Object.assign((line: string): string => rules[line.charAt(0)]?.(line) ?? line, { firstChars: Object.keys(rules).join('') });
}

/** The rewriter for a dump whose pg_dump has the source's major version (the usual case). */
export const rewriteDumpLine: LineRewriter = dumpLineRewriter();
