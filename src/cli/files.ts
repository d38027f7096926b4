/**
 * `restore --storage-files`: after the SQL restore, the backup's Storage files into the target project
 * (storage/restore.ts). The file store is a bucket prefix, read with the standard AWS variables
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, AWS_REGION), or a directory (an
 * artifact downloaded and unzipped: `storage-files/` in it); the target's Storage keys come from
 * STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY, never from the command line.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.js';
import { closeClient, connectClient, type Database } from '../postgres/connection.js';
import { parseS3Url } from '../s3/url.js';
import { storageEndpointFor } from '../storage/endpoint.js';
import type { FilesRestoreOutcome } from '../storage/restore.js';
import type { FileStore } from '../storage/store.js';

export interface FilesRestoreRequest {
  /** The SQL backup file just restored: its file manifest is named after it. */
  backupFile: string;
  /** s3://bucket/prefix the backups (and their files) are under, or a directory that holds `storage-files/`. */
  filesFrom: string | undefined;
  /** --s3-endpoint, --s3-region, --s3-force-path-style of that bucket ('' = the AWS variables). */
  bucketFlags?: { endpoint: string; region: string; forcePathStyle: string };
  targetUrl: string;
  target: Database;
  endpoint: string | undefined;
  region: string | undefined;
  identities: string[];
  passphrase: string | undefined;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

export class FilesUsageError extends Error {
  override name = 'FilesUsageError';
}

export async function restoreFilesAfterSql(request: FilesRestoreRequest): Promise<FilesRestoreOutcome> {
  const env = request.env ?? process.env;
  if (!request.filesFrom) {
    throw new FilesUsageError(
      '--storage-files needs --files-from s3://bucket/prefix (or --s3), where the backups and their files are, ' +
        'or --files-from DIR, the unzipped artifact that holds storage-files/',
    );
  }
  const derived = storageEndpointFor(request.targetUrl);
  const endpoint = request.endpoint ?? derived.endpoint;
  const region = request.region ?? derived.region;
  const accessKeyId = env.STORAGE_S3_ACCESS_KEY_ID ?? '';
  const secretAccessKey = env.STORAGE_S3_SECRET_ACCESS_KEY ?? '';
  if (!endpoint || !region) {
    throw new FilesUsageError("--storage-files: give --storage-s3-endpoint and --storage-s3-region of the target project (they cannot be derived from its database URL)");
  }
  if (!accessKeyId || !secretAccessKey) {
    throw new FilesUsageError('--storage-files needs the target Storage S3 keys in STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY');
  }
  const store = await fileStoreAt(request.filesFrom, request.bucketFlags, env);
  const { restoreStorageFiles } = await import('../storage/run.js');
  const work = await mkdtemp(path.join(tmpdir(), 'supabase-backup-files-'));
  const db = await connectClient(request.target.conn);
  try {
    return await restoreStorageFiles({
      backup: path.basename(request.backupFile),
      store,
      target: { endpoint, region, accessKeyId, secretAccessKey },
      db,
      identities: request.identities,
      ...(request.passphrase ? { passphrase: request.passphrase } : {}),
      work,
      log: request.log,
    });
  } finally {
    await closeClient(db);
    store.remote.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** The file store at s3://bucket/prefix, or in a directory (an unzipped artifact: DIR/storage-files/…). */
async function fileStoreAt(filesFrom: string, bucketFlags: FilesRestoreRequest['bucketFlags'], env: NodeJS.ProcessEnv): Promise<FileStore> {
  if (filesFrom.startsWith('s3://')) {
    const { fileStoreFor } = await import('../storage/run.js');
    const inputs = { endpoint: '', region: '', forcePathStyle: '', ...bucketFlags, accessKeyId: '', secretAccessKey: '', sessionToken: '' };
    return fileStoreFor({ location: parseS3Url(filesFrom), inputs }, env);
  }
  if (!(await isDirectory(path.join(filesFrom, 'storage-files')))) {
    throw new FilesUsageError(`--files-from ${filesFrom}: no storage-files/ folder there; give the unzipped artifact of the backup, or s3://bucket/prefix`);
  }
  const [{ FileStore }, { LocalRemote }] = await Promise.all([import('../storage/store.js'), import('../storage/localremote.js')]);
  return new FileStore(new LocalRemote(path.resolve(filesFrom)), '', '');
}

async function isDirectory(dir: string): Promise<boolean> {
  return (await stat(dir).catch(() => undefined))?.isDirectory() ?? false;
}

/**
 * Where the files of a backup file on disk are when --files-from is not given: the folder that holds it
 * (an unzipped artifact), else `<file>.files` beside it (the copy the action leaves in output-dir).
 */
export async function filesBesideBackup(file: string): Promise<string | undefined> {
  for (const dir of [path.dirname(file), `${file}.files`]) {
    if (await isDirectory(path.join(dir, 'storage-files'))) return dir;
  }
  return undefined;
}
