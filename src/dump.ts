/**
 * The pg_dump runs of PART 1 (auth and storage data) and PART 2 (user schemas), both importing the held
 * snapshot. Each streams straight to its own file; the connection travels in the environment only.
 */
import { execa } from 'execa';
import type { BackupPlan } from './catalog.js';
import { redact } from './connection.js';

export class DumpError extends Error {
  override name = 'DumpError';
}

export interface DumpJob {
  pgDump: string;
  env: NodeJS.ProcessEnv;
  snapshotId: string;
  outFile: string;
  /** Secrets to keep out of error messages. */
  secrets: string[];
  signal?: AbortSignal;
}

/** `"schema"."table"`: an exact pg_dump pattern, whatever the name holds. */
function exactPattern(schema: string, name: string): string {
  return `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"`;
}

export function managedDataArgs(plan: BackupPlan, job: DumpJob): string[] {
  return [
    '--data-only',
    '--column-inserts',
    '--no-owner',
    '--no-privileges',
    `--snapshot=${job.snapshotId}`,
    '--lock-wait-timeout=120s',
    `--file=${job.outFile}`,
    ...plan.managedTables.flatMap((table) => ['--table', exactPattern(table.schema, table.name)]),
  ];
}

export function userSchemaArgs(plan: BackupPlan, job: DumpJob, excludeTables: string[]): string[] {
  return [
    '--clean',
    '--if-exists',
    '--no-publications',
    '--no-subscriptions',
    `--snapshot=${job.snapshotId}`,
    '--lock-wait-timeout=120s',
    `--file=${job.outFile}`,
    ...plan.userSchemas.flatMap((schema) => ['--schema', `"${schema.replace(/"/g, '""')}"`]),
    ...excludeTables.flatMap((pattern) => ['--exclude-table-data', pattern]),
  ];
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
    throw new DumpError(`pg_dump of ${what} failed: ${why.split('\n').slice(-5).join('\n')}`);
  }
}
