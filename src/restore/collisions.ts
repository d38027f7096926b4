/**
 * Before a restore writes anything: which rows of the backup's PART 1 would collide with rows the
 * target already has in `auth.users`, `auth.identities`, `storage.buckets` and `storage.objects`, on
 * the keys Supabase makes unique (ids, a non-SSO user's email, a phone number, an identity's provider
 * id, a bucket's name, an object's bucket and path).
 *
 * Part1Rows reads the rows of PART 1 line by line as the file streams past and stops at the PART 2
 * marker: COPY blocks with column lists (pg_dump's default data format, which backups use since
 * 2026-12), and the INSERT statements of older backups (pg_dump's `--column-inserts` output: `'...'`
 * strings with `''` escapes, no dollar quotes, no E'' strings). CollisionCheck looks the keys up in the
 * target in batches, so memory stays flat whatever the number of rows.
 */
import type pg from 'pg';

/** The tables whose keys are checked, as PART 1 names them. */
export const CHECKED_TABLES = ['auth.users', 'auth.identities', 'storage.buckets', 'storage.objects'] as const;
export type CheckedTable = (typeof CHECKED_TABLES)[number];

/** One row of PART 1: column name → value (null for NULL, else the literal's text). */
export type Row = Map<string, string | null>;

const INSERT = /^INSERT INTO (auth\.users|auth\.identities|storage\.buckets|storage\.objects) \(/;
const PART2_MARKER = /^-- PART 2: /;
const SPECIAL = /['";]|--/g;

function hasNonSpace(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return true;
  }
  return false;
}

/** A COPY block being read: its table when it is a checked one (else its rows are skipped), and its columns. */
interface CopyBlock {
  table: CheckedTable | null;
  columns: string[];
}

export class Part1Rows {
  private mode: 'normal' | 'squote' | 'dquote' = 'normal';
  private statementStart = true;
  private statement: string[] | null = null;
  private table: CheckedTable | null = null;
  /** Inside a COPY block (its data lines are rows, not SQL) until its `\.` line. */
  private copy: CopyBlock | null = null;
  private started = false;
  done = false;
  readonly rows = new Map<CheckedTable, Row[]>(CHECKED_TABLES.map((t) => [t, []]));
  count = 0;

  /** Reads one line (with its newline). */
  line(line: string): void {
    if (this.done) return;
    if (this.copy) {
      this.copyRow(this.copy, line);
      return;
    }
    let copy: CopyBlock | null = null;
    if (this.mode === 'normal' && this.statementStart) {
      if (line.startsWith('-- PART 1: ')) this.started = true;
      if (PART2_MARKER.test(line)) {
        this.done = true;
        return;
      }
      if (this.started && this.statement === null) {
        const insert = INSERT.exec(line);
        if (insert) {
          this.table = insert[1] as CheckedTable;
          this.statement = [];
        } else {
          copy = parseCopyFromStdin(line);
        }
      }
    }
    if (this.statement) this.statement.push(line);
    this.lex(line);
    if (copy && this.mode === 'normal' && this.statementStart) this.copy = copy;
  }

  /** The table whose row this line is, for a message about it (the line's head). */
  tableOf(head: string): string {
    if (this.copy) return this.copy.table ?? 'PART 1';
    return /^INSERT INTO (\S+)/.exec(head)?.[1] ?? 'PART 1';
  }

  private copyRow(copy: CopyBlock, line: string): void {
    const text = line.endsWith('\n') ? line.slice(0, -1) : line;
    if (text === '\\.') {
      this.copy = null;
      return;
    }
    if (!copy.table) return;
    const fields = text.split('\t');
    if (fields.length !== copy.columns.length) return;
    const row: Row = new Map();
    copy.columns.forEach((column, i) => row.set(column, decodeCopyField(fields[i]!)));
    this.rows.get(copy.table)!.push(row);
    this.count++;
  }

  /** Takes the rows read so far (for a batch lookup). */
  take(): Map<CheckedTable, Row[]> {
    const taken = new Map(this.rows);
    for (const table of CHECKED_TABLES) this.rows.set(table, []);
    this.count = 0;
    return taken;
  }

  private lex(text: string): void {
    let i = 0;
    const n = text.length;
    while (i < n) {
      if (this.mode === 'squote' || this.mode === 'dquote') {
        const quote = this.mode === 'squote' ? "'" : '"';
        const close = text.indexOf(quote, i);
        if (close < 0) return;
        if (text[close + 1] === quote) {
          i = close + 2;
        } else {
          this.mode = 'normal';
          i = close + 1;
        }
        continue;
      }
      SPECIAL.lastIndex = i;
      const next = SPECIAL.exec(text);
      const at = next ? next.index : n;
      if (this.statementStart && hasNonSpace(text, i, at)) this.statementStart = false;
      if (!next) return;
      const ch = text[at]!;
      if (ch === '-') return; // a comment: the rest of the line
      if (ch === ';') {
        this.statementStart = true;
        i = at + 1;
        if (this.statement) this.endStatement(i);
        continue;
      }
      this.statementStart = false;
      this.mode = ch === "'" ? 'squote' : 'dquote';
      i = at + 1;
    }
  }

  private endStatement(endInLastLine: number): void {
    const lines = this.statement!;
    lines[lines.length - 1] = lines[lines.length - 1]!.slice(0, endInLastLine);
    const row = parseInsert(lines.join(''));
    if (row) {
      this.rows.get(this.table!)!.push(row);
      this.count++;
    }
    this.statement = null;
    this.table = null;
  }
}

const COPY_FROM_STDIN = /^COPY (.*) FROM stdin;\r?\n?$/;

/** `COPY t (c1, c2) FROM stdin;` as a CopyBlock (table null when not a checked one); null when not that. */
export function parseCopyFromStdin(line: string): CopyBlock | null {
  const copy = COPY_FROM_STDIN.exec(line);
  if (!copy) return null;
  const target = copy[1]!;
  const table = CHECKED_TABLES.find((name) => target.startsWith(`${name} (`)) ?? null;
  if (!table) return { table: null, columns: [] };
  const list = parseColumnList(target, table.length + 1);
  return list && list.end === target.length ? { table, columns: list.columns } : { table: null, columns: [] };
}

/** A field of COPY's text format: `\N` is NULL; backslash escapes (`\t`, `\n`, `\\`, octal, `\x`) decoded. */
export function decodeCopyField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const ch = field[i]!;
    if (ch !== '\\' || i + 1 === field.length) {
      out += ch;
      continue;
    }
    const next = field[++i]!;
    const octal = /^[0-7]{1,3}/.exec(field.slice(i, i + 3));
    const hex = next === 'x' ? /^[0-9a-fA-F]{1,2}/.exec(field.slice(i + 1, i + 3)) : null;
    if (octal) {
      out += String.fromCharCode(parseInt(octal[0], 8) & 0xff);
      i += octal[0].length - 1;
    } else if (hex) {
      out += String.fromCharCode(parseInt(hex[0], 16));
      i += hex[0].length;
    } else {
      out += COPY_ESCAPES[next] ?? next;
    }
  }
  return out;
}

const COPY_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A column list from `(` at `open`: the names (quoted ones unquoted, others lower-cased) and where it ends. */
function parseColumnList(text: string, open: number): { columns: string[]; end: number } | null {
  if (text[open] !== '(') return null;
  let i = open + 1;
  const columns: string[] = [];
  for (;;) {
    while (/\s/.test(text[i] ?? '')) i++;
    if (text[i] === '"') {
      let name = '';
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) return null;
        name += text.slice(i, close);
        if (text[close + 1] === '"') {
          name += '"';
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      columns.push(name);
    } else {
      const match = /^[^\s,()]+/.exec(text.slice(i));
      if (!match) return null;
      columns.push(match[0].toLowerCase());
      i += match[0].length;
    }
    while (/\s/.test(text[i] ?? '')) i++;
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === ')') {
      return { columns, end: i + 1 };
    }
    return null;
  }
}

/** Parses `INSERT INTO t (c1, c2) VALUES (v1, v2);` into column → value; null when it is not that shape. */
export function parseInsert(statement: string): Row | null {
  const list = parseColumnList(statement, statement.indexOf('('));
  if (!list) return null;
  const { columns } = list;
  let i = list.end;
  const values = /^\s*VALUES\s*\(/i.exec(statement.slice(i));
  if (!values) return null;
  i += values[0].length;
  const row: Row = new Map();
  for (const column of columns) {
    while (/\s/.test(statement[i] ?? '')) i++;
    let value: string | null;
    if (statement[i] === "'") {
      let text = '';
      i++;
      for (;;) {
        const close = statement.indexOf("'", i);
        if (close < 0) return null;
        text += statement.slice(i, close);
        if (statement[close + 1] === "'") {
          text += "'";
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      value = text;
      // a cast after a literal ('x'::type): skip it
      const cast = /^::[^\s,)]+/.exec(statement.slice(i));
      if (cast) i += cast[0].length;
    } else {
      let depth = 0;
      const start = i;
      while (i < statement.length) {
        const ch = statement[i]!;
        if (ch === '(') depth++;
        else if (ch === ')') {
          if (depth === 0) break;
          depth--;
        } else if (ch === ',' && depth === 0) break;
        i++;
      }
      const raw = statement.slice(start, i).trim();
      value = /^NULL$/i.test(raw) ? null : raw;
    }
    row.set(column, value);
    while (/\s/.test(statement[i] ?? '')) i++;
    if (statement[i] === ',') i++;
    else if (statement[i] !== ')') return null;
  }
  return row;
}

export interface Collision {
  table: CheckedTable;
  /** What collides, for people: `id 1111… (alice@example.test)`. */
  what: string;
}

interface KeyCheck {
  table: CheckedTable;
  /** Columns of the incoming row that make the key (all must be non-null). */
  columns: string[];
  /** Only rows for which this is true (e.g. non-SSO users for the email key). */
  when?: (row: Row) => boolean;
  /** Target columns that must exist for the check. */
  needs: string[];
  /** Query returning one row per collision; $1.. are arrays of the key columns, cast with `type(column)`. */
  sql: (type: (column: string) => string) => string;
  describe: (found: Record<string, string | null>) => string;
}

const KEY_CHECKS: KeyCheck[] = [
  {
    table: 'auth.users',
    columns: ['id'],
    needs: ['id', 'email'],
    sql: (t) => `SELECT id::text AS id, email FROM auth.users WHERE id = ANY ($1::${t('id')}[])`,
    describe: (f) => `user id ${f.id}${f.email ? ` (${f.email})` : ''} already exists`,
  },
  {
    table: 'auth.users',
    columns: ['email'],
    // `true` in an INSERT, `t` in a COPY row
    when: (row) => row.get('is_sso_user') !== 'true' && row.get('is_sso_user') !== 't',
    needs: ['email', 'is_sso_user'],
    sql: (t) => `SELECT id::text AS id, email FROM auth.users WHERE email = ANY ($1::${t('email')}[]) AND is_sso_user = false`,
    describe: (f) => `email ${f.email} is taken by user ${f.id}`,
  },
  {
    table: 'auth.users',
    columns: ['phone'],
    needs: ['phone'],
    sql: (t) => `SELECT id::text AS id, phone::text AS phone FROM auth.users WHERE phone = ANY ($1::${t('phone')}[])`,
    describe: (f) => `phone ${f.phone} is taken by user ${f.id}`,
  },
  {
    table: 'auth.identities',
    columns: ['id'],
    needs: ['id'],
    sql: (t) => `SELECT id::text AS id, provider FROM auth.identities WHERE id = ANY ($1::${t('id')}[])`,
    describe: (f) => `identity id ${f.id} (${f.provider}) already exists`,
  },
  {
    table: 'auth.identities',
    columns: ['provider_id', 'provider'],
    needs: ['provider_id', 'provider'],
    sql: (t) => `SELECT i.id::text AS id, i.provider_id, i.provider, i.user_id::text AS user_id FROM auth.identities i
           WHERE (i.provider_id, i.provider) IN (SELECT * FROM unnest($1::${t('provider_id')}[], $2::${t('provider')}[]))`,
    describe: (f) => `${f.provider} identity ${f.provider_id} already exists (user ${f.user_id})`,
  },
  {
    table: 'storage.buckets',
    columns: ['id'],
    needs: ['id', 'name'],
    sql: (t) => `SELECT id, name FROM storage.buckets WHERE id = ANY ($1::${t('id')}[])`,
    describe: (f) => `bucket id '${f.id}' already exists (bucket '${f.name}')`,
  },
  {
    table: 'storage.buckets',
    columns: ['name'],
    needs: ['id', 'name'],
    sql: (t) => `SELECT id, name FROM storage.buckets WHERE name = ANY ($1::${t('name')}[])`,
    describe: (f) => `bucket '${f.name}' already exists`,
  },
  {
    table: 'storage.objects',
    columns: ['id'],
    needs: ['id', 'bucket_id', 'name'],
    sql: (t) => `SELECT id::text AS id, bucket_id, name FROM storage.objects WHERE id = ANY ($1::${t('id')}[])`,
    describe: (f) => `object id ${f.id} (${f.bucket_id}/${f.name}) already exists`,
  },
  {
    table: 'storage.objects',
    columns: ['bucket_id', 'name'],
    needs: ['bucket_id', 'name'],
    sql: (t) => `SELECT o.id::text AS id, o.bucket_id, o.name FROM storage.objects o
           WHERE (o.bucket_id, o.name) IN (SELECT * FROM unnest($1::${t('bucket_id')}[], $2::${t('name')}[]))`,
    describe: (f) => `object ${f.bucket_id}/${f.name} already exists`,
  },
];

/** Looks the backup's keys up in the target, batch by batch; collects what collides. */
export class CollisionCheck {
  readonly collisions: Collision[] = [];
  /** Number of collisions found (the list keeps the first `limit`). */
  total = 0;
  rowsChecked = 0;
  private readonly seen = new Set<string>();
  /** table → column → its type, as SQL (`"pg_catalog"."uuid"`). */
  private targetColumns: Map<string, Map<string, string>> | null = null;

  constructor(
    private readonly client: pg.Client,
    private readonly limit = 200,
  ) {}

  async check(batch: Map<CheckedTable, Row[]>): Promise<void> {
    const columns = await this.columns();
    for (const key of KEY_CHECKS) {
      const rows = batch.get(key.table) ?? [];
      const have = columns.get(key.table);
      if (rows.length === 0 || !have || !key.needs.every((column) => have.has(column))) continue;
      const arrays: string[][] = key.columns.map(() => []);
      for (const row of rows) {
        if (key.when && !key.when(row)) continue;
        const values = key.columns.map((column) => row.get(column));
        if (values.some((value) => value === null || value === undefined)) continue;
        values.forEach((value, index) => arrays[index]!.push(value!));
      }
      if (arrays[0]!.length === 0) continue;
      const found = await this.client.query<Record<string, string | null>>(
        key.sql((column) => have.get(column)!),
        arrays,
      );
      for (const row of found.rows) {
        // One target row is one collision, whichever of its keys matched.
        const seen = `${key.table} ${row.id}`;
        if (row.id !== undefined && row.id !== null) {
          if (this.seen.has(seen)) continue;
          this.seen.add(seen);
        }
        this.total++;
        if (this.collisions.length < this.limit) this.collisions.push({ table: key.table, what: key.describe(row) });
      }
    }
    for (const rows of batch.values()) this.rowsChecked += rows.length;
  }

  private async columns(): Promise<Map<string, Map<string, string>>> {
    if (this.targetColumns) return this.targetColumns;
    const { rows } = await this.client.query<{ tbl: string; column_name: string; type: string }>(
      `SELECT table_schema || '.' || table_name AS tbl, column_name,
              pg_catalog.quote_ident(udt_schema) || '.' || pg_catalog.quote_ident(udt_name) AS type
         FROM information_schema.columns
        WHERE (table_schema, table_name) IN (('auth', 'users'), ('auth', 'identities'), ('storage', 'buckets'), ('storage', 'objects'))`,
    );
    const map = new Map<string, Map<string, string>>();
    for (const row of rows) {
      if (!map.has(row.tbl)) map.set(row.tbl, new Map());
      map.get(row.tbl)!.set(row.column_name, row.type);
    }
    this.targetColumns = map;
    return map;
  }
}

/**
 * Longer string literals are cut to this many bytes before PART 1's lines are held for Part1Rows: a
 * key the check compares is in a unique index, whose entries PostgreSQL limits to about 2.7 KB, so
 * no key is cut, and a row with a 200 MB value (raw_user_meta_data) is held as a short line.
 */
export const KEPT_STRING_BYTES = 64 * 1024;

/**
 * PART 1 as Part1Rows reads it, with every string literal and every COPY field longer than `kept`
 * bytes cut short (a literal keeps its first `kept` bytes, then its closing quote; a field its first
 * `kept` bytes; Part1Rows splits a row at raw tabs, so a cut escape does not join fields): a
 * streaming filter over the file's chunks, lexing as Part1Rows does (`'...'` with `''`, `"..."`, `--`
 * comments, the data lines of a `COPY … FROM stdin;` up to `\.`; PART 1 has no dollar quotes or E''
 * strings), whatever the chunking.
 */
export class LongStringCutter {
  private mode: 'normal' | 'squote' | 'dquote' | 'comment' | 'copy' = 'normal';
  /** Bytes of the current string literal (or COPY field) so far. */
  private length = 0;
  /** A `'` ended the last chunk inside a string: a closing quote or the first of `''`. */
  private quotePending = false;
  /** A `-` ended the last chunk outside quotes: maybe the start of `--`. */
  private dashPending = false;
  /** Outside quotes, the next byte starts a line. */
  private lineStart = true;
  /** A line that starts with `C`, kept (up to MAX_COPY_LINE) to see whether it opens a COPY block. */
  private recorded: Buffer[] | null = null;
  private recordedBytes = 0;
  /** In a COPY block: bytes of the current line so far, and whether they are `\.` so far. */
  private copyLinePos = 0;
  private endCandidate = true;

  constructor(private readonly kept = KEPT_STRING_BYTES) {}

  /** The chunk as Part1Rows should see it. */
  filter(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let i = 0;
    let copyFrom = 0;
    let recordFrom = this.recorded ? 0 : -1;
    const cut = (at: number): void => {
      if (at > copyFrom) out.push(chunk.subarray(copyFrom, at));
    };
    if (this.quotePending) {
      this.quotePending = false;
      if (chunk[0] === 0x27) {
        // `''` inside the string: both kept, or both dropped
        out.push(this.length < this.kept ? Buffer.from("''") : Buffer.alloc(0));
        this.length += 2;
        i = copyFrom = 1;
      } else {
        out.push(Buffer.from("'"));
        this.mode = 'normal';
      }
    } else if (this.dashPending) {
      this.dashPending = false;
      if (chunk[0] === 0x2d) this.mode = 'comment';
    }
    while (i < chunk.length) {
      if (this.mode === 'copy') {
        i = this.copyBytes(chunk, i, (at, to) => {
          cut(at);
          copyFrom = to;
        });
      } else if (this.mode === 'comment') {
        const nl = chunk.indexOf(0x0a, i);
        if (nl < 0) break;
        this.mode = 'normal';
        this.lineStart = true;
        i = nl + 1;
      } else if (this.mode === 'dquote') {
        const q = chunk.indexOf(0x22, i);
        if (q < 0) break;
        this.mode = 'normal';
        i = q + 1;
      } else if (this.mode === 'normal') {
        const c = chunk[i]!;
        if (this.lineStart) {
          this.lineStart = false;
          if (c === 0x43) {
            this.recorded = [];
            this.recordedBytes = 0;
            recordFrom = i;
          }
        }
        if (c === 0x27) {
          this.mode = 'squote';
          this.length = 0;
        } else if (c === 0x22) {
          this.mode = 'dquote';
        } else if (c === 0x2d) {
          if (i + 1 === chunk.length) this.dashPending = true;
          else if (chunk[i + 1] === 0x2d) this.mode = 'comment';
        } else if (c === 0x0a) {
          this.lineStart = true;
          if (this.recorded) {
            this.recorded.push(chunk.subarray(recordFrom, i));
            if (COPY_FROM_STDIN.test(Buffer.concat(this.recorded).toString('utf8'))) this.startCopy();
            this.recorded = null;
            recordFrom = -1;
          }
        }
        i++;
      } else {
        // squote: the bytes up to the next quote count against `kept`; past it they are dropped
        const q = chunk.indexOf(0x27, i);
        const stop = q < 0 ? chunk.length : q;
        const room = Math.max(0, this.kept - this.length);
        if (stop - i > room) {
          cut(i + room);
          copyFrom = stop;
        }
        this.length += stop - i;
        i = stop;
        if (q < 0) break;
        if (q + 1 === chunk.length) {
          cut(q);
          copyFrom = chunk.length;
          this.quotePending = true;
          i = chunk.length;
        } else if (chunk[q + 1] === 0x27) {
          if (this.length >= this.kept) {
            cut(q);
            copyFrom = q + 2;
          }
          this.length += 2;
          i = q + 2;
        } else {
          this.mode = 'normal';
          i = q + 1;
        }
      }
    }
    if (this.recorded && recordFrom >= 0) {
      this.recordedBytes += chunk.length - recordFrom;
      // Not a COPY statement line (pg_dump writes those in well under a megabyte): stop keeping it.
      if (this.recordedBytes > MAX_COPY_LINE) this.recorded = null;
      else this.recorded.push(Buffer.from(chunk.subarray(recordFrom)));
    }
    cut(chunk.length);
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  private startCopy(): void {
    this.mode = 'copy';
    this.length = 0;
    this.copyLinePos = 0;
    this.endCandidate = true;
  }

  /**
   * COPY data from `i`: fields longer than `kept` lose their rest (`drop(from, to)`), the `\.` line
   * ends the block. Returns where it stopped: the chunk's end, or just after the `\.` line.
   */
  private copyBytes(chunk: Buffer, i: number, drop: (from: number, to: number) => void): number {
    while (i < chunk.length) {
      const c = chunk[i]!;
      if (c === 0x0a) {
        const end = this.copyLinePos === 2 && this.endCandidate;
        this.length = 0;
        this.copyLinePos = 0;
        this.endCandidate = true;
        if (end) {
          this.mode = 'normal';
          this.lineStart = true;
          return i + 1;
        }
      } else if (c === 0x09) {
        this.length = 0;
        this.copyLinePos++;
        this.endCandidate = false;
      } else if (this.length >= this.kept) {
        const tab = chunk.indexOf(0x09, i);
        const nl = chunk.indexOf(0x0a, i);
        const stop = Math.min(tab < 0 ? chunk.length : tab, nl < 0 ? chunk.length : nl);
        drop(i, stop);
        i = stop;
        continue;
      } else {
        this.endCandidate = this.copyLinePos === 0 ? c === 0x5c : this.copyLinePos === 1 && this.endCandidate && c === 0x2e;
        this.copyLinePos++;
        this.length++;
      }
      i++;
    }
    return i;
  }
}

/** Longer than this, a line that starts with `C` is not taken for a COPY statement. */
const MAX_COPY_LINE = 1024 * 1024;
