/** Restores a backup file the way the README tells users to: `psql "$URL" -f FILE`. */
import path from 'node:path';
import { execa } from 'execa';
import { libpqEnv, parseDatabaseUrl } from '../../src/postgres/connection.js';
import { pgBinDir } from './cluster.js';

/** psql of the major the test's clusters run (15, or 17 in the PostgreSQL 17 test project). */
export const PSQL = path.join(pgBinDir(), 'psql');

export interface PsqlRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `psql -f file` against `url` (password through PGPASSWORD, never argv); `input` feeds stdin
 * instead; `psql` is another client's psql (default: PostgreSQL 15's).
 */
export async function psqlFile(url: string, file: string | null, input?: string, psql = PSQL): Promise<PsqlRun> {
  const args = ['-X', '--no-psqlrc', ...(file ? ['-f', file] : [])];
  const result = await execa(psql, args, {
    env: libpqEnv(parseDatabaseUrl(url)),
    extendEnv: false,
    reject: false,
    input,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
