/**
 * `restore --storage-files`: after the SQL restore, the backup's Storage files into the target project
 * (storage/restore.ts). The file store is read with the standard AWS variables (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, AWS_REGION); the target's Storage keys come from
 * STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY, never from the command line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.js';
import { closeClient, connectClient, type Database } from '../postgres/connection.js';
import { parseS3Url } from '../s3/url.js';
import { storageEndpointFor } from '../storage/endpoint.js';
import type { FilesRestoreOutcome } from '../storage/restore.js';

export interface FilesRestoreRequest {
  /** The SQL backup file just restored: its file manifest is named after it. */
  backupFile: string;
  /** s3://bucket/prefix the backups (and their files) are under. */
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
  if (!request.filesFrom) throw new FilesUsageError('--storage-files needs --files-from s3://bucket/prefix (or --s3), where the backups and their files are');
  const location = parseS3Url(request.filesFrom);
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
  const { fileStoreFor, restoreStorageFiles } = await import('../storage/run.js');
  const store = fileStoreFor(
    {
      location,
      inputs: { endpoint: '', region: '', forcePathStyle: '', ...request.bucketFlags, accessKeyId: '', secretAccessKey: '', sessionToken: '' },
    },
    env,
  );
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
