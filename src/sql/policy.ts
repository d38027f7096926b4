/**
 * The file policy: a backup file is data, never code. Watches a SqlScanner (statement text only, never
 * COPY rows or INSERT values) and refuses, naming the line and the reason:
 *   - any psql meta-command except the few the product writes itself (ALLOWED_META), wherever psql
 *     would run it: at a line start, or after a statement on the same line;
 *   - statements a backup never holds: roles created or altered (beyond the product's own role
 *     preamble), role memberships granted, SET ROLE / SESSION AUTHORIZATION, DDL on managed schemas
 *     (beyond PART 3's triggers and policies), DO blocks other than the product's own, anything outside
 *     the PART layout (header, PART 1 data, PART 2, PART 3, COMMIT).
 * Used by the backup (on the file it wrote), `verify`, `restore` and `verify: restore`, before anything runs.
 *
 * What it does not do: judge user code. A function body in PART 2 runs with the restoring role's rights
 * when it is called (a default, a trigger, an index expression). Only a signature (docs/security.md)
 * says who made a file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { printable } from '../log.js';
import { isManagedSchema, isReservedRole } from '../postgres/supabase.js';
import { neutraliseBlock, roleLine, versionCheckBlock } from './preamble.js';
import { SqlScanner, type LineRewriter, type ScanWatcher } from './sqlscan.js';

/** The meta-commands the product writes itself, whole lines. Anything else is refused. */
export const ALLOWED_META: ReadonlySet<string> = new Set([
  '\\set ON_ERROR_STOP on',
  '\\echo PART 1: auth and storage data',
  '\\echo PART 2: user schemas (schema + data)',
  '\\echo PART 3: user objects on auth and storage tables',
]);

export interface PolicyProblem {
  line: number;
  reason: string;
}

export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(
    readonly label: string,
    readonly problems: PolicyProblem[],
  ) {
    super(
      `${label} is refused: it holds what a backup never does, so nothing was run:\n  - ${problems
        .map((p) => `line ${p.line}: ${p.reason}`)
        .join('\n  - ')}`,
    );
  }
}

/** At most this many problems are kept (the first ones). */
const MAX_PROBLEMS = 20;
/** A statement's text is collected up to this many characters (a DO block of the product's: more). */
const HEAD_LIMIT = 8192;
const DO_LIMIT = 4 << 20;

type Phase = 0 | 1 | 2 | 3 | 4; // header, PART 1, PART 2, PART 3, after COMMIT

export class FilePolicy implements ScanWatcher {
  readonly problems: PolicyProblem[] = [];
  readonly scanner: SqlScanner;
  private pending: { line: number; text: string; phase: Phase } | null = null;
  private committed = false;

  /**
   * `rewrite`: the rewrite of the file being written (the merge reads its output through this one
   * scanner, which rewrites and watches the lines as written, instead of reading it a second time).
   */
  constructor(rewrite?: LineRewriter) {
    this.scanner = new SqlScanner(rewrite, this);
  }

  get following(): boolean {
    const p = this.pending;
    return p !== null && p.text.length < (/^DO\s/i.test(p.text) ? DO_LIMIT : HEAD_LIMIT);
  }

  push(chunk: Buffer): void {
    this.scanner.push(chunk);
  }

  /** Ends the scan; returns the problems (empty when the file passes). */
  finish(): PolicyProblem[] {
    this.end();
    return this.problems;
  }

  /** Ends the scan; returns the scanner's last bytes (to write, when the scanner rewrites a file). */
  end(): Buffer {
    const tail = this.scanner.finish();
    this.flush();
    return tail;
  }

  metaCommand(line: number, text: string): void {
    const command = text.replace(/\s+$/, '');
    if (!ALLOWED_META.has(command)) this.refuse(line, `psql meta-command ${quoteText(command)}: a backup file runs no commands`);
  }

  statement(line: number, text: string): void {
    this.flush();
    this.pending = { line, text, phase: this.phase() };
  }

  continuation(_line: number, text: string): void {
    if (this.pending) this.pending.text += `\n${text}`;
  }

  statementEnd(): void {
    this.flush();
  }

  private phase(): Phase {
    return this.committed ? 4 : (Math.min(this.scanner.report.markers.length, 3) as Phase);
  }

  private refuse(line: number, reason: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ line, reason });
  }

  private flush(): void {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    // An INSERT is judged by its head only: its values are data.
    const text = /^INSERT\s/i.test(p.text) ? p.text.slice(0, 512) : statementText(p.text);
    const reason = judge(text, p.phase);
    if (reason === 'commit') {
      this.committed = true;
      return;
    }
    if (reason) this.refuse(p.line, reason);
  }
}

/** The statement's own text: up to its first `;` outside quotes (the text may run on past it). */
function statementText(text: string): string {
  const tokens = tokenize(text, true);
  return tokens.end >= 0 ? text.slice(0, tokens.end + 1) : text;
}

const ROLE_DDL = /^(?:CREATE|ALTER|DROP)\s+(?:ROLE|USER|GROUP)\b/i;
const SET_ROLE = /^(?:SET|RESET)\s+(?:(?:SESSION|LOCAL)\s+)?(?:ROLE|SESSION\s+AUTHORIZATION)\b/i;
const EVENT_TRIGGER = /^(?:CREATE|ALTER|DROP)\s+EVENT\s+TRIGGER\b/i;
const DDL = /^(?:CREATE|ALTER|DROP|COMMENT\s+ON|GRANT|REVOKE|SECURITY\s+LABEL|TRUNCATE|REFRESH|CLUSTER|REINDEX)\b/i;

/** Why a statement is refused in this phase, 'commit' for the closing COMMIT, or null when it is fine. */
export function judge(text: string, phase: Phase): string | null | 'commit' {
  const head = text.replace(/\s+/g, ' ').trim();
  const shown = quoteText(head.length > 120 ? `${head.slice(0, 120)}…` : head);
  const upper = head.toUpperCase();

  if (ROLE_DDL.test(head)) return `${shown}: a backup never creates, alters or drops roles outside its own role preamble`;
  if (SET_ROLE.test(head)) return `${shown}: a backup never changes the role it runs as`;
  if (EVENT_TRIGGER.test(head)) return `${shown}: a backup never touches event triggers`;
  if (/^(?:ALTER\s+SYSTEM|LOAD|ALTER\s+DATABASE|CREATE\s+DATABASE|DROP\s+DATABASE|CHECKPOINT|VACUUM|LISTEN|NOTIFY|PREPARE|EXECUTE|CALL|DISCARD|IMPORT\s+FOREIGN)\b/i.test(head)) {
    return `${shown}: not a statement a backup holds`;
  }
  if (/^(?:GRANT|REVOKE)\b/i.test(head) && !/\sON\s/i.test(` ${stripQuoted(head)} `)) {
    return `${shown}: a backup never grants or revokes role membership`;
  }
  if (/^COPY\b/i.test(head) && !/\bFROM\s+stdin\s*;$/i.test(stripQuoted(head))) {
    return `${shown}: a backup's COPY only reads FROM stdin`;
  }
  if (/^SET\s+search_path\b/i.test(head)) return `${shown}: a backup sets search_path only with set_config('search_path', '', false)`;
  if (/^SELECT\b/i.test(head) && !allowedSelect(head)) return `${shown}: a SELECT that a backup does not write`;
  if (/^(?:SET|RESET)\b/i.test(head) && /\b(?:role|session_authorization)\b/i.test(stripQuoted(head))) {
    return `${shown}: a backup never changes the role it runs as`;
  }
  if (/^DO\b/i.test(head) && !productBlock(text, phase)) return `${shown}: a DO block that is not one of the backup's own`;

  switch (phase) {
    case 0:
      if (upper === 'BEGIN;') return null;
      if (/^DO\b/i.test(head)) return null;
      return `${shown}: a statement before PART 1 that the backup's header does not hold`;
    case 1:
      if (/^(?:SET|INSERT\s+INTO|SELECT|COPY)\b/i.test(head)) {
        const into = /^(?:INSERT\s+INTO|COPY)\s+/i.exec(head);
        if (into) {
          const target = firstQualifiedName(head.slice(into[0].length));
          if (!target || (target.schema !== 'auth' && target.schema !== 'storage')) {
            return `${shown}: PART 1 holds only data of auth and storage tables`;
          }
        }
        return null;
      }
      return `${shown}: PART 1 holds only data of auth and storage tables`;
    case 2: {
      if (/^DO\b/i.test(head)) return null;
      const managed = managedTarget(head);
      if (managed) return `${shown}: changes ${quoteText(managed)}, a Supabase-managed schema, outside PART 3`;
      if (/^ALTER\s+DEFAULT\s+PRIVILEGES\s+FOR\s+(?:ROLE|USER)\s+/i.test(head)) {
        const role = identAt(head.replace(/^ALTER\s+DEFAULT\s+PRIVILEGES\s+FOR\s+(?:ROLE|USER)\s+/i, ''));
        if (role && isReservedRole(role)) return `${shown}: default privileges of a reserved role`;
      }
      const owner = /\sOWNER\s+TO\s+(.+?);?$/i.exec(head);
      if (owner && /^ALTER\b/i.test(head)) {
        const role = identAt(owner[1]!);
        if (role && isReservedRole(role)) return `${shown}: hands an object to a reserved role`;
      }
      return null;
    }
    case 3:
      if (/^SELECT\b/i.test(head)) return null;
      if (upper === 'COMMIT;') return 'commit';
      if (/^CREATE\s+(?:CONSTRAINT\s+)?TRIGGER\b/i.test(head) || /^CREATE\s+POLICY\b/i.test(head)) return null;
      return `${shown}: PART 3 holds only triggers and policies on Supabase-managed tables`;
    default:
      return `${shown}: a statement after the backup's COMMIT`;
  }
}

/** SELECTs pg_dump and the product write: set_config of search_path to '', setval, large objects. */
function allowedSelect(head: string): boolean {
  if (/^SELECT pg_catalog\.set_config\('search_path', '', false\);$/.test(head)) return true;
  if (/^SELECT pg_catalog\.setval\(/.test(head)) return true;
  if (/^SELECT pg_catalog\.(?:lo_create|lo_open|lo_close|lowrite|lo_unlink)\(/.test(head)) return true;
  return false;
}

/** Is this DO block, whole, one that the product writes in this phase? */
function productBlock(text: string, phase: Phase): boolean {
  const block = text.replace(/\r/g, '').replace(/\s+$/, '');
  if (phase === 0) {
    const v = /^DO \$version_check\$\nBEGIN\n {2}IF pg_catalog\.current_setting\('server_version_num'\)::int < (\d+)0000 THEN\n.*taken from PostgreSQL (\d+(?:\.\d+)*);/s.exec(block);
    return v !== null && block === versionCheckBlock(v[2]!, Number(v[1]));
  }
  if (phase !== 2) return false;
  if (block.startsWith('DO $roles$\nBEGIN\n')) {
    const lines = block.split('\n');
    if (lines.length < 5 || lines.at(-2) !== 'END' || lines.at(-1) !== '$roles$;') return false;
    return lines.slice(2, -2).every((line) => {
      const m = /^ {2}IF NOT EXISTS \(SELECT 1 FROM pg_catalog\.pg_roles WHERE rolname = '((?:[^']|'')*)'\) THEN CREATE ROLE "(?:[^"]|"")*" (LOGIN|NOLOGIN) (INHERIT|NOINHERIT); END IF;$/.exec(line);
      if (!m) return false;
      const name = m[1]!.replace(/''/g, "'");
      if (isReservedRole(name) || name === 'postgres' || name.startsWith('pg_')) return false;
      return line === roleLine({ name, login: m[2] === 'LOGIN', inherit: m[3] === 'INHERIT' });
    });
  }
  if (block.startsWith('DO $neutralise$\n')) {
    const m = /AND n\.nspname = ANY \(ARRAY\[((?:'(?:[^']|'')*'(?:, )?)*)\]\)/.exec(block);
    if (!m) return false;
    const schemas = [...m[1]!.matchAll(/'((?:[^']|'')*)'/g)].map((s) => s[1]!.replace(/''/g, "'"));
    return block === neutraliseBlock(schemas);
  }
  return false;
}

interface Tokens {
  list: { kind: 'word' | 'qident' | 'string' | 'punct'; value: string }[];
  /** Index of the first `;` outside quotes, or -1. */
  end: number;
}

/** A small SQL tokenizer for a statement's head (quotes, dollar quotes and comments skipped properly). */
function tokenize(text: string, stopAtSemicolon = false): Tokens {
  const list: Tokens['list'] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 2;
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) {
          value += text.slice(j);
          j = text.length;
          break;
        }
        value += text.slice(j, q);
        if (text[q + 1] === '"') {
          value += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      list.push({ kind: 'qident', value });
      i = j;
    } else if (c === "'") {
      const escape = i > 0 && /[eE]/.test(text[i - 1]!);
      let j = i + 1;
      while (j < text.length) {
        if (escape && text[j] === '\\') j += 2;
        else if (text[j] === "'" && text[j + 1] === "'") j += 2;
        else if (text[j] === "'") break;
        else j++;
      }
      list.push({ kind: 'string', value: text.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '$' && /^\$(?:[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.test(text.slice(i, i + 80))) {
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(text.slice(i, i + 80))![0];
      const close = text.indexOf(tag, i + tag.length);
      list.push({ kind: 'string', value: text.slice(i + tag.length, close < 0 ? text.length : close) });
      i = close < 0 ? text.length : close + tag.length;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const m = /^[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*/.exec(text.slice(i, i + 200))!;
      list.push({ kind: 'word', value: m[0].toLowerCase() });
      i += m[0].length;
    } else {
      if (c === ';' && stopAtSemicolon) return { list, end: i };
      list.push({ kind: 'punct', value: c });
      i++;
    }
  }
  return { list, end: -1 };
}

/** The text with quoted identifiers, strings and dollar quotes blanked out. */
function stripQuoted(text: string): string {
  return tokenize(text)
    .list.map((t) => (t.kind === 'string' ? "''" : t.kind === 'qident' ? '""' : t.value))
    .join(' ')
    .replace(/ ;/g, ';');
}

function firstQualifiedName(text: string): { schema: string; name: string } | null {
  const list = tokenize(text, true).list;
  for (let k = 0; k + 2 < list.length; k++) {
    const a = list[k]!;
    const dot = list[k + 1]!;
    const b = list[k + 2]!;
    if ((a.kind === 'word' || a.kind === 'qident') && dot.kind === 'punct' && dot.value === '.' && (b.kind === 'word' || b.kind === 'qident')) {
      return { schema: a.value, name: b.value };
    }
  }
  return null;
}

/** The first identifier of a text (unquoted as PostgreSQL reads it), or null. */
function identAt(text: string): string | null {
  const first = tokenize(text).list[0];
  return first && (first.kind === 'word' || first.kind === 'qident') ? first.value : null;
}

/** The managed schema a DDL statement changes, or null (its object is the first qualified name). */
function managedTarget(head: string): string | null {
  if (!DDL.test(head)) return null;
  const list = tokenize(head, true).list;
  // SCHEMA objects: CREATE/ALTER/DROP SCHEMA x, COMMENT ON SCHEMA x, GRANT ... ON SCHEMA x, ... IN SCHEMA x
  for (let k = 0; k + 1 < list.length; k++) {
    if (list[k]!.kind === 'word' && list[k]!.value === 'schema') {
      const before = list[k - 1];
      if (before && before.kind === 'word' && before.value === 'with') continue; // CREATE EXTENSION ... WITH SCHEMA
      let j = k + 1;
      while (j < list.length && list[j]!.kind === 'word' && ['if', 'not', 'exists'].includes(list[j]!.value)) j++;
      const name = list[j];
      if (name && (name.kind === 'word' || name.kind === 'qident') && isManagedSchema(name.value)) return name.value;
    }
  }
  const target = firstQualifiedName(head);
  if (target && isManagedSchema(target.schema)) return `${target.schema}.${target.name}`;
  return null;
}

/** A text from the file, quoted for a message: printable, at most 200 characters. */
function quoteText(text: string): string {
  const cut = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return `«${printable(cut)}»`;
}

/** The 8 hex digits a backup's name records (`full_<time>_<8 hex>.sql[.gz][.age]`), or null. */
export function recordedSha256Prefix(file: string): string | null {
  return /^full_[0-9TZ-]+_([0-9a-f]{8})\.sql(?:\.gz)?(?:\.age)?$/.exec(path.basename(file))?.[1] ?? null;
}

/** The sha256 of a file's bytes, as hex. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The refusal of a stored file whose bytes do not match the sha256 prefix in its name, or null when
 * they match (or the name records none: then `unchecked` is true).
 */
export async function checkRecordedSha256(file: string): Promise<{ problem: string | null; unchecked: boolean }> {
  const recorded = recordedSha256Prefix(file);
  if (!recorded) return { problem: null, unchecked: true };
  const actual = await sha256OfFile(file);
  if (actual.startsWith(recorded)) return { problem: null, unchecked: false };
  return {
    problem:
      `its bytes do not match the sha256 its name records (${recorded}…, the file's is ${actual.slice(0, 8)}…): ` +
      'it was changed or damaged after the backup wrote it',
    unchecked: false,
  };
}

/** Runs the policy over plain SQL chunks; returns the problems. */
export async function policyProblems(chunks: AsyncIterable<Buffer | string>): Promise<PolicyProblem[]> {
  const policy = new FilePolicy();
  for await (const chunk of chunks) policy.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return policy.finish();
}
