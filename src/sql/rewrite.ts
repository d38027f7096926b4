/**
 * The few statement lines of pg_dump's output that a restore as `postgres` into a Supabase project (or
 * with an older psql) cannot run. Applied by the merge to statement lines only, never to data or to
 * function bodies (SqlScanner decides what is a statement line).
 */
import type { LineRewriter } from './sqlscan.js';
import { isReservedRole } from '../postgres/supabase.js';

const ROLE = String.raw`("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`;
const OWNER_TO = new RegExp(String.raw`^ALTER .+ OWNER TO ${ROLE};\s*$`);
const DEFAULT_PRIVILEGES_FOR_ROLE = new RegExp(String.raw`^ALTER DEFAULT PRIVILEGES FOR ROLE ${ROLE} `);

function unquote(role: string): string {
  return role.startsWith('"') ? role.slice(1, -1).replace(/""/g, '"') : role;
}

function commentOut(line: string, why: string): string {
  return `-- [${why}] ${line}`;
}

/** The rules, by the first character of the lines they apply to. */
const RULES: Readonly<Record<string, (line: string) => string>> = {
  '\\': (line) => (/^\\(un)?restrict\b/.test(line) ? commentOut(line, 'psql 17.6+ only') : line),
  S: (line) => {
    if (/^SET transaction_timeout\b/.test(line)) return commentOut(line, 'PostgreSQL 17+ only');
    if (/^SET SESSION AUTHORIZATION\b/.test(line)) return commentOut(line, 'needs a superuser');
    return line;
  },
  R: (line) => (/^RESET SESSION AUTHORIZATION;/.test(line) ? commentOut(line, 'needs a superuser') : line),
  D: (line) => {
    if (/^DROP SCHEMA IF EXISTS /.test(line)) return commentOut(line, 'schemas are kept');
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

/**
 * - `\restrict` / `\unrestrict` (pg_dump 17.6+/16.10+/15.14+): commented out, so any psql reads the file;
 * - `SET transaction_timeout` (pg_dump 17): PostgreSQL 15/16 reject it;
 * - `DROP SCHEMA` (from --clean): would drop `public` itself; `CREATE SCHEMA` made idempotent;
 * - `DROP TABLE IF EXISTS` gets CASCADE;
 * - ownership and default privileges of reserved roles, and SET SESSION AUTHORIZATION: `postgres` may not.
 * Lines starting with any other character (INSERT rows among them) are never changed, which
 * `firstChars` tells the scanner.
 */
export const rewriteDumpLine: LineRewriter = Object.assign(
  (line: string): string => {
    const rule = RULES[line.charAt(0)];
    return rule ? rule(line) : line;
  },
  { firstChars: Object.keys(RULES).join('') },
);
