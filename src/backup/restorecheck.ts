/**
 * `verify: restore`: prove the backup restores. While the backup's snapshot is held, capture what a
 * scratch database needs to look like a fresh Supabase project (scratch.ts) and every table's row count
 * and content checksum (checksum.ts). Once the file is written, restore it into the scratch database
 * with `psql -f FILE`, exactly as a user would, and compare every table with the snapshot. Any
 * difference is a failed backup: the caller deletes the file and publishes nothing.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import pg from 'pg';
import type { BackupPlan } from './catalog.js';
import { pinOutputSettings, tableChecksums, type TableChecksum } from './checksum.js';
import {
  explainConnectionError,
  libpqEnv,
  parseDatabase,
  connectClient,
  urlSecretForms,
  type ConnectionInfo,
  type Database,
} from '../postgres/connection.js';
import type { Logger } from '../log.js';
import { psqlFailure, runPsql } from '../postgres/psql.js';
import {
  checkScratch,
  dropScratchRoles,
  dumpScratchSchema,
  prepareScratch,
  readScratchCatalog,
  scratchRoles,
  type ScratchRecipe,
} from './scratch.js';
import { FilePolicy } from '../sql/policy.js';
import type { PgTools } from '../postgres/tools.js';
import { VerifyError, checkScan } from '../sql/verify.js';

/** What the snapshot says the restored database must hold. */
export interface RestoreReference {
  recipe: ScratchRecipe;
  /** Row count and content checksum of every table whose data is in the backup. */
  tables: Map<string, TableChecksum>;
}

export class RestoreCheckError extends VerifyError {
  override name = 'RestoreCheckError';
  constructor(problems: string[]) {
    super(problems);
    const shown = problems.slice(0, 25);
    const more = problems.length > shown.length ? `\n  - … and ${problems.length - shown.length} more` : '';
    this.message = `the backup failed the restore check (verify: restore):\n  - ${shown.join('\n  - ')}${more}`;
  }
}

/**
 * The secret forms of the scratch database's URL. A password equal to the user or database name (the
 * `postgres:postgres` of a service container) is no secret, and masking it would hide the word
 * `postgres` all over the log, so it is left out.
 */
export function scratchSecretForms(url: string): string[] {
  let scratch: Database;
  try {
    scratch = parseDatabase(url);
  } catch {
    // unparsable: mask everything the URL holds
    return urlSecretForms(url);
  }
  return maskedScratchSecrets(scratch);
}

/** scratchSecretForms of a parsed scratch database. */
export function maskedScratchSecrets(scratch: Database): string[] {
  const plain = [scratch.conn.user, scratch.conn.database, 'postgres'];
  return scratch.secrets.filter((form) => !plain.includes(form));
}

export interface CaptureReferenceInput {
  /** The connection inside the backup's snapshot (its queries see what the dumps see). */
  client: pg.Client;
  plan: BackupPlan;
  tools: PgTools;
  conn: ConnectionInfo;
  snapshotId: string;
  sourceMajor: number;
  workDir: string;
  secrets: string[];
  signal?: AbortSignal;
}

/** Runs inside the snapshot, alongside the dumps: the scratch recipe and every table's checksum. */
export async function captureRestoreReference(input: CaptureReferenceInput): Promise<RestoreReference> {
  const tables = [...input.plan.managedTables, ...input.plan.userTables].map((table) => table.qualified);
  const recipeInput = {
    client: input.client,
    plan: input.plan,
    tools: input.tools,
    env: libpqEnv(input.conn),
    snapshotId: input.snapshotId,
    sourceMajor: input.sourceMajor,
    workDir: input.workDir,
    secrets: input.secrets,
    signal: input.signal,
  };
  // One query at a time on the snapshot connection; the schema's pg_dump runs beside the checksums.
  const catalog = await readScratchCatalog(input.client);
  const [resolvedRecipe, resolvedTables] = await Promise.all([
    dumpScratchSchema(recipeInput, catalog),
    pinOutputSettings(input.client, true).then(() => tableChecksums(input.client, tables)),
  ]);
  return { recipe: resolvedRecipe, tables: resolvedTables };
}

export interface RestoreCheckOptions {
  /** The backup as plain SQL (what psql reads). */
  file: string;
  reference: RestoreReference;
  /** The empty scratch database (verify-database-url). */
  scratch: Database;
  tools: PgTools;
  log: Logger;
  /** The name to show for the file (default: its base name). */
  label?: string;
  /** Also scan the file and check it against the snapshot's row counts (default true; the backup did it already). */
  checkFile?: boolean;
  signal?: AbortSignal;
}

export interface RestoreCheckResult {
  tables: number;
  rows: number;
  scratch: { version: string; user: string };
  /** The role the file was restored as (`postgres`, not a superuser, when the scratch server allows it). */
  restoredAs: string;
  createdRoles: string[];
  seconds: number;
}

export async function verifyByRestore(options: RestoreCheckOptions): Promise<RestoreCheckResult> {
  const started = Date.now();
  const { reference, log } = options;
  const { conn, secrets } = options.scratch;
  maskedScratchSecrets(options.scratch).forEach((secret) => log.secret(secret));
  const problems: string[] = [];

  // The file policy first, always: a file with a foreign meta-command or statement is never restored.
  const policy = new FilePolicy();
  for await (const chunk of createReadStream(options.file, { highWaterMark: 1 << 20 })) policy.push(chunk as Buffer);
  const refused = policy.finish();
  if (refused.length > 0) throw new RestoreCheckError(refused.map((p) => `file: line ${p.line}: ${p.reason}`));
  if (options.checkFile !== false) {
    const expected = new Map([...reference.tables].map(([table, sum]) => [table, sum.rows]));
    problems.push(...checkScan(policy.scanner.report, expected).problems.map((problem) => `file: ${problem}`));
  }

  log.info(`🧪 Restore check: scratch database ${conn.database} on ${conn.host}:${conn.port}`);
  const server = await checkScratch(conn, reference.recipe.sourceMajor);
  // Roles are the server's, not the database's: the ones the check makes are dropped after it.
  const rolesBefore = await scratchRoles(conn);
  try {
    const { createdRoles, restoreRole } = await prepareScratch(conn, reference.recipe, options.tools, { secrets, signal: options.signal });
    log.info(
      `   prepared as a fresh Supabase project: PostgreSQL ${server.version}, ${createdRoles.length} role(s) created NOLOGIN, ` +
        `auth and storage schema from the snapshot (without ${reference.recipe.left.policies} policy(ies) and ` +
        `${reference.recipe.left.triggers} user trigger(s), which the backup brings)`,
    );

    if (!restoreRole) {
      log.warning(
        `the scratch server's role 'postgres' is its superuser (or the server is older than PostgreSQL 15), so the restore check ` +
          "runs as a superuser: the hosted gatekeeping of statements still applies, but not a hosted project's missing privileges. " +
          'Start the scratch service container with POSTGRES_USER: supabase_admin to restore as a non-superuser postgres, as on Supabase',
      );
    }
    const restorer = restoreRole ?? server.user;
    log.info(
      `   restoring with: psql -f ${options.label ?? path.basename(options.file)} (as ${restorer}${restoreRole ? ', not a superuser' : ''}, ` +
        'behind the gatekeeping of a hosted project)',
    );
    const restore = await runPsql({
      psql: options.tools.psql,
      conn,
      input: { file: options.file },
      // SET ROLE at connection start: the file runs with the privileges of a hosted project's `postgres`.
      env: { PGOPTIONS: `-c client_min_messages=warning${restoreRole ? ` -c role=${restoreRole}` : ''}` },
      secrets,
      signal: options.signal,
    });
    if (restore.exitCode !== 0) {
      const failure = psqlFailure(restore).split(options.file).join(options.label ?? path.basename(options.file));
      problems.push(`the restore stopped (psql exit code ${restore.exitCode}); nothing was restored:\n${indent(failure)}`);
      throw new RestoreCheckError(problems);
    }

    const after = await scratchChecksums(conn, [...reference.tables.keys()]);
    let rows = 0;
    for (const [table, expected] of reference.tables) {
      const found = after.get(table);
      if (found === undefined) {
        problems.push(`${table}: missing after the restore (${expected.rows} rows in the snapshot)`);
      } else if (found.rows !== expected.rows) {
        problems.push(`${table}: ${found.rows} rows after the restore, ${expected.rows} in the snapshot`);
      } else if (found.checksum !== expected.checksum) {
        problems.push(`${table}: ${found.rows} rows as in the snapshot, but their content differs (checksum)`);
      }
      rows += found?.rows ?? 0;
    }
    if (problems.length > 0) throw new RestoreCheckError(problems);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    log.info(`✅ Restore check passed: ${reference.tables.size} tables, ${rows} rows, row counts and content checksums equal to the snapshot (${seconds} s)`);
    return { tables: reference.tables.size, rows, scratch: { version: server.version, user: server.user }, restoredAs: restorer, createdRoles, seconds };

  } finally {
    const after = await scratchRoles(conn).catch(() => rolesBefore);
    const made = [...after].filter((role) => !rolesBefore.has(role));
    const why = await dropScratchRoles(conn, made);
    if (why) {
      log.warning(
        `the restore check could not drop the role(s) it made on the scratch server (${made.join(', ')}): ${why}. ` +
          'Drop them yourself, or give verify-database-url a throwaway server (a service container)',
      );
    }
  }
}

/** Checksums of the tables that exist in the scratch database (a missing table is left out). */
async function scratchChecksums(conn: ConnectionInfo, tables: string[]): Promise<Map<string, TableChecksum>> {
  let client: pg.Client;
  try {
    client = await connectClient(conn, 15_000);
  } catch (error) {
    throw explainConnectionError(error, conn);
  }
  try {
    await pinOutputSettings(client, false);
    const present: string[] = [];
    for (const table of tables) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS ok', [table]);
      if (rows[0]!.ok) present.push(table);
    }
    return await tableChecksums(client, present);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
}

/**
 * A pass-through stream that also writes what passes to a file: the plain SQL of a sealed (gzip, age)
 * backup, for the restore check to read, made in the same pass as the sealed file.
 */
export class TeeToFile extends Transform {
  private readonly out: WriteStream;
  constructor(readonly file: string) {
    super();
    this.out = createWriteStream(file, { mode: 0o600 });
    // A failed write (a full disk) fails the merge, like a failed write of the backup file itself.
    this.out.on('error', (error) => this.destroy(error));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.out.write(chunk)) done(null, chunk);
    else this.out.once('drain', () => done(null, chunk));
  }
  override _flush(done: TransformCallback): void {
    this.out.end((error?: Error | null) => done(error ?? null));
  }
  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.out.destroy();
    done(error);
  }
}
