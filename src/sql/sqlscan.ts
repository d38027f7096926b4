/**
 * A streaming reader of pg_dump-style SQL that knows, for every line, whether it is a statement of its
 * own, text inside a string/identifier/dollar-quote/comment, or a row inside a COPY block. It counts rows
 * per table (COPY rows and single-row INSERTs), finds the backup's markers and manifest, and can rewrite
 * statement lines (never data) on the way through. Bytes it does not rewrite pass through unchanged.
 *
 * Data lines are never decoded: COPY rows are found with memchr-speed Buffer.indexOf, and statement
 * lines (INSERT rows included) are lexed as bytes; only lines that may be rewritten or that the report
 * reads (comments, COPY/BEGIN/COMMIT, an INSERT's table name) are decoded. UTF-8 never puts an ASCII
 * byte inside a multi-byte character, so byte-level search is exact. Chunks pass through as views,
 * never copied, except the one line a chunk boundary cuts in two.
 *
 * Memory stays flat whatever a line's length: a line is held whole only up to `streamAfter` bytes
 * (what a rewrite or the report may read of it). A longer one (a large value in a PART 1 row) is
 * decided from its head and then passes through as its chunks come, the lexer resuming where it
 * stopped; only the few bytes the lexer still needs to look ahead are kept (see LongLine).
 */

const NEWLINE = 0x0a;
/** The leading comment lines kept as the header: the banner and the Generated/Includes/Source lines. */
const HEADER_LINES = 8;

type Mode = 'normal' | 'squote' | 'equote' | 'dquote' | 'dollar' | 'block';

/**
 * Rewrites one statement line (with its newline); returns it unchanged when there is nothing to do.
 * `firstChars`, when set, lists every first character of the lines it may change: the scanner then
 * leaves all other lines (INSERT rows, most of a dump) as bytes and never decodes them.
 */
export type LineRewriter = ((line: string) => string) & { readonly firstChars?: string };

export interface ScanReport {
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

/**
 * Told what psql would see in the text, as the scanner meets it (used by the file policy, policy.ts).
 * Line numbers count from 1; texts are decoded from the byte that starts them to the end of the line.
 */
export interface ScanWatcher {
  /** A backslash outside quotes and comments: psql runs the rest of the line as a meta-command. */
  metaCommand(line: number, text: string): void;
  /** The first token of a statement (at a line start, after whitespace or a comment, or after a `;`). */
  statement(line: number, text: string): void;
  /** The `;` that ends the current statement. */
  statementEnd(): void;
  /** While true, every further line outside COPY data is passed to continuation() before it is lexed. */
  readonly following: boolean;
  continuation(line: number, text: string): void;
}

/** The most of a line decoded for a watcher. */
const WATCH_TEXT = 4096;

export const MARKER = {
  banner: '-- COMPLETE DATABASE BACKUP',
  part1: '-- PART 1: AUTH AND STORAGE DATA',
  part2: '-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)',
  part3: '-- PART 3: USER OBJECTS ON AUTH AND STORAGE',
  end: '-- END OF BACKUP',
  manifestRow: '-- rows ',
} as const;

const IDENT = String.raw`(?:"(?:[^"]|"")*"|[^\s."(]+)`;
const COPY_LINE = new RegExp(String.raw`^COPY (${IDENT}(?:\.${IDENT})?) (?:\([\s\S]*\) )?FROM stdin;`);
const INSERT_LINE = new RegExp(String.raw`^INSERT INTO (${IDENT}(?:\.${IDENT})?) `);
const MARKER_LINE = /^-- PART ([123]): /;
const MANIFEST_LINE = /^-- rows (.+) (\d+)\s*$/;
/**
 * The most a statement line that ends inside a quoted name is held for (a name holds at most 63 bytes,
 * so only a file that is not pg_dump's comes near it).
 */
const MAX_HELD_LINE = 1 << 20;
const EMPTY = Buffer.alloc(0);
/** Lines longer than this stream (see the class comment) unless a rewrite needs them whole. */
const STREAM_AFTER = 1 << 20;
/**
 * A line the rewriter may change (pg_dump's DDL lines, a few hundred bytes) is held whole up to this
 * size; a longer one passes as a long line when the rewriter leaves its head unchanged, and is refused
 * otherwise.
 */
const HOLD_LIMIT = 8 << 20;
/** How much of a long line's head is decoded to decide it (the INSERT name, a rewrite, the report). */
const LONG_HEAD = 64 * 1024;
/** The most a long line's lexer may keep to look ahead (a dollar-quote tag of that size is no pg_dump's). */
const MAX_LEX_TAIL = 1 << 20;
/** A long line's piece is joined with the lexer's kept bytes in at most this much (not copied whole). */
const JOIN = 16 * 1024;
/** A quoted value is searched byte by byte for its closing quote this far, then with Buffer.indexOf. */
const SHORT_QUOTE = 64;
/** lexBytes: the rest of the line is a comment or a meta-command, not SQL. */
const REST_IS_NOT_SQL = -1;

/**
 * A line longer than the scanner holds, passing through: its bytes go out as they come and its lexing
 * resumes chunk to chunk. `tail` keeps the bytes from where the lexer stopped (it needed to see further
 * to decide) and up to two before them, for the lookbehind of E'' strings and dollar quotes.
 */
interface LongLine {
  tail: Buffer;
  /** Where lexing resumes in `tail`. */
  at: number;
  /** False once the rest of the line is a comment or a meta-command. */
  lexing: boolean;
  watched: boolean;
  /** A line of a statement being commented out (see commentingOut). */
  commented: boolean;
}

export interface ScannerLimits {
  /** Lines longer than this pass through as they come (default 1 MiB; tests use a few bytes). */
  streamAfter?: number;
  /** A line a rewrite may change is held whole up to this size (default 8 MiB). */
  holdLimit?: number;
}

/**
 * A table name as the manifest (a comment line) and messages write it: its quote_ident form with
 * backslashes and control characters escaped (`\\`, `\n`, `\t`, `\r`, `\xHH`), so that a name holding a
 * newline stays on its line. parseManifestName reverses it.
 */
export function manifestName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\\\x00-\x1f\x7f]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

export function parseManifestName(text: string): string {
  return text.replace(/\\(\\|n|t|r|x[0-9a-f]{2})/g, (_, e: string) => {
    if (e === '\\') return '\\';
    if (e === 'n') return '\n';
    if (e === 't') return '\t';
    if (e === 'r') return '\r';
    return String.fromCharCode(parseInt(e.slice(1), 16));
  });
}

export class ScanError extends Error {
  override name = 'ScanError';
}

export class SqlScanner {
  private mode: Mode = 'normal';
  private dollarTag: Buffer = Buffer.alloc(0);
  private commentDepth = 0;
  /** No token since the last `;`: the next line that starts in `normal` mode is a statement line. */
  private statementStart = true;
  private copyTable: string | null = null;
  private copyRows = 0;
  /** Inside a COPY row whose start was already passed on (a row longer than one chunk). */
  private copyMidRow = false;
  private carry: Buffer[] = [];
  private carryLength = 0;
  private inManifest = false;
  /** A statement line held until the quoted name it ends inside is closed (statementLine). */
  private heldLine: { text: string[]; length: number; watched: boolean } | null = null;
  /** The head of the last INSERT line, when the next rows of its table may skip it (insertLine). */
  private insertHead: { bytes: Buffer; table: string | null } | null = null;
  /** The last answer of nextByte(). */
  private foundIn: Buffer | null = null;
  private foundByte = 0;
  private foundAt = 0;

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

  /** Rows counted so far, the rows of the COPY block being read included (report.rows gets them at its end). */
  rowsSoFar(): number {
    let rows = this.copyRows;
    for (const count of this.report.rows.values()) rows += count;
    return rows;
  }

  /**
   * The original statement a comment-out rewrite began did not end on its line (a quoted name with a
   * newline in it): every line up to its end is commented out too, so no part of it runs.
   */
  private commentingOut = false;

  /**
   * Bytes the line scan went over: each byte about once, whatever the chunking (a line that arrives in
   * many chunks is scanned when its newline arrives or, when long, as it passes; not again per chunk).
   */
  scannedBytes = 0;
  /** The most bytes of the input the scanner held at once (an unfinished line, a long line's kept bytes). */
  heldBytesPeak = 0;

  private long: LongLine | null = null;
  private readonly streamAfter: number;
  private readonly holdLimit: number;

  /**
   * `watch` is told of meta-commands and statements (the file policy, policy.ts). `limits`: see
   * ScannerLimits; a line is never held longer than `holdLimit` (a longer one that must be held is
   * refused with a ScanError naming it). COPY rows and long lines of any length stream.
   */
  constructor(
    private readonly rewrite?: LineRewriter,
    private readonly watch?: ScanWatcher,
    limits: ScannerLimits = {},
  ) {
    // A watcher reads up to WATCH_TEXT bytes from where a statement or meta-command starts.
    this.streamAfter = Math.max(limits.streamAfter ?? STREAM_AFTER, watch ? WATCH_TEXT + 1 : 1);
    this.holdLimit = Math.max(limits.holdLimit ?? HOLD_LIMIT, this.streamAfter);
  }

  /** Scans a chunk; returns the bytes to write (the chunk itself, or with statement lines rewritten). */
  push(chunk: Buffer): Buffer {
    const parts = this.pushParts(chunk);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * As push, but returns the bytes to write as a list of pieces (views of `chunk` where nothing was
   * rewritten), so that nothing is copied: the unfinished line a chunk ends with is kept and completed
   * with the head of the next chunk, and only that one line is ever copied.
   */
  pushParts(chunk: Buffer): Buffer[] {
    this.report.bytes += chunk.length;
    const out: Buffer[] = [];
    let from = 0;
    if (this.long !== null) {
      from = this.continueLongLine(chunk, out);
    } else if (this.carryLength > 0) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0 && this.copyTable === null) {
        // Still no end of line: kept with the line, which is scanned once, when its newline arrives
        // (or passes on as a long line).
        this.carry.push(Buffer.from(chunk));
        this.carryLength += chunk.length;
        this.noteHeld(this.carryLength);
        if (this.carryLength >= this.streamAfter) this.streamCarry(out);
        return out;
      }
      const carried = this.carry;
      this.carry = [];
      this.carryLength = 0;
      if (nl < 0) {
        // A COPY row start too short to tell (a few bytes): scanned again with what follows.
        this.scan(Buffer.concat([...carried, chunk]), 0, out);
        return out;
      }
      // The carried line, completed: it ends with a newline, so the scan consumes all of it.
      this.scan(Buffer.concat([...carried, chunk.subarray(0, nl + 1)]), 0, out);
      from = nl + 1;
    }
    if (from < chunk.length) this.scan(chunk, from, out);
    return out;
  }

  private noteHeld(bytes: number): void {
    if (bytes > this.heldBytesPeak) this.heldBytesPeak = bytes;
  }

  /** Scans buf[pos..]; appends the bytes to write to `out` and keeps an unfinished last line in the carry. */
  private scan(buf: Buffer, pos: number, out: Buffer[]): void {
    let passFrom = pos;
    const end = buf.length;
    while (pos < end) {
      if (this.copyTable !== null) {
        const from = pos;
        pos = this.scanCopy(buf, pos);
        if (pos < 0) {
          // incomplete line at the very start of a row: keep it for the next chunk
          pos = -pos - 1;
          this.scannedBytes += pos - from;
          break;
        }
        this.scannedBytes += pos - from;
        continue;
      }
      const nl = buf.indexOf(NEWLINE, pos);
      const lineEnd = nl < 0 ? end : nl;
      if (lineEnd - pos >= this.streamAfter) {
        // A long line, whole in this buffer or not: decided from its head, passed on as it is.
        if (pos > passFrom) out.push(buf.subarray(passFrom, pos));
        passFrom = pos;
        if (this.startLongLine(buf.subarray(pos, lineEnd), out)) {
          pos = lineEnd;
          passFrom = lineEnd;
          if (nl < 0) return;
          pos = this.continueLongLine(buf.subarray(nl), out) + nl;
          passFrom = pos;
          continue;
        }
      }
      if (nl < 0) break;
      this.report.lines++;
      this.scannedBytes += nl + 1 - pos;
      const replaced = this.statementLine(buf, pos, nl + 1);
      if (replaced !== undefined) {
        if (pos > passFrom) out.push(buf.subarray(passFrom, pos));
        out.push(replaced);
        passFrom = nl + 1;
      }
      pos = nl + 1;
    }
    if (pos < end) {
      // An unfinished line: it is scanned (and perhaps rewritten) once its newline arrives.
      this.carry = [Buffer.from(buf.subarray(pos))];
      this.carryLength = end - pos;
      this.noteHeld(this.carryLength);
    }
    if (pos > passFrom) out.push(buf.subarray(passFrom, pos));
  }

  /** The carried line has grown long: passed on from here when its head decides it (else held on). */
  private streamCarry(out: Buffer[]): void {
    const head = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry);
    this.carry = [head];
    if (!this.startLongLine(head, out)) return;
    this.carry = [];
    this.carryLength = 0;
  }

  /**
   * A line at least `streamAfter` long, from its head (`head`: its first bytes, without a newline).
   * Makes what statementLine would make of the line from the head alone, writes the head out, and
   * returns true: the rest of the line passes as it comes (continueLongLine). Returns false when the
   * line is to be held on (a rewrite may change it, or the INSERT name is not in the head yet).
   */
  private startLongLine(head: Buffer, out: Buffer[]): boolean {
    if (this.heldLine !== null) return this.holdLongHeld(head);
    const first = head[0]!;
    const atStatement = !this.commentingOut && this.mode === 'normal' && this.statementStart;
    const rewrite = this.rewrite;
    const mayRewrite = rewrite !== undefined && (rewrite.firstChars === undefined || rewrite.firstChars.includes(String.fromCharCode(first)));
    const whole = atStatement && (mayRewrite || first === 0x2d /* - */ || first === 0x43 /* C */ || first === 0x42 /* B */);
    if (whole && head.length < this.holdLimit) return false;
    let insert: { name: string; end: number } | null | undefined = null;
    let quote = -1;
    if (atStatement && !whole && first === 0x49 /* I */) {
      quote = this.cachedInsertHead(head, 0, head.length);
      insert = quote >= 0 ? { name: this.insertHead!.table!, end: 0 } : decideInsert(head);
      if (insert === undefined) return false;
    }

    this.report.lines++;
    if (this.watch?.following) this.watch.continuation(this.report.lines, this.decodeForWatch(head, 0, head.length));
    const long: LongLine = { tail: EMPTY, at: 0, lexing: true, watched: !this.commentingOut, commented: this.commentingOut };
    this.long = long;
    if (long.commented) out.push(Buffer.from('-- ', 'utf8'));
    out.push(head);
    let from = 0;
    if (whole) {
      const text = head.toString('utf8', 0, Math.min(head.length, LONG_HEAD));
      if (rewrite && rewrite(text) !== text) throw this.tooLongToRewrite(text);
      if (first === 0x5c /* \ */) {
        this.watch?.metaCommand(this.report.lines, this.decodeForWatch(head, 0, head.length));
        long.lexing = false;
        return true;
      }
      this.inspectLongHead(text);
    } else if (atStatement && first === 0x5c /* \ */) {
      this.watch?.metaCommand(this.report.lines, this.decodeForWatch(head, 0, head.length));
      long.lexing = false;
      return true;
    } else if (insert !== null && insert !== undefined) {
      this.report.rows.set(insert.name, (this.report.rows.get(insert.name) ?? 0) + 1);
      if (quote >= 0) {
        this.statementStart = false;
        from = quote;
      } else {
        this.insertHead = cacheableHead(head, 0, head.length, insert);
      }
    }
    this.lexLongPiece(head, from, true);
    return true;
  }

  /** A line of a statement held for a quoted name (see statementLine): held up to the limit, then refused. */
  private holdLongHeld(head: Buffer): boolean {
    if (head.length < this.holdLimit) return false;
    const start = this.heldLine!.text[0]!.slice(0, 200);
    throw new ScanError(
      `a statement with a quoted name over several lines runs on for more than ${mib(this.holdLimit)} MiB, more than a ` +
        `backup can check: ${manifestName(start)}…`,
    );
  }

  /** The next piece of a long line; returns where the line ends in `chunk` (chunk.length when it goes on). */
  private continueLongLine(chunk: Buffer, out: Buffer[]): number {
    const nl = chunk.indexOf(NEWLINE);
    const stop = nl < 0 ? chunk.length : nl + 1;
    const piece = stop === chunk.length ? chunk : chunk.subarray(0, stop);
    out.push(piece);
    this.lexLongPiece(piece, 0, nl < 0);
    if (nl >= 0) this.endLongLine();
    return stop;
  }

  /**
   * Lexes the next piece of a long line from `from`, after the bytes kept from the last one; keeps what
   * the lexer has yet to decide. The kept bytes are joined with the piece's head only, not with all of it.
   */
  private lexLongPiece(piece: Buffer, from: number, partial: boolean): void {
    const long = this.long!;
    if (!long.lexing) return;
    const kept = long.tail;
    let buf = piece;
    let at = from;
    if (kept.length > 0) {
      const joinLength = Math.min(piece.length, JOIN);
      const join = Buffer.concat([kept, piece.subarray(0, joinLength)]);
      const more = piece.length > joinLength;
      const stop = this.lexBytes(join, 0, join.length, long.at, long.watched, partial || more);
      this.scannedBytes += join.length - long.at;
      if (stop === REST_IS_NOT_SQL) return this.stopLexing();
      if (!more || stop < kept.length + 2) {
        // The piece ends within the join, or the lexer needs more than the join to go on.
        buf = more ? Buffer.concat([kept, piece]) : join;
        at = stop;
        if (more) this.scannedBytes -= join.length - long.at;
      } else {
        // Past the join with two bytes of the piece behind it: the rest is lexed in the piece itself.
        at = stop - kept.length;
      }
      if (buf === join) return this.keep(join, stop);
    }
    const stop = this.lexBytes(buf, 0, buf.length, at, long.watched, partial);
    this.scannedBytes += buf.length - at;
    if (stop === REST_IS_NOT_SQL) return this.stopLexing();
    this.keep(buf, stop);
  }

  /** Keeps buf[stop..] for the lexer (and two bytes before it, for lookbehind). */
  private keep(buf: Buffer, stop: number): void {
    const long = this.long!;
    const from = Math.max(0, stop - 2);
    long.tail = from === buf.length ? EMPTY : Buffer.from(buf.subarray(from));
    long.at = stop - from;
    this.noteHeld(long.tail.length);
    if (long.tail.length > MAX_LEX_TAIL) {
      throw new ScanError(`a line holds a token longer than ${mib(MAX_LEX_TAIL)} MiB (line ${this.report.lines}): this is not pg_dump's SQL`);
    }
  }

  private stopLexing(): void {
    this.long!.lexing = false;
    this.long!.tail = EMPTY;
  }

  private endLongLine(): void {
    const long = this.long!;
    this.long = null;
    if (long.commented && this.mode === 'normal' && this.statementStart) this.commentingOut = false;
  }

  /**
   * The report's part of a long statement line (longer than holdLimit), from its head: a comment's
   * header line and markers (a manifest row is never that long), an INSERT's table. A COPY statement
   * that long is not pg_dump's and is refused (its data would be taken for SQL).
   */
  private inspectLongHead(text: string): void {
    const c = text.charCodeAt(0);
    if (c === 0x2d /* - */) {
      if (this.report.lines <= HEADER_LINES && this.report.header.length < HEADER_LINES) this.report.header.push(text.slice(0, WATCH_TEXT).trimEnd());
      const marker = MARKER_LINE.exec(text);
      if (marker) this.report.markers.push(Number(marker[1]));
      else if (text.startsWith(MARKER.end)) {
        this.inManifest = true;
        this.report.complete = true;
        this.report.manifest = new Map();
      }
    } else if (c === 0x49 /* I */) {
      const insert = INSERT_LINE.exec(text);
      if (insert) this.report.rows.set(insert[1]!, (this.report.rows.get(insert[1]!) ?? 0) + 1);
    } else if (c === 0x43 /* C */ && COPY_LINE.exec(text)) {
      throw new ScanError(`a COPY statement longer than ${mib(this.holdLimit)} MiB: ${JSON.stringify(text.slice(0, 80))}…`);
    }
  }

  /** The refusal of a statement line too long to hold that the rewrite would change. */
  private tooLongToRewrite(text: string): ScanError {
    return new ScanError(
      `a statement line of more than ${mib(this.holdLimit)} MiB starting ${JSON.stringify(text.slice(0, 80))} is one the backup ` +
        'rewrites, and too long to hold: this is not pg_dump output it can check',
    );
  }

  /** Ends the scan; returns whatever unfinished last line remains (scanned as a line of its own). */
  finish(): Buffer {
    let tail: Buffer = Buffer.alloc(0);
    if (this.long !== null) {
      // The file ends inside a long line: its last kept bytes are lexed as the end of the line.
      const long = this.long;
      if (long.lexing) this.lexBytes(long.tail, 0, long.tail.length, long.at, long.watched);
      this.endLongLine();
    }
    if (this.carryLength > 0) {
      const buf = Buffer.concat(this.carry);
      this.carry = [];
      this.carryLength = 0;
      this.report.lines++;
      if (this.copyTable !== null) {
        tail = buf;
      } else {
        this.scannedBytes += buf.length;
        tail = this.statementLine(buf, 0, buf.length) ?? buf;
      }
    }
    if (this.heldLine !== null) {
      // A file cut inside a quoted name: the held line passes as it is (endState tells the cut).
      tail = Buffer.concat([Buffer.from(this.heldLine.text.join(''), 'utf8'), tail]);
      this.heldLine = null;
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
        this.report.lines++;
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

  /**
   * Handles one whole line outside COPY data, buf[start..end) (with its newline); returns its replacement
   * when it was rewritten. Lines are decoded to text only when the rewriter may change them or the
   * report needs them; everything else is lexed as bytes.
   */
  private statementLine(buf: Buffer, start: number, end: number): Buffer | undefined {
    if (this.watch?.following) this.watch.continuation(this.report.lines, this.decodeForWatch(buf, start, end));
    if (this.heldLine !== null) return this.holdOn(buf, start, end);
    if (this.commentingOut) {
      this.lexBytes(buf, start, end, start, false);
      if (this.mode === 'normal' && this.statementStart) this.commentingOut = false;
      return Buffer.concat([Buffer.from('-- ', 'utf8'), buf.subarray(start, end)]);
    }
    if (this.mode !== 'normal' || !this.statementStart) {
      this.lexBytes(buf, start, end);
      return undefined;
    }
    const first = buf[start]!;
    const rewrite = this.rewrite;
    const mayRewrite = rewrite !== undefined && (rewrite.firstChars === undefined || rewrite.firstChars.includes(String.fromCharCode(first)));
    if (!mayRewrite) {
      if (first === 0x5c /* \ */) {
        // a psql meta-command: a line of its own, not SQL
        this.watch?.metaCommand(this.report.lines, this.decodeForWatch(buf, start, end));
        return undefined;
      }
      if (first === 0x49 /* I */) {
        this.insertLine(buf, start, end);
        return undefined;
      }
      if (first !== 0x2d /* - */ && first !== 0x43 /* C */ && first !== 0x42 /* B */) {
        this.lexBytes(buf, start, end);
        return undefined;
      }
    }
    const line = buf.toString('utf8', start, end);
    // A psql meta-command is a line of its own, not SQL: never lexed.
    if (line.startsWith('\\')) return this.logicalLine(line, false, true);
    // The watch is told what the file holds: a line the rewrite may change is watched as rewritten.
    this.lexBytes(buf, start, end, start, !mayRewrite);
    if ((this.mode as Mode) === 'dquote') {
      // A quoted name with a newline (pg_dump writes it as it is): the statement line goes on over the
      // next lines. It is held, then rewritten and inspected whole once the name is closed.
      this.heldLine = { text: [line], length: end - start, watched: !mayRewrite };
      return EMPTY;
    }
    return this.logicalLine(line, false, !mayRewrite);
  }

  /** A line that goes on a held statement line (see statementLine). */
  private holdOn(buf: Buffer, start: number, end: number): Buffer {
    const held = this.heldLine!;
    held.text.push(buf.toString('utf8', start, end));
    held.length += end - start;
    this.lexBytes(buf, start, end, start, held.watched);
    if ((this.mode as Mode) === 'dquote') {
      if (held.length > MAX_HELD_LINE) {
        throw new ScanError(`a quoted name runs over more than ${MAX_HELD_LINE} bytes: ${manifestName(held.text[0]!.slice(0, 200))}…`);
      }
      return EMPTY;
    }
    this.heldLine = null;
    return this.logicalLine(held.text.join(''), true, held.watched)!;
  }

  /**
   * A whole statement line, decoded (several lines of the file when a quoted name holds a newline),
   * already lexed (`watched`: with the watch): rewritten and inspected. Returns the bytes to write
   * instead of the line's own, or undefined when they pass unchanged (never for a held line, whose own
   * bytes were held back).
   */
  private logicalLine(line: string, held: boolean, watched: boolean): Buffer | undefined {
    const rewritten = this.rewrite ? this.rewrite(line) : line;
    this.inspect(rewritten);
    const meta = rewritten.startsWith('\\');
    if (meta) this.watch?.metaCommand(this.report.lines, rewritten.slice(0, WATCH_TEXT).replace(/\r?\n$/, ''));
    const bytes = rewritten === line && !held ? null : Buffer.from(rewritten, 'utf8');
    // A psql meta-command is a line of its own, not SQL: not lexed.
    if (meta) return bytes ?? undefined;
    if (rewritten.startsWith('--') && !line.startsWith('--') && !line.startsWith('\\')) {
      // A statement commented out: when it does not end on this line, neither may the rest of it run
      // (the lexer state is still the original's, as it was left after the line). The watch sees a comment.
      if (this.mode !== 'normal' || !this.statementStart) this.commentingOut = true;
    } else if (rewritten !== line || (!watched && this.watch)) {
      // Lexed again as written (and watched), from the statement start where it began.
      const written = bytes ?? Buffer.from(rewritten, 'utf8');
      this.mode = 'normal';
      this.statementStart = true;
      this.lexBytes(written, 0, written.length, 0, true);
    }
    return bytes ?? undefined;
  }

  /** buf[start..end) as text for a watcher, without its line end, at most WATCH_TEXT bytes. */
  private decodeForWatch(buf: Buffer, start: number, end: number): string {
    let stop = Math.min(end, start + WATCH_TEXT);
    if (stop > start && buf[stop - 1] === NEWLINE) stop--;
    if (stop > start && buf[stop - 1] === 0x0d) stop--;
    return buf.toString('utf8', start, stop);
  }

  /**
   * An INSERT statement line that is not rewritten. pg_dump --column-inserts starts every row of a table
   * with the same `INSERT INTO t (columns) VALUES (` up to the first quote: when that head is byte for
   * byte the head of the previous line, and it holds nothing the lexer acts on, its table name and the
   * lexer state after it are the same too, so only the values are lexed.
   */
  private insertLine(buf: Buffer, start: number, end: number): void {
    const quote = this.cachedInsertHead(buf, start, end);
    if (quote >= 0) {
      const table = this.insertHead!.table;
      if (table !== null) this.report.rows.set(table, (this.report.rows.get(table) ?? 0) + 1);
      // The head has a token ('I') and no special byte: the statement has begun, in plain SQL.
      this.statementStart = false;
      this.lexBytes(buf, start, end, quote);
      return;
    }
    const table = this.inspectInsert(buf, start, end);
    this.lexBytes(buf, start, end);
    this.insertHead = cacheableHead(buf, start, end, table);
  }

  /** Where the first quote of buf[start..end) is when the line starts with the last INSERT's head, else -1. */
  private cachedInsertHead(buf: Buffer, start: number, end: number): number {
    const head = this.insertHead;
    if (head === null) return -1;
    const quote = start + head.bytes.length;
    if (quote < end && buf[quote] === 0x27 && buf.compare(head.bytes, 0, head.bytes.length, start, quote) === 0) return quote;
    return -1;
  }

  /** The INSERT rule of inspect() on a line that is not rewritten: decodes only the head of the line. */
  private inspectInsert(buf: Buffer, start: number, end: number): { name: string; end: number } | null {
    let insert: RegExpExecArray | null = null;
    let decoded = '';
    for (const size of INSERT_HEADS) {
      const stop = Math.min(end, start + size);
      decoded = buf.toString('utf8', start, stop);
      insert = INSERT_LINE.exec(decoded);
      if (insert || stop === end) break;
    }
    if (!insert) return null;
    this.report.rows.set(insert[1]!, (this.report.rows.get(insert[1]!) ?? 0) + 1);
    return { name: insert[1]!, end: Buffer.byteLength(insert[0], 'utf8') };
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
      if (row) this.report.manifest!.set(parseManifestName(row[1]!), Number(row[2]));
    }
  }

  /**
   * Position of the next `quote` in buf[from..end), or at least `end` when the line has none. Most quoted
   * values are short (an INSERT row holds dozens): a byte loop finds their end for less than a call
   * into Buffer.indexOf costs, which is kept for the long ones.
   */
  private closingQuote(buf: Buffer, quote: number, from: number, end: number): number {
    const stop = Math.min(end, from + SHORT_QUOTE);
    let i = from;
    while (i < stop && buf[i] !== quote) i++;
    return i < stop || i >= end ? i : this.nextByte(buf, quote, i);
  }

  /**
   * Position of the next `byte` in buf from `from` (buf.length when there is none). A string that runs
   * over many lines is searched once, not once per line: the last answer is kept while it is ahead.
   */
  private nextByte(buf: Buffer, byte: number, from: number): number {
    if (this.foundIn === buf && this.foundByte === byte && this.foundAt >= from) return this.foundAt;
    const at = buf.indexOf(byte, from);
    this.foundIn = buf;
    this.foundByte = byte;
    this.foundAt = at < 0 ? buf.length : at;
    return this.foundAt;
  }

  /**
   * Advances the lexical state over one line of SQL, buf[start..end) (its newline included), as bytes.
   * Every character that matters is ASCII and UTF-8 never puts an ASCII byte inside a multi-byte
   * character, so this sees exactly what a lexer of the decoded text sees; bytes >= 0x80 count as
   * identifier characters, as PostgreSQL counts them.
   *
   * `partial`: buf[start..end) is only the part of a long line seen so far (`start` may be two bytes
   * before where the last part stopped, for lookbehind). Where the lexer would have to look past `end`
   * to decide, it stops and returns that position: the caller lexes again from there with more bytes.
   * Returns `end` when all was lexed, REST_IS_NOT_SQL when the rest of the line is a comment or a
   * meta-command.
   */
  private lexBytes(buf: Buffer, start: number, end: number, from = start, watched = true, partial = false): number {
    const watch = watched ? this.watch : undefined;
    let i = from;
    while (i < end) {
      switch (this.mode) {
        case 'normal': {
          if (this.statementStart) {
            for (;;) {
              if (i >= end) return end;
              const c = buf[i]!;
              if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) {
                i++;
              } else if (c >= 0x80) {
                if (partial && i + 2 >= end) return i;
                const space = unicodeSpaceLength(buf, i, end);
                if (space === 0) break;
                i += space;
              } else {
                break;
              }
            }
          } else {
            while (i < end && SPECIAL[buf[i]!] === 0) i++;
            if (i >= end) return end;
          }
          const c = buf[i]!;
          if (partial && i + 1 >= end && (c === 0x2d || c === 0x2f || c === 0x24)) return i;
          const next = i + 1 < end ? buf[i + 1] : -1;
          if (c === 0x2d /* - */ && next === 0x2d) return REST_IS_NOT_SQL; // line comment: rest of the line
          if (c === 0x5c /* \ */) {
            // psql takes a backslash outside quotes, anywhere on a line, as a meta-command to its end
            if (partial && watch && end - i < WATCH_TEXT) return i;
            watch?.metaCommand(this.report.lines, this.decodeForWatch(buf, i, end));
            return REST_IS_NOT_SQL;
          }
          if (c === 0x2f /* / */ && next === 0x2a /* * */) {
            this.mode = 'block';
            this.commentDepth = 1;
            i += 2;
            continue;
          }
          if (c === 0x3b /* ; */) {
            if (!this.statementStart) watch?.statementEnd();
            this.statementStart = true;
            i++;
            continue;
          }
          if (this.statementStart && watch) {
            if (partial && end - i < WATCH_TEXT) return i;
            watch.statement(this.report.lines, this.decodeForWatch(buf, i, end));
          }
          this.statementStart = false;
          if (c === 0x27 /* ' */) {
            const prev = i > start ? buf[i - 1]! : -1;
            const escape = (prev === 0x45 /* E */ || prev === 0x65 /* e */) && !isIdentByte(i - 1 > start ? buf[i - 2]! : -1);
            this.mode = escape ? 'equote' : 'squote';
            i++;
          } else if (c === 0x22 /* " */) {
            this.mode = 'dquote';
            i++;
          } else if (c === 0x24 /* $ */ && !isIdentByte(i > start ? buf[i - 1]! : -1)) {
            const length = dollarTagLength(buf, i, end);
            if (length < 0 && partial) return i;
            if (length > 0) {
              this.mode = 'dollar';
              this.dollarTag = Buffer.from(buf.subarray(i, i + length));
              i += length;
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
          const quote = this.mode === 'squote' ? 0x27 : 0x22;
          i = this.closingQuote(buf, quote, i, end);
          if (i >= end) return end;
          if (i + 1 < end && buf[i + 1] === quote) {
            i += 2;
          } else {
            if (partial && i + 1 >= end) return i;
            this.mode = 'normal';
            i++;
          }
          continue;
        }
        case 'equote': {
          let j = i;
          while (j < end && buf[j] !== 0x27) j += buf[j] === 0x5c /* \ */ ? 2 : 1;
          if (j >= end) return partial && j > end ? end - 1 : end;
          if (j + 1 < end && buf[j + 1] === 0x27) {
            i = j + 2;
          } else {
            if (partial && j + 1 >= end) return j;
            this.mode = 'normal';
            i = j + 1;
          }
          continue;
        }
        case 'dollar': {
          const tag = this.dollarTag;
          const last = end - tag.length;
          let j = i;
          for (;;) {
            while (j <= last && buf[j] !== 0x24) j++;
            if (j > last) return partial ? Math.max(i, last + 1) : end;
            if (startsWithAt(buf, j, tag)) break;
            j++;
          }
          this.mode = 'normal';
          i = j + tag.length;
          continue;
        }
        case 'block': {
          // whichever of '/*' and '*/' comes first from i ('/*/' opens, '*/*' closes)
          let open = -1;
          let close = -1;
          for (let j = i; j + 1 < end; j++) {
            const c = buf[j];
            if (c === 0x2f /* / */ && buf[j + 1] === 0x2a) {
              open = j;
              break;
            }
            if (c === 0x2a /* * */ && buf[j + 1] === 0x2f) {
              close = j;
              break;
            }
          }
          if (close < 0 && open < 0) return partial ? Math.max(i, end - 1) : end;
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
    return end;
  }
}

/**
 * How much of an INSERT line to decode to find its table name: the first size almost always holds it,
 * the second holds any name PostgreSQL allows (two quoted 63-byte identifiers), the last is a bound
 * (the pattern is anchored: a line whose head does not match in it never matches).
 */
const INSERT_HEADS = [128, 1024, LONG_HEAD];

/**
 * The table an INSERT line's head names (as inspectInsert finds it in the whole line), null when the
 * line names none, undefined when the head is too short to tell yet.
 */
function decideInsert(head: Buffer): { name: string; end: number } | null | undefined {
  const text = head.toString('utf8', 0, Math.min(head.length, LONG_HEAD));
  const insert = INSERT_LINE.exec(text);
  if (insert) return { name: insert[1]!, end: Buffer.byteLength(insert[0], 'utf8') };
  const prefix = 'INSERT INTO ';
  const mayStillMatch = text.length < prefix.length ? prefix.startsWith(text) : text.startsWith(prefix);
  return mayStillMatch && head.length < LONG_HEAD ? undefined : null;
}

function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 100) / 100;
}

/**
 * The head of an INSERT line up to its first quote, when the next line with the same head can skip it:
 * the head holds no byte the lexer acts on, and the INSERT pattern matched (or failed) within it.
 */
function cacheableHead(
  buf: Buffer,
  start: number,
  end: number,
  table: { name: string; end: number } | null,
): { bytes: Buffer; table: string | null } | null {
  let quote = start;
  while (quote < end && SPECIAL[buf[quote]!] === 0 && buf[quote]! < 0x80) quote++;
  if (quote >= end || buf[quote] !== 0x27) return null;
  // The pattern must be decided inside the head: a match that ends there, or no INSERT INTO at all.
  if (table === null || table.end > quote - start) return null;
  return { bytes: Buffer.from(buf.subarray(start, quote)), table: table.name };
}

/** Bytes that end a run of plain SQL outside strings: ' " $ ; - / and \ (a psql meta-command) */
const SPECIAL = new Uint8Array(256);
for (const c of [0x27, 0x22, 0x24, 0x3b, 0x2d, 0x2f, 0x5c]) SPECIAL[c] = 1;

/** [A-Za-z0-9_$] or any byte of a multi-byte character. */
function isIdentByte(c: number): boolean {
  return (
    c >= 0x80 || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24
  );
}

/** [A-Za-z_] or any byte of a multi-byte character: may start a dollar-quote tag. */
function isTagStart(c: number): boolean {
  return c >= 0x80 || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

/**
 * Length of the dollar-quote delimiter (`$$`, `$tag$`) at buf[i] === '$', 0 when there is none, or -1
 * when buf ends before that is decided (which, at the end of a whole line, means none).
 */
function dollarTagLength(buf: Buffer, i: number, end: number): number {
  const j = i + 1;
  if (j >= end) return -1;
  if (isTagStart(buf[j]!)) {
    let k = j + 1;
    while (k < end && (isTagStart(buf[k]!) || (buf[k]! >= 0x30 && buf[k]! <= 0x39))) k++;
    if (k >= end) return -1;
    return buf[k] === 0x24 ? k + 1 - i : 0;
  }
  return buf[j] === 0x24 ? 2 : 0;
}

function startsWithAt(buf: Buffer, at: number, tag: Buffer): boolean {
  for (let k = 0; k < tag.length; k++) if (buf[at + k] !== tag[k]) return false;
  return true;
}

/**
 * Length of the UTF-8 encoding of a Unicode space (what JavaScript's \s matches beyond ASCII) at
 * buf[i], or 0: U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF.
 */
function unicodeSpaceLength(buf: Buffer, i: number, end: number): number {
  const a = buf[i];
  const b = i + 1 < end ? buf[i + 1]! : -1;
  const c = i + 2 < end ? buf[i + 2]! : -1;
  if (a === 0xc2) return b === 0xa0 ? 2 : 0;
  if (a === 0xe1) return b === 0x9a && c === 0x80 ? 3 : 0;
  if (a === 0xe2) {
    if (b === 0x80) return (c >= 0x80 && c <= 0x8a) || c === 0xa8 || c === 0xa9 || c === 0xaf ? 3 : 0;
    return b === 0x81 && c === 0x9f ? 3 : 0;
  }
  if (a === 0xe3) return b === 0x80 && c === 0x80 ? 3 : 0;
  if (a === 0xef) return b === 0xbb && c === 0xbf ? 3 : 0;
  return 0;
}
