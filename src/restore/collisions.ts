/**
 * Before a restore writes anything: which rows of the backup's PART 1 would collide with rows the
 * target already has in `auth.users`, `auth.identities`, `storage.buckets` and `storage.objects`, on
 * the keys Supabase makes unique (ids, a non-SSO user's email, a phone number, an identity's provider
 * id, a bucket's name, an object's bucket and path).
 *
 * Part1Rows reads the INSERT statements of PART 1 line by line as the file streams past (pg_dump's
 * `--column-inserts` output: `'...'` strings with `''` escapes, no dollar quotes, no E'' strings) and
 * stops at the PART 2 marker. CollisionCheck looks the keys up in the target in batches, so memory
 * stays flat whatever the number of rows.
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

export class Part1Rows {
  private mode: 'normal' | 'squote' | 'dquote' = 'normal';
  private statementStart = true;
  private statement: string[] | null = null;
  private table: CheckedTable | null = null;
  private started = false;
  done = false;
  readonly rows = new Map<CheckedTable, Row[]>(CHECKED_TABLES.map((t) => [t, []]));
  count = 0;

  /** Reads one line (with its newline). */
  line(line: string): void {
    if (this.done) return;
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
        }
      }
    }
    if (this.statement) this.statement.push(line);
    this.lex(line);
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

/** Parses `INSERT INTO t (c1, c2) VALUES (v1, v2);` into column → value; null when it is not that shape. */
export function parseInsert(statement: string): Row | null {
  const open = statement.indexOf('(');
  if (open < 0) return null;
  let i = open + 1;
  const columns: string[] = [];
  // column list
  for (;;) {
    while (/\s/.test(statement[i] ?? '')) i++;
    if (statement[i] === '"') {
      let name = '';
      i++;
      for (;;) {
        const close = statement.indexOf('"', i);
        if (close < 0) return null;
        name += statement.slice(i, close);
        if (statement[close + 1] === '"') {
          name += '"';
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      columns.push(name);
    } else {
      const match = /^[^\s,()]+/.exec(statement.slice(i));
      if (!match) return null;
      columns.push(match[0].toLowerCase());
      i += match[0].length;
    }
    while (/\s/.test(statement[i] ?? '')) i++;
    if (statement[i] === ',') {
      i++;
      continue;
    }
    if (statement[i] === ')') {
      i++;
      break;
    }
    return null;
  }
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
    when: (row) => row.get('is_sso_user') !== 'true',
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
 * PART 1 as Part1Rows reads it, with every string literal longer than `kept` bytes cut short (its
 * first `kept` bytes, then its closing quote): a streaming filter over the file's chunks, lexing as
 * Part1Rows does (`'...'` with `''`, `"..."`, `--` comments; PART 1 has no dollar quotes or E''
 * strings), whatever the chunking.
 */
export class LongStringCutter {
  private mode: 'normal' | 'squote' | 'dquote' | 'comment' = 'normal';
  /** Bytes of the current string literal so far. */
  private length = 0;
  /** A `'` ended the last chunk inside a string: a closing quote or the first of `''`. */
  private quotePending = false;
  /** A `-` ended the last chunk outside quotes: maybe the start of `--`. */
  private dashPending = false;

  constructor(private readonly kept = KEPT_STRING_BYTES) {}

  /** The chunk as Part1Rows should see it. */
  filter(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let i = 0;
    let copyFrom = 0;
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
      if (this.mode === 'comment') {
        const nl = chunk.indexOf(0x0a, i);
        if (nl < 0) break;
        this.mode = 'normal';
        i = nl + 1;
      } else if (this.mode === 'dquote') {
        const q = chunk.indexOf(0x22, i);
        if (q < 0) break;
        this.mode = 'normal';
        i = q + 1;
      } else if (this.mode === 'normal') {
        const c = chunk[i]!;
        if (c === 0x27) {
          this.mode = 'squote';
          this.length = 0;
        } else if (c === 0x22) {
          this.mode = 'dquote';
        } else if (c === 0x2d) {
          if (i + 1 === chunk.length) this.dashPending = true;
          else if (chunk[i + 1] === 0x2d) this.mode = 'comment';
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
    cut(chunk.length);
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}
