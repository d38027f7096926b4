/**
 * The backup pipeline without GitHub: config → connection → client → snapshot → dump parts → merge →
 * verify → store. Used by the action (action/main.ts), the CLI and the tests alike. A failure at any stage
 * leaves no backup file behind.
 */
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Transform } from 'node:stream';
import { countRows, readPlan, type BackupPlan } from './catalog.js';
import { removeOnExit } from '../streams/cleanup.js';
import { filesGoToArtifact, type BackupConfig } from '../config.js';
import {
  checkConnectionTarget,
  checkHostResolves,
  closeClient,
  libpqEnv,
  parseDatabase,
  probeServer,
  redact,
  type Database,
  type Resolver,
} from '../postgres/connection.js';
import { coalescedReads, managedDataArgs, startPgDump, userSchemaArgs, type DumpJob } from './dump.js';
import { displayName, formatBytes, type Logger } from '../log.js';
import { parseSigningKey, writeSignature } from '../publish/signature.js';
import { mergeBackup, type FileMeta, type MergeResult } from './merge.js';
import { Spool } from '../streams/spool.js';
import { estimateRows, reportProgress, type MergeProgress } from './progress.js';
import { endRunSessions, openSnapshot, runApplicationName } from './snapshot.js';
import { StallError, ticking, watchStall } from './stall.js';
import { requiredMajor, resolvePgTools } from '../postgres/install.js';
import {
  TeeToFile,
  captureRestoreReference,
  verifyByRestore,
  type RestoreCheckResult,
} from './restorecheck.js';
import { checkScratch } from './scratch.js';
import { abortableStages, sealAndLog } from '../streams/seal.js';
import type { PgTools } from '../postgres/tools.js';
import { VerifyError, checkScan } from '../sql/verify.js';
import { checkListFitsArtifact } from '../storage/artifactlimit.js';
import { readObjectRows } from '../storage/objects.js';
import type { StorageFilesSummary } from '../storage/run.js';

/** The databases of a backup, parsed once from their URLs at the edge (backupDatabases). */
export interface BackupDatabases {
  /** database-url */
  source: Database;
  /** verify-database-url, with `verify: restore` */
  scratch?: Database;
}

/** Parses the URLs of the config (parseDatabaseUrl's errors): the action and the CLI call this once. */
export function backupDatabases(config: BackupConfig): BackupDatabases {
  const scratchUrl = config.verify === 'restore' ? config.verifyDatabaseUrl : undefined;
  return {
    source: parseDatabase(config.databaseUrl),
    ...(scratchUrl ? { scratch: parseDatabase(scratchUrl, 'verify-database-url') } : {}),
  };
}

export interface BackupOptions {
  /** The databases, parsed at the edge; parsed here from the config when absent (tests, bench). */
  databases?: BackupDatabases;
  /** Resolves host names (tests stand in for public DNS). */
  resolve?: Resolver;
  /** Finds the PostgreSQL client for a server major instead of the default lookup-or-install. */
  findTools?: (major: number) => Promise<PgTools>;
  /** Install a PostgreSQL client when none fits (default true). */
  installClient?: boolean;
  /** Stream transforms that seal the file (gzip, encryption) and the suffix they add; default: what config asks for. */
  seal?: { transforms: () => Transform[]; suffix: string };
  /** Aborting stops pg_dump and the merge; the run then fails and leaves no file behind. */
  signal?: AbortSignal;
  now?: () => Date;
  /**
   * Fault injection for tests (`verify: restore`): called with the plain SQL file after the file checks
   * passed and just before the restore check reads it.
   */
  beforeRestoreCheck?: (sqlFile: string) => Promise<void>;
  /** How often a progress line is logged while the parts are dumped (default every 15 s). */
  progressEveryMs?: number;
  /** Retries of the Storage file transfers (tests shorten the backoff). */
  storageRetry?: { attempts: number; baseDelayMs: number };
}

export interface PartSummary {
  part: 1 | 2 | 3;
  title: string;
  bytes: number;
  tables: number;
  rows: number;
}

export interface BackupResult {
  path: string;
  file: string;
  bytes: number;
  sha256: string;
  /** `<path>.sig`, the Ed25519 signature of the file, when `signing-key` is set. */
  signaturePath?: string;
  authUsers: number;
  tables: number;
  rows: number;
  rowsByTable: Map<string, number>;
  parts: PartSummary[];
  serverVersion: string;
  pgDump: PgTools;
  snapshotId: string;
  durationSeconds: number;
  warnings: string[];
  /** Set with `verify: restore`: the backup was restored into the scratch database and compared. */
  restoreCheck?: RestoreCheckResult;
  /** Set with `storage-files: true`: the project's Storage files, stored beside the backup. */
  storageFiles?: StorageFilesSummary;
  /** `<path>.files`: the file store of the Storage files that the artifact carries (storage-files without s3). */
  storageFilesDir?: string;
}

export async function runBackup(config: BackupConfig, log: Logger, options: BackupOptions = {}): Promise<BackupResult> {
  const started = Date.now();
  const now = options.now ?? (() => new Date());
  // Built first: a recipient that is not a valid age key fails before anything is dumped.
  const seal = options.seal ?? sealAndLog(config, log);

  const { source, scratch: restoreCheck } = options.databases ?? backupDatabases(config);
  const { conn, secrets } = source;
  await checkOutputDir(config.outputDir);
  checkConnectionTarget(conn);
  await checkHostResolves(conn, options.resolve);
  log.info(`🔌 Connecting to ${conn.host}:${conn.port} as ${conn.user}...`);
  const server = await probeServer(conn);
  options.signal?.throwIfAborted();
  log.info(`✅ Connected: PostgreSQL ${server.version}, a Supabase database (auth schema found)`);
  // verify: restore — refuse an unusable scratch database before spending time on the dumps.
  if (restoreCheck) await checkScratch(restoreCheck.conn, server.major);

  const tools = options.findTools
    ? await options.findTools(requiredMajor(server.major, config.postgresVersion))
    : await resolvePgTools({
        serverMajor: server.major,
        requested: config.postgresVersion,
        log,
        install: options.installClient ?? true,
        signal: options.signal,
      });
  if (options.findTools) log.info(`🧰 Using pg_dump ${tools.version} at ${tools.pgDump}`);
  options.signal?.throwIfAborted();

  // The pid in the name tells a later run whether this run is still alive (removeLeftovers).
  const work = await mkdtemp(path.join(tmpdir(), `supabase-backup-${process.pid}-`));
  try {
    await mkdir(config.outputDir, { recursive: true });
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw explainWriteError(error, config.outputDir);
  }
  await removeLeftovers(config.outputDir, log);
  const suffix = `.sql${seal?.suffix ?? ''}`;
  const partial = path.join(config.outputDir, `.in-progress-${process.pid}-${Date.now()}${suffix}`);
  // storage-files without s3: the file store the artifact carries, beside the file and named after it.
  const partialFiles = filesGoToArtifact(config) ? `${partial}.files` : undefined;
  // Removed by the finally below; also on exits that skip it (cleanup.ts).
  const forget = [removeOnExit(work), removeOnExit(partial), ...(partialFiles ? [removeOnExit(partialFiles)] : [])];
  const snapshot = await openSnapshot(conn).catch(async (error: unknown) => {
    await rm(work, { recursive: true, force: true });
    forget.forEach((f) => f());
    throw error;
  });
  // Cancelling ends the snapshot's connection: a catalog read or row count waiting on a lock fails at once.
  const onAbort = (): void => void closeClient(snapshot.client);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const plan = await readPlan(snapshot.client, config, server.major);
    plan.warnings.forEach((warning) => log.warning(warning));
    // storage-files: the file list is the snapshot's own storage.objects rows, read before the dumps start
    // into a file of the work directory (the downloads come after the snapshot is released).
    const fileRows = config.storageFiles ? await readObjectRows(snapshot.client, work) : undefined;
    // Files bound for the artifact: over its limit, fail now rather than after the dumps.
    if (fileRows && partialFiles) checkListFitsArtifact(fileRows, config.storageFiles!.artifactLimitBytes);
    log.info(`📸 Snapshot ${snapshot.id}: ${plan.managedTables.length} auth/storage tables, schemas ${plan.userSchemas.map(displayName).join(', ') || '(none)'}`);

    const job: DumpJob = {
      pgDump: tools.pgDump,
      // Named after the snapshot, so that a stalled run can end exactly its own sessions (endRunSessions).
      env: { ...libpqEnv(conn), PGAPPNAME: runApplicationName(snapshot.id) },
      snapshotId: snapshot.id,
      secrets,
      signal: options.signal,
    };
    const progress: MergeProgress = { sqlBytes: 0, rows: () => 0 };
    const estimated = await estimateRows(snapshot.client, [...plan.managedTables, ...plan.userTables]);
    const stopProgress = reportProgress(log, progress, estimated, options.progressEveryMs);
    log.info('Step 1/2: Dumping auth and storage data...');
    log.info(`Step 2/2: Dumping ${plan.userSchemas.map(displayName).join(', ') || 'no'} schema(s) (schema + data)...`);
    const plainCopy = path.join(work, 'backup.sql');
    const merged = await dumpAndMerge({
      job,
      plan,
      countRows: (tick, signal) =>
        countRows(conn, snapshot.id, [...plan.managedTables, ...plan.userTables], {
          progress: tick,
          signal,
          applicationName: runApplicationName(snapshot.id),
        }),
      stallTimeoutMs: config.stallTimeoutSeconds * 1000,
      work,
      outFile: partial,
      meta: {
        generatedAt: now(),
        serverVersion: server.version,
        serverMajor: server.major,
        pgDumpVersion: tools.version,
        pgDumpMajor: tools.major,
        snapshotId: snapshot.id,
        userSchemas: plan.userSchemas,
      },
      progress,
      // verify: restore of a sealed file reads the plain SQL, written beside it in the same pass.
      seal: abortableStages(
        [...(seal && restoreCheck ? [new TeeToFile(plainCopy)] : []), ...(seal?.transforms() ?? [])],
        options.signal,
      ),
      signal: options.signal,
    }).finally(stopProgress);
    // verify: restore — what the scratch database needs and every table's checksum, still in the snapshot.
    const reference = restoreCheck
      ? await captureRestoreReference({
          client: snapshot.client,
          plan,
          tools,
          conn,
          snapshotId: snapshot.id,
          sourceMajor: server.major,
          workDir: work,
          secrets,
          signal: options.signal,
        })
      : undefined;
    await snapshot.release();
    const { expectedRows, generatedAt } = merged;
    log.info(`✅ Auth and storage data dumped: ${formatBytes(merged.partBytes.part1)}`);
    log.info(`✅ Public schema dumped: ${formatBytes(merged.partBytes.part2)}`);
    log.info(`✅ User objects on auth and storage: ${plan.userObjectsOnManaged.triggers.length} trigger(s), ${plan.userObjectsOnManaged.policies.length} policy(ies)`);

    if (merged.policy.length > 0) {
      throw new VerifyError(merged.policy.map((p) => `line ${p.line}: ${p.reason}`));
    }
    const outcome = checkScan(merged.scan, expectedRows);
    outcome.warnings.forEach((warning) => log.warning(warning));
    if (outcome.problems.length > 0) throw new VerifyError(outcome.problems);
    log.info(`🔍 Verified: markers, auth.users data (${outcome.authUsers} users), ${outcome.tables} tables, ${outcome.rows} rows match the snapshot`);
    const sqlFile = seal ? plainCopy : partial;
    if (reference) await options.beforeRestoreCheck?.(sqlFile);
    const restored =
      reference && restoreCheck
        ? await verifyByRestore({
            file: sqlFile,
            reference,
            scratch: restoreCheck,
            tools,
            log,
            label: backupFileName(generatedAt, merged.sha256, suffix),
            signal: options.signal,
          })
        : undefined;

    options.signal?.throwIfAborted();
    const file = backupFileName(generatedAt, merged.sha256, suffix);
    // Before the file is final: a file backup that fails leaves no SQL backup behind either.
    const storageFiles = fileRows
      ? await (await import('../storage/run.js')).backupStorageFiles({
          config,
          rows: fileRows,
          backup: file,
          snapshotId: snapshot.id,
          createdAt: generatedAt,
          work,
          ...(partialFiles ? { artifactStore: partialFiles } : {}),
          log,
          ...(options.storageRetry ? { retry: options.storageRetry } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        })
      : undefined;
    const finalPath = path.join(config.outputDir, file);
    const storageFilesDir = partialFiles ? `${finalPath}.files` : undefined;
    if (partialFiles && storageFilesDir) await rename(partialFiles, storageFilesDir);
    await rename(partial, finalPath);
    await chmod(finalPath, 0o600);
    const signaturePath = config.signingKey ? await writeSignature(finalPath, merged.sha256, parseSigningKey(config.signingKey)) : undefined;
    if (signaturePath) log.info(`🔏 Signed with the signing key (Ed25519): ${signaturePath}`);
    log.info(`📊 Total size: ${formatBytes(merged.fileBytes)}`);
    log.info(`💾 Backup written to ${finalPath}`);

    return {
      path: finalPath,
      file,
      bytes: merged.fileBytes,
      sha256: merged.sha256,
      ...(signaturePath ? { signaturePath } : {}),
      authUsers: outcome.authUsers,
      tables: outcome.tables,
      rows: outcome.rows,
      rowsByTable: expectedRows,
      parts: summariseParts(plan, expectedRows, merged.partBytes),
      serverVersion: server.version,
      pgDump: tools,
      snapshotId: snapshot.id,
      durationSeconds: Math.round((Date.now() - started) / 100) / 10,
      warnings: [...plan.warnings, ...outcome.warnings],
      ...(restored ? { restoreCheck: restored } : {}),
      ...(storageFiles ? { storageFiles } : {}),
      ...(storageFilesDir ? { storageFilesDir } : {}),
    };
  } catch (error) {
    if (error instanceof StallError) {
      // The sockets may hang: the server may still hold the snapshot and the dumps' sessions. End them.
      await closeClient(snapshot.client, 1_000);
      const why = await endRunSessions(conn, snapshot);
      if (why) {
        log.warning(
          `could not end this run's sessions on the server after the stall (${redact(why, secrets)}); ` +
            'the server ends them when its TCP keepalive notices the lost connection',
        );
      }
    }
    throw explainWriteError(error, config.outputDir);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    // Ending the connection rolls the snapshot back. Unlike ROLLBACK it does not queue behind a query
    // still blocked on a lock (a failed or cancelled run): pg closes the socket of a busy client, and
    // a peer that never answers (a cut network) is dropped after a few seconds.
    await closeClient(snapshot.client);
    await snapshot.release();
    await rm(partial, { force: true });
    if (partialFiles) await rm(partialFiles, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
    forget.forEach((f) => f());
  }
}

/** An output-dir that is a file, refused before anything is done. */
async function checkOutputDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => null);
  if (info && !info.isDirectory()) {
    throw new Error(`output-dir '${dir}' is a file, not a directory: point output-dir at a directory (it is created when missing)`);
  }
}

/** True while a process with this id runs (on this machine). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what an earlier run that was killed (SIGKILL, a cancelled job on a self-hosted runner) left
 * behind: its unfinished file in output-dir (`.in-progress-<pid>-…`) and its work folder in the temp
 * directory (`supabase-backup-<pid>-…`), when that process no longer runs. A run still alive is left alone.
 */
async function removeLeftovers(outputDir: string, log: Logger): Promise<void> {
  const places: [string, RegExp][] = [
    [outputDir, /^\.in-progress-(\d+)-\d+\.sql/],
    [tmpdir(), /^supabase-backup-(\d+)-/],
  ];
  for (const [dir, pattern] of places) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const pid = Number(pattern.exec(name)?.[1] ?? NaN);
      if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
      await rm(path.join(dir, name), { recursive: true, force: true }).catch(() => undefined);
      log.info(`🧹 Removed ${path.join(dir, name)}, left by an earlier run that was stopped`);
    }
  }
}

/** A full disk or a read-only output-dir, said as what to do about it. */
function explainWriteError(error: unknown, outputDir: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new Error(
      `no space left on the disk of output-dir '${outputDir}' while writing the backup; nothing was kept. ` +
        "Free space, point output-dir at a larger disk, or use compression: gzip",
    );
  }
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    return new Error(`output-dir '${outputDir}' cannot be made a directory: it, or a folder above it, is a file (${code})`);
  }
  if (code === 'EACCES' || code === 'EROFS') {
    return new Error(`cannot write the backup into output-dir '${outputDir}' (${code}); choose a writable directory`);
  }
  return error;
}

interface DumpAndMergeInput {
  job: DumpJob;
  plan: BackupPlan;
  /**
   * Exact row counts read in the snapshot (runs while the dumps run); `progress` after each table;
   * `signal` ends them at once (the run failed: a count may wait on a dead socket).
   */
  countRows: (progress: () => void, signal: AbortSignal) => Promise<Map<string, number>>;
  /** No byte from the dumps (nor a table counted) for this long stops the run (stall-timeout). */
  stallTimeoutMs: number;
  /** A private temporary directory (PART 2's spill file goes there). */
  work: string;
  outFile: string;
  meta: FileMeta;
  seal?: Transform[];
  signal?: AbortSignal;
  progress?: MergeProgress;
}

/**
 * Runs both pg_dumps and the row counts at once, inside the snapshot, and streams the parts straight into
 * the merge: PART 1 from its pg_dump's stdout, PART 2 from its own, spilled to a temporary file only
 * for as long as PART 1 (which goes first in the file) is still being written. A failure of either
 * dump, of the counts or of the merge stops everything else.
 */
async function dumpAndMerge(
  input: DumpAndMergeInput,
): Promise<MergeResult & { expectedRows: Map<string, number>; generatedAt: Date }> {
  const failure = new AbortController();
  const dumps: { kill(): void }[] = [];
  const fail = (error: unknown): void => {
    if (failure.signal.aborted) return;
    failure.abort(error);
    // Stopping pg_dump ends its output: a merge waiting for the next chunk (of a hung dump) ends too.
    dumps.forEach((dump) => dump.kill());
  };
  const onAbort = (): void => fail(input.signal?.reason ?? new Error('the backup was cancelled'));
  input.signal?.addEventListener('abort', onAbort, { once: true });
  const watch = watchStall(input.stallTimeoutMs, fail, 'neither pg_dump (PART 1, PART 2)');

  const dump1 = startPgDump(input.job, managedDataArgs(input.plan, input.job), 'auth and storage data');
  const dump2 = startPgDump(input.job, userSchemaArgs(input.plan, input.job), 'the user schemas');
  dumps.push(dump1, dump2);
  const counting = input.countRows(watch.tick, failure.signal);
  for (const settled of [dump1.done, dump2.done, counting]) settled.catch(fail);
  const part2 = new Spool(dump2.stdout, path.join(input.work, 'part2.spool'), {
    chunks: ticking(coalescedReads(dump2.stdout), watch),
  });

  /** A part's chunks, then the exit status of its pg_dump: a failed dump never reaches the footer. */
  async function* part(chunks: AsyncIterable<Buffer>, done: Promise<void>): AsyncGenerator<Buffer> {
    yield* chunks;
    await done;
  }
  try {
    const merged = await mergeBackup({
      meta: input.meta,
      plan: input.plan,
      part1: part(ticking(coalescedReads(dump1.stdout), watch), dump1.done),
      part2: part(part2, dump2.done),
      expectedRows: counting,
      outFile: input.outFile,
      seal: input.seal,
      signal: failure.signal,
      progress: input.progress,
    });
    return { ...merged, expectedRows: await counting, generatedAt: input.meta.generatedAt };
  } catch (error) {
    throw failure.signal.aborted ? failure.signal.reason : error;
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
    watch.stop();
    dump1.kill();
    dump2.kill();
    await part2.close();
    await Promise.allSettled([dump1.done, dump2.done, counting]);
  }
}

/** `full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql` */
export function backupFileName(at: Date, sha256: string, suffix: string): string {
  return `full_${at.toISOString().replace(/[:.]/g, '-')}_${sha256.slice(0, 8)}${suffix}`;
}

function summariseParts(
  plan: BackupPlan,
  rows: Map<string, number>,
  bytes: { part1: number; part2: number; part3: number },
): PartSummary[] {
  const sum = (tables: { qualified: string }[]): number =>
    tables.reduce((total, table) => total + (rows.get(table.qualified) ?? 0), 0);
  const { triggers, policies } = plan.userObjectsOnManaged;
  return [
    { part: 1, title: 'Auth and storage data', bytes: bytes.part1, tables: plan.managedTables.length, rows: sum(plan.managedTables) },
    { part: 2, title: `Schemas ${plan.userSchemas.map(displayName).join(', ')} (schema + data)`, bytes: bytes.part2, tables: plan.userTables.length, rows: sum(plan.userTables) },
    { part: 3, title: `User objects on managed tables (${triggers.length} triggers, ${policies.length} policies)`, bytes: bytes.part3, tables: 0, rows: 0 },
  ];
}
