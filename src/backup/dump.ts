/**
 * The pg_dump runs of PART 1 (auth and storage data) and PART 2 (user schemas), both importing the held
 * snapshot. Each streams its SQL on stdout (startPgDump) straight into the merge, or to a file of its own
 * (runPgDump); the connection travels in the environment only.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import type { BackupPlan } from './catalog.js';
import { LIBPQ_KEEPALIVES, redact } from '../postgres/connection.js';

export class DumpError extends Error {
  override name = 'DumpError';
}

export interface DumpJob {
  pgDump: string;
  env: NodeJS.ProcessEnv;
  snapshotId: string;
  /** Where pg_dump writes; without it, pg_dump writes to stdout (startPgDump). */
  outFile?: string;
  /** Secrets to keep out of error messages. */
  secrets: string[];
  signal?: AbortSignal;
}

/** `"schema"."table"`: an exact pg_dump pattern, whatever the name holds. */
function exactPattern(schema: string, name: string): string {
  return `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"`;
}

/**
 * PART 1: COPY with column lists (pg_dump's default data format), as Supabase's own backup recipe dumps
 * these tables (`supabase db dump --data-only --use-copy`). The column list makes a restore into a
 * newer project (more columns, another order) work as INSERTs with column lists did, in 58% of the
 * bytes and a third of pg_dump's CPU (200 000 users); older backups, with INSERTs, still restore.
 */
export function managedDataArgs(plan: BackupPlan, job: DumpJob): string[] {
  return [
    '--data-only',
    '--no-owner',
    '--no-privileges',
    `--snapshot=${job.snapshotId}`,
    '--lock-wait-timeout=120s',
    `--dbname=${LIBPQ_KEEPALIVES}`,
    ...(job.outFile ? [`--file=${job.outFile}`] : []),
    ...plan.managedTables.flatMap((table) => ['--table', exactPattern(table.schema, table.name)]),
  ];
}

export function userSchemaArgs(plan: BackupPlan, job: DumpJob): string[] {
  return [
    '--clean',
    '--if-exists',
    '--no-publications',
    '--no-subscriptions',
    `--snapshot=${job.snapshotId}`,
    '--lock-wait-timeout=120s',
    `--dbname=${LIBPQ_KEEPALIVES}`,
    ...(job.outFile ? [`--file=${job.outFile}`] : []),
    ...plan.userSchemas.flatMap((schema) => ['--schema', `"${schema.replace(/"/g, '""')}"`]),
    // The tables exclude-tables matched in the catalog, by exact name (not the patterns themselves).
    ...plan.excludedUserTables.flatMap((table) => ['--exclude-table-data', exactPattern(table.schema, table.name)]),
  ];
}

/**
 * What to change when pg_dump ran out of lock table: it locks every table it dumps in one transaction,
 * and the server's lock table holds max_locks_per_transaction × (max_connections + max_prepared_transactions).
 */
function lockAdvice(stderr: string): string {
  if (!/out of shared memory|max_locks_per_transaction/i.test(stderr)) return '';
  return (
    '\npg_dump locks every table it dumps in one transaction, and the server\'s lock table is too small for ' +
    'that many tables: raise max_locks_per_transaction on the server (a restart is needed; on Supabase, ' +
    'supabase postgres-config update --config max_locks_per_transaction=…), or back up fewer schemas (schemas)'
  );
}

export async function runPgDump(job: DumpJob, args: string[], what: string): Promise<void> {
  const result = await execa(job.pgDump, args, {
    env: job.env,
    extendEnv: false,
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
    reject: false,
    cancelSignal: job.signal,
    maxBuffer: 1024 * 1024,
  });
  if (result.exitCode !== 0 || result.failed) {
    const stderr = redact(String(result.stderr ?? '').trim(), job.secrets);
    const why = stderr || result.shortMessage || `exit code ${result.exitCode}`;
    throw new DumpError(`pg_dump of ${what} failed: ${why.split('\n').slice(-5).join('\n')}${lockAdvice(why)}`);
  }
}

/** A running pg_dump whose SQL arrives on `stdout`. */
export interface RunningDump {
  stdout: Readable;
  /** Resolves when pg_dump exited 0; rejects with a DumpError (stderr redacted) otherwise. */
  done: Promise<void>;
  /** Stops pg_dump (when another part of the backup failed). */
  kill(): void;
}

const STDERR_LIMIT = 1024 * 1024;

/**
 * Starts pg_dump with its output on a pipe, for the merge to read as it comes (no intermediate file).
 * `done` settles only after stdout has been read to its end and the process has exited.
 */
export function startPgDump(job: DumpJob, args: string[], what: string): RunningDump {
  const child = spawn(job.pgDump, args, { env: job.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  let stderrBytes = 0;
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderrBytes < STDERR_LIMIT) stderr.push(chunk);
    stderrBytes += chunk.length;
  });
  const onAbort = (): void => {
    child.kill('SIGTERM');
  };
  job.signal?.addEventListener('abort', onAbort, { once: true });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error) => {
      job.signal?.removeEventListener('abort', onAbort);
      reject(new DumpError(`pg_dump of ${what} could not start: ${redact(error.message, job.secrets)}`));
    });
    child.once('close', (code, signal) => {
      job.signal?.removeEventListener('abort', onAbort);
      if (code === 0) return resolve();
      const text = redact(Buffer.concat(stderr).toString('utf8').trim(), job.secrets);
      const why = text || (signal ? `killed by ${signal}` : `exit code ${code}`);
      reject(new DumpError(`pg_dump of ${what} failed: ${why.split('\n').slice(-5).join('\n')}${lockAdvice(why)}`));
    });
  });
  // Whoever awaits `done` sees the failure; an early failure must not be an unhandled rejection.
  done.catch(() => undefined);
  return {
    stdout: child.stdout,
    done,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      child.stdout.destroy();
    },
  };
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * pg_dump's output in fewer, larger reads. pg_dump writes 4 KB at a time, and a reader quicker than
 * pg_dump wakes up for every few KB: for 3 GB, 150 000 reads, each a system call, a wake-up and a trip
 * through the stream machinery, together more CPU than the scan. After a read of less than `small`
 * bytes (the reader has caught up with pg_dump, there is little else to do) the thread sleeps
 * `pauseMs`, far less than pg_dump needs to fill the socket buffer at any speed (it never waits), and
 * the next read finds up to 64 KB: about a third of the reads. (Joining reads into larger chunks
 * instead costs more than it saves: a copy, and large buffers that come and go.)
 */
export async function* coalescedReads(stream: AsyncIterable<Buffer>, small = 32 * 1024, pauseMs = 0.2): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    yield chunk;
    if (chunk.length < small) Atomics.wait(PAUSE, 0, 0, pauseMs);
  }
}
