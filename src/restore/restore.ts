/**
 * `supabase-complete-backup restore`: a backup file (plain, gzip, age) into a Supabase database, the
 * careful way. Before anything is written:
 *   1. the target is a Supabase database (auth.users, auth.identities, storage.buckets, storage.objects);
 *   2. the file passes the streaming checks of `verify` (markers, one transaction, manifest, counts);
 *   3. the rows PART 1 inserts into auth.users, auth.identities, storage.buckets and storage.objects do
 *      not collide with rows the target has, and no table of the target that PART 2 drops and
 *      recreates holds rows (else: refuse and list them, unless --force).
 * Then psql (of the target's major version when one is installed) reads the file from a stream in the
 * file's own single transaction, and every table of the manifest is counted in the target.
 */
import { Transform } from 'node:stream';
import { PROGRESS_EVERY_MS, formatBytes } from '../log.js';
import pg from 'pg';
import { CollisionCheck, LongStringCutter, Part1Rows, type Collision } from './collisions.js';
import { connectClient, explainConnectionError, type ConnectionInfo, type Database } from '../postgres/connection.js';
import type { Logger } from '../log.js';
import { psqlFailure, runPsql } from '../postgres/psql.js';
import { SqlScanner, type ScanReport } from '../sql/sqlscan.js';
import { LineSplitter } from '../streams/lines.js';
import { findPgTools, type PgTools } from '../postgres/tools.js';
import { manualAdvice } from '../postgres/install.js';
import { openPlain, type Keys, type Sealing } from './unseal.js';
import { checkScan, olderTargetProblem } from '../sql/verify.js';
import { checkRecordedSha256, FilePolicy, PolicyError } from '../sql/policy.js';

export class RestoreError extends Error {
  override name = 'RestoreError';
}

/** The restore was refused before anything was written; `--force` goes ahead anyway. */
export class RestoreRefusedError extends RestoreError {
  override name = 'RestoreRefusedError';
  constructor(
    message: string,
    readonly collisions: Collision[],
    readonly tablesWithRows: string[],
  ) {
    super(message);
  }
}

export interface RestoreOptions {
  file: string;
  /** How to name the file in messages (default: its path). */
  label?: string;
  /** The database to restore into, parsed from its URL by the caller (parseDatabase). */
  target: Database;
  keys: Keys;
  /** How often a progress line is logged while psql restores (default every 15 s). */
  progressEveryMs?: number;
  /** Go ahead despite collisions and tables that would be replaced. */
  force?: boolean;
  log: Logger;
  /** Finds psql for the target's major (default: the installed clients, same major first). */
  findTools?: (major: number) => Promise<PgTools | null>;
  signal?: AbortSignal;
}

export interface TableCount {
  table: string;
  inBackup: number;
  inTarget: number;
}

export interface RestoreOutcome {
  counts: TableCount[];
  sealing: Sealing;
  psql: PgTools;
  serverVersion: string;
  seconds: number;
}

const SUPABASE_TABLES = ['auth.users', 'auth.identities', 'storage.buckets', 'storage.objects'];
const DROP_TABLE = /^DROP TABLE IF EXISTS (.+?)(?: CASCADE)?;\s*$/;
const BATCH = 2000;
/** The longest line of PART 1 the collision check reads (strings stop at 512 Mi characters). */
const MAX_PART1_LINE = 256 * 1024 * 1024;

export async function restoreBackup(options: RestoreOptions): Promise<RestoreOutcome> {
  const started = Date.now();
  const { log } = options;
  const label = options.label ?? options.file;
  const { conn, secrets } = options.target;
  secrets.forEach((secret) => log.secret(secret));

  // The stored bytes against the sha256 the file's name records, before anything else.
  const stored = await checkRecordedSha256(options.file);
  if (stored.problem) throw new RestoreError(`${label} is refused: ${stored.problem}. Nothing was restored.`);
  if (stored.unchecked) log.warning(`${label} is not named full_<time>_<sha256 prefix>.sql…: its bytes cannot be checked against its name`);

  const client = await connect(conn);
  let tools: PgTools;
  let serverVersion: string;
  let targetMajor: number;
  let scan: ScanReport;
  let sealing: Sealing;
  try {
    const server = await client.query<{ num: string; version: string; missing: string[] }>(
      `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version,
              ARRAY(SELECT t FROM unnest($1::text[]) AS t WHERE pg_catalog.to_regclass(t) IS NULL) AS missing`,
      [SUPABASE_TABLES],
    );
    const { num, version, missing } = server.rows[0]!;
    serverVersion = version.split(' ')[0]!;
    const major = Math.floor(Number(num) / 10000);
    targetMajor = major;
    if (missing.length > 0) {
      throw new RestoreError(
        `database '${conn.database}' on ${conn.host}:${conn.port} is not a Supabase database (it has no ${missing.join(', ')}). ` +
          'Restore into a Supabase project (Dashboard > Connect > Session pooler gives its URL), or a local one made with `supabase start`',
      );
    }
    tools = await pickPsql(major, options.findTools, log);
    log.info(`🔌 Target: PostgreSQL ${serverVersion} at ${conn.host}:${conn.port}, database ${conn.database}, as ${conn.user} (a Supabase database)`);
    log.info(`🧰 Using psql ${tools.version} at ${tools.psql}`);

    // Pass 1: the file's checks, the keys PART 1 inserts, and the tables PART 2 replaces.
    log.info(`🔍 Checking ${label} and the target before writing anything...`);
    const dropped: string[] = [];
    // Reads only the `DROP TABLE` lines (firstChars): every other line stays bytes, whatever its length.
    const noteDrops = (line: string): string => {
      const drop = DROP_TABLE.exec(line);
      if (drop) dropped.push(drop[1]!);
      return line;
    };
    const scanner = new SqlScanner(Object.assign(noteDrops, { firstChars: 'D' }));
    const policy = new FilePolicy();
    const part1 = new Part1Rows();
    const collisions = new CollisionCheck(client);
    // A large value (a 200 MB raw_user_meta_data) is cut short before its line is held: keys are short.
    const longStrings = new LongStringCutter();
    // PART 1's lines for the collision check, cut as bytes (a line is decoded once, when whole).
    let tooLong: RestoreError | undefined;
    const part1Lines = new LineSplitter(
      (line) => part1.line(line.toString('utf8')),
      MAX_PART1_LINE,
      (head) => {
        const table = part1.tableOf(head.toString('utf8', 0, Math.min(head.length, 1024)));
        tooLong = new RestoreError(
          `a row of ${table} in ${label} is longer than ${MAX_PART1_LINE / 1024 / 1024} MiB on one line: the collision check ` +
            'cannot read it, so nothing was restored. Restore into an empty project with --force, which skips the check',
        );
      },
    );
    const opened = await openPlain(options.file, options.keys);
    sealing = opened.sealing;
    try {
      for await (const chunk of opened.stream) {
        scanner.push(chunk as Buffer);
        policy.push(chunk as Buffer);
        if (part1.done) continue;
        part1Lines.push(longStrings.filter(chunk as Buffer));
        if (tooLong && !options.force) throw tooLong;
        if (tooLong && !part1.done) {
          // --force: the rows after it are not checked.
          log.warning(`${tooLong.message.split(':')[0]}: the collision check stops there (--force)`);
          part1.done = true;
        }
        if (part1.count >= BATCH) await collisions.check(part1.take());
      }
    } catch (error) {
      if (error === tooLong) throw error;
      throw new RestoreError(`cannot read ${label}: ${(error as Error).message}`);
    }
    scanner.finish();
    const refused = policy.finish();
    if (refused.length > 0) throw new RestoreError(new PolicyError(label, refused).message);
    if (!part1.done) part1Lines.finish();
    await collisions.check(part1.take());
    scan = scanner.report;

    const tooOld = olderTargetProblem(scan.header, targetMajor, serverVersion);
    if (tooOld) throw new RestoreError(`${tooOld}. Nothing was written.`);
    const outcome = checkScan(scan);
    if (outcome.problems.length > 0) {
      throw new RestoreError(
        `${label} failed its checks, so nothing was restored:\n  - ${outcome.problems.join('\n  - ')}\n` +
          'Use another backup; `supabase-complete-backup verify --file` shows the same checks.',
      );
    }
    const tablesWithRows = await tablesHoldingRows(client, dropped);
    const refusal = describeRefusal(collisions, tablesWithRows, conn);
    if (refusal) {
      if (!options.force) throw new RestoreRefusedError(refusal, collisions.collisions, tablesWithRows);
      log.warning(
        `--force: restoring anyway, despite ${collisions.total} collision(s) and ${tablesWithRows.length} table(s) with rows ` +
          'that the backup replaces',
      );
    } else {
      log.info(
        `✅ No collisions: ${collisions.rowsChecked} rows of auth.users, auth.identities, storage.buckets and storage.objects checked; ` +
          `${outcome.tables} tables, ${outcome.rows} rows in the file`,
      );
    }
  } finally {
    await client.end().catch(() => undefined);
  }

  // Pass 2: the restore, in the file's one transaction.
  log.info(`⏳ Restoring ${label} (one transaction: on any error nothing is changed)...`);
  const opened = await openPlain(options.file, options.keys);
  const sent = { bytes: 0 };
  const counted = opened.stream.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent.bytes += chunk.length;
        done(null, chunk);
      },
    }),
  );
  opened.stream.on('error', (error) => counted.destroy(error));
  const sending = Date.now();
  const timer = setInterval(() => {
    const seconds = (Date.now() - sending) / 1000;
    log.info(`⏳ ${formatBytes(sent.bytes)} of SQL sent to psql, ${formatBytes(sent.bytes / seconds)}/s`);
  }, options.progressEveryMs ?? PROGRESS_EVERY_MS);
  timer.unref();
  const result = await runPsql({
    psql: tools.psql,
    conn,
    input: { stream: counted },
    args: ['-v', 'ON_ERROR_STOP=1'],
    env: { PGOPTIONS: '-c client_min_messages=warning' },
    onProgress: (line) => log.info(`   … ${line}`),
    secrets,
    signal: options.signal,
  }).finally(() => clearInterval(timer));
  if (result.exitCode !== 0) {
    throw new RestoreError(
      `the restore failed and was rolled back, so the target is unchanged:\n${psqlFailure(result)
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n')}`,
    );
  }

  const counts = await countTables(conn, scan.manifest ?? new Map());
  const short = counts.filter((count) => count.inTarget < count.inBackup);
  if (short.length > 0) {
    throw new RestoreError(
      `psql finished, but the target does not hold every row of the backup (was the transaction committed?):\n  - ${short
        .map((c) => `${c.table}: ${c.inTarget} rows, ${c.inBackup} in the backup`)
        .join('\n  - ')}`,
    );
  }
  return { counts, sealing, psql: tools, serverVersion, seconds: Math.round((Date.now() - started) / 100) / 10 };
}

async function connect(conn: ConnectionInfo): Promise<pg.Client> {
  try {
    return await connectClient(conn, 15_000);
  } catch (error) {
    throw explainConnectionError(error, conn);
  }
}

/** psql of the target's major when installed, else the newest newer one, else (with a warning) the newest older one. */
async function pickPsql(major: number, find: RestoreOptions['findTools'], log: Logger): Promise<PgTools> {
  const exact = await (find ?? ((m: number) => findPgTools(m)))(major);
  if (exact) return exact;
  const older = await findPgTools(1);
  if (older) {
    log.warning(
      `no psql ${major} or newer found; using psql ${older.version}, which restores plain SQL into a newer server in most ` +
        `cases. If it fails, install postgresql-client-${major}.`,
    );
    return older;
  }
  throw new RestoreError(`no psql found. ${manualAdvice(major)}`);
}

/** Tables that PART 2 drops and recreates which hold rows in the target now (their rows would be lost). */
async function tablesHoldingRows(client: pg.Client, tables: string[]): Promise<string[]> {
  const holding: string[] = [];
  for (const table of tables) {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS ok', [table]);
    if (!rows[0]!.ok) continue;
    const found = await client.query(`SELECT 1 FROM ONLY ${table} LIMIT 1`).catch(() => ({ rowCount: 1 }));
    if ((found.rowCount ?? 0) > 0) holding.push(table);
  }
  return holding.sort();
}

function describeRefusal(check: CollisionCheck, tablesWithRows: string[], conn: ConnectionInfo): string | null {
  if (check.total === 0 && tablesWithRows.length === 0) return null;
  const lines: string[] = [];
  if (check.total > 0) {
    lines.push(
      `${check.total} row(s) of the backup collide with rows database '${conn.database}' already has; the restore would fail on them:`,
    );
    for (const collision of check.collisions) lines.push(`  - ${collision.table}: ${collision.what}`);
    if (check.total > check.collisions.length) lines.push(`  - … and ${check.total - check.collisions.length} more`);
  }
  if (tablesWithRows.length > 0) {
    lines.push(`${tablesWithRows.length} table(s) of the target hold rows, and the backup drops and recreates them (their rows would be replaced):`);
    for (const table of tablesWithRows) lines.push(`  - ${table}`);
  }
  lines.push(
    'Nothing was written. Restore into a fresh project, or remove these first (users in Dashboard > Authentication, ' +
      'buckets in Dashboard > Storage). --force goes ahead anyway: the restore is still one transaction, so a real ' +
      'collision stops it and changes nothing, while the listed tables are replaced.',
  );
  return lines.join('\n');
}

async function countTables(conn: ConnectionInfo, manifest: Map<string, number>): Promise<TableCount[]> {
  const client = await connect(conn);
  try {
    const counts: TableCount[] = [];
    for (const [table, inBackup] of manifest) {
      const exists = await client.query<{ ok: boolean }>('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS ok', [table]);
      let inTarget = 0;
      if (exists.rows[0]!.ok) {
        const { rows } = await client.query<{ n: string }>(`SELECT pg_catalog.count(*) AS n FROM ONLY ${table}`);
        inTarget = Number(rows[0]!.n);
      }
      counts.push({ table, inBackup, inTarget });
    }
    return counts;
  } finally {
    await client.end().catch(() => undefined);
  }
}
