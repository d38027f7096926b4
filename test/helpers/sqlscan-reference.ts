/**
 * TEST ORACLE: the SqlScanner as it was before its byte-level fast paths (src/sqlscan.ts at the commit
 * that introduced them), decoding every statement line and lexing it as text. The differential test in
 * test/sqlscan-fuzz.test.ts checks that the fast scanner reports and writes exactly what this one does.
 *
 * A streaming reader of pg_dump-style SQL that knows, for every line, whether it is a statement of its
 * own, text inside a string/identifier/dollar-quote/comment, or a row inside a COPY block. It counts rows
 * per table (COPY rows and single-row INSERTs), finds the backup's markers and manifest, and can rewrite
 * statement lines (never data) on the way through. Bytes it does not rewrite pass through unchanged.
 *
 * Data lines are never decoded: COPY rows are found with memchr-speed Buffer.indexOf, so the scan keeps
 * up with pg_dump. UTF-8 never puts an ASCII byte inside a multi-byte character, so byte-level newline
 * search is exact.
 */

const NEWLINE = 0x0a;
/** The leading comment lines kept as the header: the banner and the Generated/Includes/Source lines. */
const HEADER_LINES = 8;

type Mode = 'normal' | 'squote' | 'equote' | 'dquote' | 'dollar' | 'block';

/** Rewrites one statement line (with its newline); returns it unchanged when there is nothing to do. */
type LineRewriter = (line: string) => string;

interface ScanReport {
  /** Rows per table, keyed as pg_dump names them (`auth.users`, `public."Mixed"`). */
  rows: Map<string, number>;
  /** Part numbers in the order their markers were seen as statement lines. */
  markers: number[];
  /** The comments among the first lines of the file (the banner, Generated, Includes, Source). */
  header: string[];
  /** Rows per table as the closing manifest declares them; null when there is no manifest. */
  manifest: Map<string, number> | null;
  /** True when the file ends with the END OF BACKUP block. */
  complete: boolean;
  /** Statement-level `BEGIN;` and `COMMIT;` lines seen. */
  transaction: { begin: number; commit: number };
  /** Where the scan ended: anything but `normal` means the file is cut inside a string or COPY block. */
  endState: Mode | 'copy';
  bytes: number;
  lines: number;
}

const MARKER = {
  banner: '-- COMPLETE DATABASE BACKUP',
  part1: '-- PART 1: AUTH AND STORAGE DATA',
  part2: '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
  part3: '-- PART 3: USER OBJECTS ON AUTH AND STORAGE',
  end: '-- END OF BACKUP',
  manifestRow: '-- rows ',
} as const;

const IDENT = String.raw`(?:"(?:[^"]|"")*"|[^\s."(]+)`;
const COPY_LINE = new RegExp(String.raw`^COPY (${IDENT}(?:\.${IDENT})?) (?:\(.*\) )?FROM stdin;`);
const INSERT_LINE = new RegExp(String.raw`^INSERT INTO (${IDENT}(?:\.${IDENT})?) `);
const MARKER_LINE = /^-- PART ([123]): /;
const MANIFEST_LINE = /^-- rows (\S+(?: \S+)*?) (\d+)\s*$/;
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const NEXT_NON_SPACE = /\S/g;
const NEXT_SPECIAL = /['"$;\-/\\]/g;

export class ReferenceSqlScanner {
  private mode: Mode = 'normal';
  private dollarTag = '';
  private commentDepth = 0;
  /** No token since the last `;`: the next line that starts in `normal` mode is a statement line. */
  private statementStart = true;
  /** A commented-out statement that did not end on its line: its further lines are commented out too. */
  private commentingOut = false;
  private copyTable: string | null = null;
  private copyRows = 0;
  /** Inside a COPY row whose start was already passed on (a row longer than one chunk). */
  private copyMidRow = false;
  private carry: Buffer[] = [];
  private carryLength = 0;
  private inManifest = false;

  readonly report: ScanReport = {
    rows: new Map(),
    markers: [],
    header: [],
    manifest: null,
    complete: false,
    transaction: { begin: 0, commit: 0 },
    endState: 'normal',
    bytes: 0,
    lines: 0,
  };

  constructor(private readonly rewrite?: LineRewriter) {}

  /** Scans a chunk; returns the bytes to write (the chunk itself, or with statement lines rewritten). */
  push(chunk: Buffer): Buffer {
    this.report.bytes += chunk.length;
    const buf = this.carryLength > 0 ? Buffer.concat([...this.carry, chunk]) : chunk;
    this.carry = [];
    this.carryLength = 0;
    const out: Buffer[] = [];
    let passFrom = 0;
    let pos = 0;
    const end = buf.length;

    while (pos < end) {
      if (this.copyTable !== null) {
        pos = this.scanCopy(buf, pos);
        if (pos < 0) {
          // incomplete line at the very start of a row: keep it for the next chunk
          pos = -pos - 1;
          break;
        }
        continue;
      }
      const nl = buf.indexOf(NEWLINE, pos);
      if (nl < 0) break;
      const line = buf.toString('utf8', pos, nl + 1);
      this.report.lines++;
      const replaced = this.statementLine(line);
      if (replaced !== undefined) {
        if (pos > passFrom) out.push(buf.subarray(passFrom, pos));
        out.push(Buffer.from(replaced, 'utf8'));
        passFrom = nl + 1;
      }
      pos = nl + 1;
    }

    if (pos < end) {
      // An unfinished line: it is scanned (and perhaps rewritten) once its newline arrives.
      this.carry = [Buffer.from(buf.subarray(pos))];
      this.carryLength = end - pos;
    }
    if (pos > passFrom) out.push(buf.subarray(passFrom, pos));
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** Ends the scan; returns whatever unfinished last line remains (scanned as a line of its own). */
  finish(): Buffer {
    let tail = Buffer.alloc(0);
    if (this.carryLength > 0) {
      const buf = Buffer.concat(this.carry);
      this.carry = [];
      this.carryLength = 0;
      if (this.copyTable !== null) {
        tail = buf;
      } else {
        const replaced = this.statementLine(buf.toString('utf8'));
        tail = replaced === undefined ? buf : Buffer.from(replaced, 'utf8');
      }
      this.report.lines++;
    }
    this.report.endState = this.copyTable !== null ? 'copy' : this.mode;
    return tail;
  }

  /**
   * Consumes COPY rows from `pos`. Returns the next position, or -(pos+1) when the rest of the buffer
   * is a row start too short to tell whether it is the end-of-data line.
   */
  private scanCopy(buf: Buffer, pos: number): number {
    const end = buf.length;
    while (pos < end) {
      if (this.copyMidRow) {
        const nl = buf.indexOf(NEWLINE, pos);
        if (nl < 0) return end;
        this.copyMidRow = false;
        this.copyRows++;
        pos = nl + 1;
        continue;
      }
      if (buf[pos] === 0x5c /* \ */ && buf[pos + 1] === 0x2e /* . */) {
        const next = buf[pos + 2];
        if (next === undefined || (next === 0x0d && buf[pos + 3] === undefined)) return -(pos + 1);
        if (next === NEWLINE || (next === 0x0d && buf[pos + 3] === NEWLINE)) {
          this.endCopy();
          const nl = buf.indexOf(NEWLINE, pos);
          this.report.lines++;
          return nl + 1;
        }
      } else if (buf[pos] === 0x5c && pos + 1 === end) {
        return -(pos + 1);
      }
      const nl = buf.indexOf(NEWLINE, pos);
      if (nl < 0) {
        this.copyMidRow = true;
        return end;
      }
      this.copyRows++;
      this.report.lines++;
      pos = nl + 1;
    }
    return pos;
  }

  private endCopy(): void {
    const table = this.copyTable!;
    this.report.rows.set(table, (this.report.rows.get(table) ?? 0) + this.copyRows);
    this.copyTable = null;
    this.copyRows = 0;
  }

  /** Handles one whole line outside COPY data; returns its replacement when it was rewritten. */
  private statementLine(line: string): string | undefined {
    if (this.commentingOut) {
      this.lex(line);
      if (this.mode === 'normal' && this.statementStart) this.commentingOut = false;
      return `-- ${line}`;
    }
    if (this.mode !== 'normal' || !this.statementStart) {
      this.lex(line);
      return undefined;
    }
    const rewritten = this.rewrite ? this.rewrite(line) : line;
    this.inspect(rewritten);
    if (rewritten !== line && rewritten.startsWith('--') && !line.startsWith('--') && !line.startsWith('\\')) {
      this.lex(line);
      if (this.mode !== 'normal' || !this.statementStart) this.commentingOut = true;
      return rewritten;
    }
    if (rewritten.startsWith('\\')) {
      // A psql meta-command: a line of its own, not SQL.
    } else {
      this.lex(rewritten);
    }
    return rewritten === line ? undefined : rewritten;
  }

  /** Looks at a statement line for what the report records. */
  private inspect(line: string): void {
    const c = line.charCodeAt(0);
    if (c === 0x2d /* - */) {
      this.inspectComment(line);
    } else if (c === 0x49 /* I */) {
      const insert = INSERT_LINE.exec(line);
      if (insert) this.report.rows.set(insert[1]!, (this.report.rows.get(insert[1]!) ?? 0) + 1);
    } else if (c === 0x43 /* C */) {
      const copy = COPY_LINE.exec(line);
      if (copy) {
        this.copyTable = copy[1]!;
        this.copyRows = 0;
        this.copyMidRow = false;
        // the COPY statement itself ends with ';' and its data follows on the next line
        this.statementStart = true;
      } else if (/^COMMIT;\s*$/.test(line)) {
        this.report.transaction.commit++;
      }
    } else if (c === 0x42 /* B */ && /^BEGIN;\s*$/.test(line)) {
      this.report.transaction.begin++;
    }
  }

  private inspectComment(line: string): void {
    if (this.report.lines <= HEADER_LINES && this.report.header.length < HEADER_LINES) this.report.header.push(line.trimEnd());
    const marker = MARKER_LINE.exec(line);
    if (marker) {
      this.report.markers.push(Number(marker[1]));
      return;
    }
    if (line.startsWith(MARKER.end)) {
      this.inManifest = true;
      this.report.complete = true;
      this.report.manifest = new Map();
      return;
    }
    if (this.inManifest && line.startsWith(MARKER.manifestRow)) {
      const row = MANIFEST_LINE.exec(line);
      if (row) this.report.manifest!.set(row[1]!, Number(row[2]));
    }
  }

  /** Advances the lexical state over one line of SQL text. */
  private lex(text: string): void {
    const n = text.length;
    let i = 0;
    while (i < n) {
      switch (this.mode) {
        case 'normal': {
          const re = this.statementStart ? NEXT_NON_SPACE : NEXT_SPECIAL;
          re.lastIndex = i;
          const m = re.exec(text);
          if (!m) return;
          i = m.index;
          const ch = text[i]!;
          if (ch === '-' && text[i + 1] === '-') return; // line comment: rest of the line
          if (ch === '\\') return; // a psql meta-command: rest of the line
          if (ch === '/' && text[i + 1] === '*') {
            this.mode = 'block';
            this.commentDepth = 1;
            i += 2;
            continue;
          }
          if (ch === ';') {
            this.statementStart = true;
            i++;
            continue;
          }
          this.statementStart = false;
          if (ch === "'") {
            const prev = text[i - 1];
            const escape = (prev === 'E' || prev === 'e') && !isIdentChar(text[i - 2]);
            this.mode = escape ? 'equote' : 'squote';
            i++;
          } else if (ch === '"') {
            this.mode = 'dquote';
            i++;
          } else if (ch === '$' && !isIdentChar(text[i - 1])) {
            DOLLAR_TAG.lastIndex = i;
            const tag = DOLLAR_TAG.exec(text);
            if (tag) {
              this.mode = 'dollar';
              this.dollarTag = tag[0];
              i += tag[0].length;
            } else {
              i++;
            }
          } else {
            i++;
          }
          continue;
        }
        case 'squote':
        case 'dquote': {
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
        case 'equote': {
          let j = i;
          while (j < n && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
          if (j >= n) return;
          if (text[j + 1] === "'") {
            i = j + 2;
          } else {
            this.mode = 'normal';
            i = j + 1;
          }
          continue;
        }
        case 'dollar': {
          const close = text.indexOf(this.dollarTag, i);
          if (close < 0) return;
          this.mode = 'normal';
          i = close + this.dollarTag.length;
          continue;
        }
        case 'block': {
          const open = text.indexOf('/*', i);
          const close = text.indexOf('*/', i);
          if (close < 0 && open < 0) return;
          if (open >= 0 && (close < 0 || open < close)) {
            this.commentDepth++;
            i = open + 2;
          } else {
            this.commentDepth--;
            i = close + 2;
            if (this.commentDepth === 0) this.mode = 'normal';
          }
          continue;
        }
      }
    }
  }
}

function isIdentChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(ch);
}
