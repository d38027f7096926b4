/**
 * Destination s3: the verified backup file in any S3-compatible bucket, under the prefix of
 * `s3-bucket-url`, with its signature (`.sig`) and a manifest (`.manifest.json`) beside it.
 *
 * - Before the dump (`preflightS3`): the bucket exists and the credentials can read and list it, so a
 *   wrong key or a missing bucket fails in seconds, naming the input.
 * - Store (`storeInS3`): the file as a multipart upload (src/s3/objects.ts: parts in parallel, bounded
 *   memory, retried, aborted on failure or cancellation), then the signature, then the manifest. The
 *   manifest comes last and marks the backup complete; when any step fails, what was written is deleted.
 * - Retention (`pruneS3`), run only once every destination has stored the backup: a backup is deleted
 *   (with its .sig and manifest) when neither rule keeps it — among the newest `keep`, or younger than
 *   `keep-days` days. A run deletes only complete backups older than its own, so two runs at once never
 *   delete each other's work in progress.
 */
import { readFile, stat } from 'node:fs/promises';
import type { BackupConfig } from '../config.js';
import { formatBytes, type Logger } from '../log.js';
import { s3Target } from '../s3/client.js';
import { checkBucket, deleteObjects, listObjects, partSizeFor, putSmallObject, UPLOAD_QUEUE, uploadFile, type ObjectSummary, type S3Target } from '../s3/objects.js';
import { s3Settings } from '../s3/settings.js';
import { baseName, formatS3Url, keyOf } from '../s3/url.js';
import { PublishError } from './error.js';
import { SIGNATURE_SUFFIX } from './signature.js';

export const MANIFEST_SUFFIX = '.manifest.json';
const MANIFEST_FORMAT = 'supabase-complete-backup/manifest@1';
/** `full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql[.gz|.zst][.age]` (as restore/listing.ts). */
const BACKUP_NAME = /^full_(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z_([0-9a-f]{8})\.sql(\.gz|\.zst)?(\.age)?$/;
/** A backup without a manifest is another run's upload in progress, unless it is older than this. */
const UNFINISHED_GRACE_MS = 24 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The manifest object beside a backup: enough for `list --s3` without downloading the backup. */
export interface S3Manifest {
  format: typeof MANIFEST_FORMAT;
  file: string;
  bytes: number;
  sha256: string;
  created: string;
  compression: string;
  encryption: 'none' | 'age-recipients' | 'age-passphrase';
  signed: boolean;
  authUsers: number;
  tables: number;
  rows: number;
  rowsByTable: Record<string, number>;
  serverVersion?: string;
  pgDumpVersion?: string;
}

/** What storeInS3 needs to know about the backup. */
export interface S3BackupFacts {
  path: string;
  file: string;
  sha256: string;
  signaturePath?: string;
  authUsers: number;
  tables: number;
  rows: number;
  rowsByTable?: Map<string, number>;
  serverVersion?: string;
  pgDump?: { version: string };
}

export interface S3Stored {
  url: string;
  bucket: string;
  key: string;
  etag: string;
  versionId?: string;
  bytes: number;
  /** Every key written (backup, signature, manifest), for withdrawal. */
  keys: string[];
}

/** The bucket of destination s3, reached with the inputs or the AWS variables of `env`. */
export function s3DestinationTarget(config: BackupConfig, env: NodeJS.ProcessEnv): S3Target {
  const s3 = requireS3(config);
  return s3Target(s3Settings(s3.inputs, env), s3.location.bucket);
}

function requireS3(config: BackupConfig): NonNullable<BackupConfig['s3']> {
  if (!config.s3) throw new PublishError("destination s3 needs 's3-bucket-url'");
  return config.s3;
}

/** Before the dump: the bucket is there and these credentials can read and list the prefix. */
export async function preflightS3(config: BackupConfig, env: NodeJS.ProcessEnv, log: Logger, target = s3DestinationTarget(config, env)): Promise<void> {
  const { location } = requireS3(config);
  await checkBucket(target, location.prefix);
  log.info(`🪣 Bucket ${formatS3Url(location.bucket, location.prefix)} at ${target.endpoint} is reachable`);
}

/** Uploads the backup, its signature and its manifest; on any failure deletes what it wrote. */
export async function storeInS3(
  backup: S3BackupFacts,
  config: BackupConfig,
  target: S3Target,
  log: Logger,
  signal?: AbortSignal,
): Promise<S3Stored> {
  const { location } = requireS3(config);
  const key = keyOf(location, backup.file);
  const bytes = (await stat(backup.path)).size;
  const parts = Math.max(1, Math.ceil(bytes / partSizeFor(bytes)));
  log.info(
    `☁️ Uploading ${backup.file} (${formatBytes(bytes)}) to ${formatS3Url(location.bucket, key)}` +
      (parts > 1 ? ` in ${parts} parts, ${Math.min(parts, UPLOAD_QUEUE)} at a time...` : '...'),
  );
  const written: string[] = [];
  try {
    const stored = await uploadFile(target, { key, file: backup.path, bytes, metadata: { sha256: backup.sha256 }, signal, onProgress: progressLog(bytes, parts, log) });
    written.push(key);
    if (backup.signaturePath) {
      await putSmallObject(target, `${key}${SIGNATURE_SUFFIX}`, await readFile(backup.signaturePath), 'application/octet-stream');
      written.push(`${key}${SIGNATURE_SUFFIX}`);
    }
    signal?.throwIfAborted();
    const manifest = manifestOf(backup, bytes, config);
    await putSmallObject(target, `${key}${MANIFEST_SUFFIX}`, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
    written.push(`${key}${MANIFEST_SUFFIX}`);
    log.info(`✅ Stored in ${formatS3Url(location.bucket, key)} (ETag ${stored.etag}${stored.versionId ? `, version ${stored.versionId}` : ''})`);
    return { url: formatS3Url(location.bucket, key), bucket: location.bucket, key, etag: stored.etag, ...(stored.versionId ? { versionId: stored.versionId } : {}), bytes, keys: written };
  } catch (error) {
    // The backup's key too: a single PutObject cut short by a cancellation may still complete on the
    // server. The name (time and sha256) is this run's alone.
    await deleteObjects(target, [...new Set([key, ...written])]).catch(() => undefined);
    throw error;
  }
}

/** A log line at every further tenth of a multipart upload (a large backup takes minutes). */
function progressLog(bytes: number, parts: number, log: Logger): ((loaded: number) => void) | undefined {
  if (parts < 10) return undefined;
  let logged = 0;
  return (loaded) => {
    const tenths = Math.floor((loaded / bytes) * 10);
    if (tenths <= logged || tenths >= 10) return;
    logged = tenths;
    log.info(`   ${tenths * 10}% uploaded (${formatBytes(loaded)} of ${formatBytes(bytes)})`);
  };
}

function manifestOf(backup: S3BackupFacts, bytes: number, config: BackupConfig): S3Manifest {
  const encryption = config.encryption.kind === 'recipients' ? 'age-recipients' : config.encryption.kind === 'passphrase' ? 'age-passphrase' : 'none';
  return {
    format: MANIFEST_FORMAT,
    file: backup.file,
    bytes,
    sha256: backup.sha256,
    created: (backupTime(backup.file) ?? new Date()).toISOString(),
    compression: config.compression,
    encryption,
    signed: backup.signaturePath !== undefined,
    authUsers: backup.authUsers,
    tables: backup.tables,
    rows: backup.rows,
    rowsByTable: Object.fromEntries(backup.rowsByTable ?? []),
    ...(backup.serverVersion ? { serverVersion: backup.serverVersion } : {}),
    ...(backup.pgDump ? { pgDumpVersion: backup.pgDump.version } : {}),
  };
}

/** A later destination failed: deletes what storeInS3 wrote, and says so in the error. */
export async function withdrawFromS3(target: S3Target, stored: S3Stored, cause: unknown, log: Logger): Promise<Error> {
  const message = cause instanceof Error ? cause.message : String(cause);
  try {
    await deleteObjects(target, stored.keys);
    log.info(`🗑️ Deleted ${stored.url} again, because a later destination failed`);
    return new PublishError(`${message}\n(${stored.url} uploaded before was deleted again)`);
  } catch (error) {
    return new PublishError(`${message}\n(${stored.url} was uploaded before and could not be deleted again: ${(error as Error).message}; delete it by hand)`);
  }
}

export function backupTime(name: string): Date | null {
  const m = BACKUP_NAME.exec(name);
  return m ? new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`) : null;
}

export interface S3BackupObject {
  name: string;
  key: string;
  time: Date;
  bytes: number;
  lastModified: Date;
  /** Its manifest object exists: the run that stored it finished. */
  complete: boolean;
  signed: boolean;
}

/** The backups directly under a prefix (not in its sub-folders), newest first. */
export async function listS3Backups(target: S3Target, prefix: string): Promise<S3BackupObject[]> {
  const objects = await listObjects(target, prefix, '/');
  const keys = new Set(objects.map((o) => o.key));
  const backups: S3BackupObject[] = [];
  for (const object of objects) {
    const name = baseName(object.key);
    const time = backupTime(name);
    if (!time) continue;
    backups.push(describeBackup(object, name, time, keys));
  }
  return backups.sort((a, b) => b.time.getTime() - a.time.getTime() || (a.name < b.name ? 1 : -1));
}

function describeBackup(object: ObjectSummary, name: string, time: Date, keys: Set<string>): S3BackupObject {
  return {
    name,
    key: object.key,
    time,
    bytes: object.size,
    lastModified: object.lastModified,
    complete: keys.has(`${object.key}${MANIFEST_SUFFIX}`),
    signed: keys.has(`${object.key}${SIGNATURE_SUFFIX}`),
  };
}

export interface RetentionRules {
  /** Newest backups kept (0: no count rule). */
  keep: number;
  /** Backups younger than this are kept (0: no age rule). */
  keepDays: number;
}

/**
 * The backups to delete: older than `own`, complete (or unfinished for more than a day), and kept by
 * neither rule. With neither rule set, nothing is deleted. `backups` is newest first.
 */
export function expiredBackups(backups: readonly S3BackupObject[], own: string, rules: RetentionRules, now: Date): S3BackupObject[] {
  if (rules.keep === 0 && rules.keepDays === 0) return [];
  const ownTime = backupTime(own);
  if (!ownTime) return [];
  const finished = backups.filter((b) => b.complete || now.getTime() - b.lastModified.getTime() > UNFINISHED_GRACE_MS);
  return finished.filter((backup, index) => {
    if (backup.name === own || backup.time.getTime() >= ownTime.getTime()) return false;
    const keptByCount = rules.keep > 0 && index < rules.keep;
    const keptByAge = rules.keepDays > 0 && now.getTime() - backup.time.getTime() < rules.keepDays * DAY_MS;
    return !keptByCount && !keptByAge;
  });
}

/** Retention under the prefix, after the new backup is complete; returns the names deleted. */
export async function pruneS3(target: S3Target, config: BackupConfig, stored: S3Stored, log: Logger, now = new Date()): Promise<string[]> {
  const { location } = requireS3(config);
  const expired = expiredBackups(await listS3Backups(target, location.prefix), baseName(stored.key), { keep: config.keep, keepDays: config.keepDays }, now);
  if (expired.length === 0) return [];
  await deleteObjects(
    target,
    expired.flatMap((b) => [b.key, ...(b.signed ? [`${b.key}${SIGNATURE_SUFFIX}`] : []), ...(b.complete ? [`${b.key}${MANIFEST_SUFFIX}`] : [])]),
  );
  log.info(`🧹 Deleted ${expired.length} older backup(s) from ${formatS3Url(location.bucket, location.prefix)} (${retentionWords(config)})`);
  return expired.map((b) => b.name);
}

export function retentionWords(config: Pick<BackupConfig, 'keep' | 'keepDays'>): string {
  const rules = [config.keep > 0 ? `keep ${config.keep}` : '', config.keepDays > 0 ? `keep-days ${config.keepDays}` : ''].filter(Boolean);
  return rules.length > 0 ? rules.join(', ') : 'no retention';
}
