/**
 * Backups in a bucket, for the CLI's `list --s3`, `restore --s3` and `verify --s3`: listed from their
 * manifest objects (nothing downloaded), and one backup (the newest complete one, or the one named)
 * streamed into a private temporary file that then goes through the same checks and restore path as a
 * local file. A file, not a pipe: restore reads a backup twice (every check before anything runs, then
 * psql), and a network stream cannot be read twice without running unchecked SQL.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { backupTime, listS3Backups, MANIFEST_SUFFIX, type S3BackupObject, type S3Manifest } from '../publish/s3.js';
import { SIGNATURE_SUFFIX } from '../publish/signature.js';
import { s3Target } from '../s3/client.js';
import { readObject, readSmallObject, type S3Target } from '../s3/objects.js';
import { s3Settings, type S3Inputs } from '../s3/settings.js';
import { baseName, formatS3Url, parseS3Url } from '../s3/url.js';
import { ListError, type BackupEntry, type Manifest } from './listing.js';

/** The CLI's non-secret S3 flags; credentials come from the AWS variables only (never argv). */
export type S3Flags = Pick<S3Inputs, 'endpoint' | 'region' | 'forcePathStyle'>;

/** `s3://bucket/prefix` (a folder) or `s3://bucket/prefix/full_….sql…` (one backup). */
interface S3Source {
  target: S3Target;
  prefix: string;
  /** The key of the backup named in the URL. */
  key?: string;
}

function openSource(url: string, flags: S3Flags, env: NodeJS.ProcessEnv): S3Source {
  const named = /^(s3:\/\/.+\/)?([^/]+)$/.exec(url.trim());
  const file = named?.[1] && backupTime(named[2]!) ? named[2]! : undefined;
  const location = parseS3Url(file ? named![1]! : url);
  const settings = s3Settings({ ...flags, accessKeyId: '', secretAccessKey: '', sessionToken: '' }, env);
  return { target: s3Target(settings, location.bucket), prefix: location.prefix, ...(file ? { key: `${location.prefix}${file}` } : {}) };
}

/** The backups under the prefix, newest first, with what their manifest objects say. */
export async function listS3(url: string, flags: S3Flags, env: NodeJS.ProcessEnv = process.env): Promise<BackupEntry[]> {
  const source = openSource(url, flags, env);
  const backups = await listS3Backups(source.target, source.prefix);
  const entries: BackupEntry[] = [];
  for (const backup of backups) entries.push(await describe(source.target, backup));
  return entries;
}

async function describe(target: S3Target, backup: S3BackupObject): Promise<BackupEntry> {
  const base = {
    name: backup.name,
    time: backup.time,
    bytes: backup.bytes,
    location: formatS3Url(target.bucket, backup.key),
    sealing: { age: backup.name.endsWith('.age'), gzip: /\.gz(\.age)?$/.test(backup.name), zstd: /\.zst(\.age)?$/.test(backup.name) },
  };
  if (!backup.complete) return { ...base, manifest: null, note: 'no manifest object: an upload in progress, or one that did not finish' };
  try {
    const json = JSON.parse((await readSmallObject(target, `${backup.key}${MANIFEST_SUFFIX}`)).toString('utf8')) as S3Manifest;
    return { ...base, manifest: manifestOf(json) };
  } catch (error) {
    return { ...base, manifest: null, note: `manifest unreadable: ${(error as Error).message}` };
  }
}

function manifestOf(json: S3Manifest): Manifest {
  const rows = new Map(Object.entries(json.rowsByTable ?? {}).map(([table, count]) => [table, Number(count)]));
  return { rows, tables: json.tables, total: json.rows, authUsers: json.authUsers };
}

export interface DownloadedBackup {
  file: string;
  label: string;
  cleanup: () => Promise<void>;
}

/**
 * Streams the backup the URL names (or the newest complete one under the prefix) and its signature,
 * when there is one, into a new private temporary directory.
 */
export async function downloadS3Backup(url: string, flags: S3Flags, env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = () => undefined): Promise<DownloadedBackup> {
  const source = openSource(url, flags, env);
  const key = source.key ?? (await newestComplete(source)).key;
  const name = baseName(key);
  const dir = await mkdtemp(path.join(tmpdir(), 'supabase-backup-'));
  const file = path.join(dir, name);
  try {
    const object = await readObject(source.target, key);
    log(`☁️ Downloading ${formatS3Url(source.target.bucket, key)} (${object.bytes} bytes)...`);
    await pipeline(object.stream, createWriteStream(file, { mode: 0o600 }));
    const signature = await readObject(source.target, `${key}${SIGNATURE_SUFFIX}`).catch(() => undefined);
    if (signature) await pipeline(signature.stream, createWriteStream(`${file}${SIGNATURE_SUFFIX}`, { mode: 0o600 }));
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { file, label: name, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function newestComplete(source: S3Source): Promise<S3BackupObject> {
  const newest = (await listS3Backups(source.target, source.prefix)).find((b) => b.complete);
  if (!newest) throw new ListError(`no complete backups (full_*.sql… with a ${MANIFEST_SUFFIX}) under ${formatS3Url(source.target.bucket, source.prefix)}`);
  return newest;
}
