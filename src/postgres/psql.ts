/**
 * Running psql on a backup the way a user does (`psql "$URL" -f FILE`), from a file or a stream
 * (a `.gz`/`.age` file decoded on the fly), with the connection in the environment only. Output is
 * consumed as it comes: the `\echo` progress lines of the file go to a callback, and only the last
 * lines of stderr are kept (a large restore can print many notices), so memory stays flat.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ConnectionInfo, LIBPQ_KEEPALIVES, libpqEnv, redact } from './connection.js';

export interface PsqlRunOptions {
  psql: string;
  conn: ConnectionInfo;
  /** A file path for `-f FILE`, or a stream fed to `-f -` (stdin). */
  input: { file: string } | { stream: Readable };
  /** Each stdout line that is a PART progress line of the backup (`PART 1: ...`). */
  onProgress?: (line: string) => void;
  /** Secrets to keep out of what is returned. */
  secrets?: readonly string[];
  /** Extra psql arguments before -f (e.g. `-v`, `-1`). */
  args?: string[];
  /** Extra environment (e.g. PGOPTIONS). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface PsqlRunResult {
  exitCode: number;
  /** The last lines psql wrote to stderr (errors, warnings), redacted. */
  stderrTail: string[];
  /** stderr lines that report an error (`ERROR:`, `FATAL:`, `psql: error:`), redacted. */
  errors: string[];
}

const TAIL_LINES = 40;
const PROGRESS = /^PART \d: /;

export async function runPsql(options: PsqlRunOptions): Promise<PsqlRunResult> {
  const env = { ...libpqEnv(options.conn), ...options.env };
  const fromStream = 'stream' in options.input;
  // The keepalives as a conninfo --dbname: the rest of the connection comes from the environment.
  const args = ['-X', '-q', '--dbname', LIBPQ_KEEPALIVES, ...(options.args ?? []), '-f', fromStream ? '-' : (options.input as { file: string }).file];
  const child = spawn(options.psql, args, {
    env,
    stdio: [fromStream ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    signal: options.signal,
  });
  const secrets = [...(options.secrets ?? []), options.conn.password].filter((s) => s.length > 0);

  const tail: string[] = [];
  const errors: string[] = [];
  let inError = false;
  const lines = (stream: Readable, onLine: (line: string) => void): Promise<void> =>
    new Promise((resolve) => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        const parts = (rest + text).split('\n');
        rest = parts.pop() ?? '';
        parts.forEach(onLine);
      });
      stream.on('end', () => {
        if (rest) onLine(rest);
        resolve();
      });
      stream.on('error', () => resolve());
    });
  const stdoutDone = lines(child.stdout!, (line) => {
    if (PROGRESS.test(line)) options.onProgress?.(line.trim());
  });
  const stderrDone = lines(child.stderr!, (raw) => {
    const line = redact(raw, secrets);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (errors.length >= TAIL_LINES) return;
    if (/\b(ERROR|FATAL|PANIC):|^psql: error:/.test(line)) {
      errors.push(line);
      inError = true;
    } else if (inError && /^(DETAIL|HINT|CONTEXT):/.test(line)) {
      errors.push(line);
    } else {
      inError = false;
    }
  });

  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  if (fromStream) {
    const feed = pipeline((options.input as { stream: Readable }).stream, child.stdin!).catch((error: NodeJS.ErrnoException) => {
      // psql stops reading when it stops on an error (ON_ERROR_STOP): its exit code tells the story.
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_PREMATURE_CLOSE' || error.code === 'ECONNRESET') return;
      child.kill();
      throw error;
    });
    const [code] = await Promise.all([exited, feed, stdoutDone, stderrDone]);
    return { exitCode: code, stderrTail: tail, errors };
  }
  const [code] = await Promise.all([exited, stdoutDone, stderrDone]);
  return { exitCode: code, stderrTail: tail, errors };
}

/** The lines of a failed psql run worth showing: its errors, else the end of its stderr. */
export function psqlFailure(result: PsqlRunResult): string {
  const lines = result.errors.length > 0 ? result.errors : result.stderrTail.slice(-10);
  return lines.join('\n') || `psql exited with code ${result.exitCode}`;
}
