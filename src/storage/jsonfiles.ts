/**
 * The file store's JSON documents (manifests, indexes, checkpoints) and the file list, written and read
 * without holding them: a document is an object whose lists may hold 100 000 items
 * (`{"format":…, "files":[{…},{…},…], "skipped":[…]}`); every item is parsed on its own and handed on,
 * every other top-level field is parsed whole (they are small). The reader takes any layout (the whole
 * document on one line, as the first version wrote it, or an item a line). Local lists in between live
 * in JSON-lines files of the run's private work directory (JsonLinesFile).
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { LineSplitter } from '../streams/lines.js';

export type JsonPart = { kind: 'field'; key: string; value: unknown } | { kind: 'item'; list: string; value: unknown };

type Phase = 'root' | 'key' | 'colon' | 'value' | 'items' | 'after' | 'done';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Cuts the text of one JSON object, pushed in pieces of any size, into its top-level fields and the
 * items of its top-level lists, in document order. Memory: the item or field being read.
 */
export class JsonPartScanner {
  private phase: Phase = 'root';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** What the capture in progress is: a key, a field's value, or a list item. */
  private capture: 'key' | 'value' | 'item' | null = null;
  private pieces: string[] = [];
  private key = '';

  constructor(private readonly emit: (part: JsonPart) => void) {}

  push(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.capture === 'key') {
            this.pieces.push(text.slice(start, i + 1));
            this.key = JSON.parse(this.endCapture()) as string;
            this.phase = 'colon';
          }
        }
        continue;
      }
      if (this.capture === 'value' || this.capture === 'item') {
        if (c === QUOTE) this.inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
        else if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          const level = this.capture === 'value' ? 1 : 2;
          if (c !== COMMA && this.depth > level) this.depth--;
          else if (this.depth === level) {
            this.pieces.push(text.slice(start, i));
            this.finishCapture();
            this.afterCapture(c);
          }
        }
        continue;
      }
      if (isSpace(c)) continue;
      switch (this.phase) {
        case 'root':
          this.expect(c === OPEN_BRACE, c);
          this.depth = 1;
          this.phase = 'key';
          break;
        case 'key':
          if (c === CLOSE_BRACE) {
            this.phase = 'done';
            break;
          }
          this.expect(c === QUOTE, c);
          this.capture = 'key';
          this.inString = true;
          start = i;
          break;
        case 'colon':
          this.expect(c === COLON, c);
          this.phase = 'value';
          break;
        case 'value':
          if (c === OPEN_BRACKET) {
            this.depth = 2;
            this.phase = 'items';
            break;
          }
          this.capture = 'value';
          start = i;
          if (c === QUOTE) this.inString = true;
          else if (c === OPEN_BRACE) this.depth++;
          break;
        case 'items':
          if (c === COMMA) break;
          if (c === CLOSE_BRACKET) {
            this.depth = 1;
            this.phase = 'after';
            break;
          }
          this.capture = 'item';
          start = i;
          if (c === QUOTE) this.inString = true;
          else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
          break;
        case 'after':
          this.expect(c === COMMA || c === CLOSE_BRACE, c);
          this.phase = c === COMMA ? 'key' : 'done';
          break;
        case 'done':
          this.expect(false, c);
      }
    }
    if (this.capture) this.pieces.push(text.slice(start));
  }

  /** Throws unless the whole object was read. */
  finish(): void {
    if (this.phase !== 'done') throw new Error('the JSON document ends before its closing brace');
  }

  private expect(ok: boolean, c: number): void {
    if (!ok) throw new Error(`not a JSON document of this tool (unexpected ${JSON.stringify(String.fromCharCode(c))})`);
  }

  private endCapture(): string {
    const text = this.pieces.length === 1 ? this.pieces[0]! : this.pieces.join('');
    this.pieces = [];
    this.capture = null;
    return text;
  }

  private finishCapture(): void {
    const kind = this.capture;
    const value = JSON.parse(this.endCapture()) as unknown;
    if (kind === 'value') this.emit({ kind: 'field', key: this.key, value });
    else this.emit({ kind: 'item', list: this.key, value });
  }

  /** The comma or bracket that ended a value or an item. */
  private afterCapture(c: number): void {
    if (this.phase === 'value') {
      if (c === CLOSE_BRACE) {
        this.depth = 0;
        this.phase = 'done';
      } else this.phase = 'key';
    } else if (c === CLOSE_BRACKET) {
      this.depth = 1;
      this.phase = 'after';
    }
  }
}

/** The parts of a JSON document read from a byte stream, handed to `onPart` as they come. */
export async function readJsonParts(bytes: AsyncIterable<Buffer | string>, onPart: (part: JsonPart) => void | Promise<void>): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let parts: JsonPart[] = [];
  const scanner = new JsonPartScanner((part) => parts.push(part));
  for await (const chunk of bytes) {
    scanner.push(typeof chunk === 'string' ? chunk : decoder.write(chunk));
    const ready = parts;
    parts = [];
    for (const part of ready) await onPart(part);
  }
  scanner.push(decoder.end());
  scanner.finish();
  for (const part of parts) await onPart(part);
}

/** A line longer than this is no list item of ours (a user_metadata is at most a few MB). */
const MAX_LINE = 256 * 1024 * 1024;

/** The lines of a local file (bytes `start` to `end` when given), without their newlines, one at a time. */
export async function* fileLines(file: string, end?: number, start = 0): AsyncGenerator<string> {
  if (end !== undefined && end <= start) return;
  let lines: Buffer[] = [];
  const splitter = new LineSplitter(
    (line) => lines.push(line),
    MAX_LINE,
    () => {
      throw new Error(`${file}: a line longer than ${MAX_LINE} bytes`);
    },
  );
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024, start, ...(end === undefined ? {} : { end: end - 1 }) })) {
    splitter.push(chunk as Buffer);
    const ready = lines;
    lines = [];
    for (const line of ready) {
      const text = line.toString('utf8', 0, line.at(-1) === 0x0a ? line.length - 1 : line.length);
      if (text.length > 0) yield text;
    }
  }
  splitter.finish();
  for (const line of lines) if (line.length > 0) yield line.toString('utf8');
}

/** The lines a JSON-lines file held when it was flushed (appends after that are not read). */
export interface FlushedLines {
  count: number;
  /** Bytes of the file up to the flush. */
  bytes: number;
  /** The lines up to the flush, from byte `from` (the `bytes` of an earlier flush). */
  lines(from?: number): AsyncGenerator<string>;
}

/** Writes buffered this much at a time. */
const FLUSH_BYTES = 256 * 1024;

/**
 * A list kept on disk as JSON lines (one JSON text a line), appended to as it grows: the manifest's files
 * and skipped rows, the index entries, the file list. Appends are buffered; flush() before reading.
 */
export class JsonLinesFile {
  private buffered: string[] = [];
  private bufferedBytes = 0;
  private writing: Promise<void> = Promise.resolve();
  private appendedBytes = 0;
  count = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<JsonLinesFile> {
    return new JsonLinesFile(path, await open(path, 'w', 0o600));
  }

  /**
   * Appends one value (or a JSON text already made) as a line. When that started a write, returns it: a
   * writer faster than the disk (a list read from the network) awaits it, so unwritten lines stay few.
   */
  append(value: unknown, json = JSON.stringify(value)): Promise<void> | undefined {
    this.buffered.push(json, '\n');
    this.bufferedBytes += json.length + 1;
    this.appendedBytes += Buffer.byteLength(json) + 1;
    this.count++;
    if (this.bufferedBytes < FLUSH_BYTES) return undefined;
    this.startWrite();
    return this.writing;
  }

  /** Everything appended so far is written: the lines up to here can be read while appends go on. */
  async flush(): Promise<FlushedLines> {
    const { count, appendedBytes } = this;
    this.startWrite();
    await this.writing;
    return { count, bytes: appendedBytes, lines: (from = 0) => fileLines(this.path, appendedBytes, from) };
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle.close();
  }

  /** The JSON texts, one a line, as appended (flush or close first). */
  lines(): AsyncGenerator<string> {
    return fileLines(this.path, this.appendedBytes);
  }

  private startWrite(): void {
    if (this.buffered.length === 0) return;
    const text = this.buffered.join('');
    this.buffered = [];
    this.bufferedBytes = 0;
    this.writing = this.writing.then(() => this.handle.write(text).then(() => undefined));
    // Awaited by flush(); until then a failed write must not count as an unhandled rejection.
    this.writing.catch(() => undefined);
  }
}
