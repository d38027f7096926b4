/**
 * The Storage-files stage as the pipeline and the CLI call it: clients built from the config, the file
 * store under the s3 destination's prefix (or, without s3, in a directory the artifact carries), the
 * sealing that the backup's encryption asks for.
 * Loaded on demand (the S3 SDK is large and most backups do not need it).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BackupConfig, S3Config, StorageFilesConfig } from '../config.js';
import type { Logger } from '../log.js';
import { createS3Client, s3Settings } from '../s3/index.js';
import { backupFiles, describeCounts, type FilesBackupOutcome } from './backup.js';
import type { FileCounts, SkippedFile } from './manifest.js';
import type { ObjectList } from './objects.js';
import { checkArtifactLimit, checkListFitsArtifact } from './artifactlimit.js';
import { filesUnder, LocalRemote } from './localremote.js';
import { S3Remote } from './remote.js';
import { restoreFiles, type FilesRestoreOutcome } from './restore.js';
import { fileSealing, passphraseIdentity } from './sealing.js';
import { FileStore } from './store.js';
import type { RetryPolicy } from './transfer.js';
import { pruneFileStore } from './retention.js';

export interface StorageFilesSummary {
  /** s3:// location of the manifest, or its path in the artifact (`storage-files/manifests/…`). */
  manifest: string;
  /** The files are in the artifact (the directory the pipeline hands the artifact upload), not in a bucket. */
  inArtifact: boolean;
  counts: FileCounts;
  files: number;
  /** The files not in the backup, with why (the first 100; counts has them all). */
  skipped: SkippedFile[];
}

/** Storage's S3 protocol: the SDK does not retry here, the transfer's own retries (with reports) do. */
export function storageClient(settings: StorageFilesConfig): S3Client {
  return createS3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    regionGiven: true,
    forcePathStyle: true,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    maxAttempts: 1,
  });
}

export function fileStoreFor(s3: S3Config, env: NodeJS.ProcessEnv = process.env): FileStore {
  return new FileStore(new S3Remote(createS3Client(s3Settings(s3.inputs, env))), s3.location.bucket, s3.location.prefix);
}

export interface StorageFilesBackupInput {
  config: Pick<BackupConfig, 'encryption' | 's3' | 'storageFiles'>;
  /** A new directory (made here) that holds the file store when the files go into the artifact. */
  artifactStore?: string;
  /** The snapshot's file list, on disk in the run's work directory. */
  rows: ObjectList;
  backup: string;
  snapshotId: string;
  createdAt: Date;
  work: string;
  log: Logger;
  retry?: RetryPolicy;
  signal?: AbortSignal;
}

export async function backupStorageFiles(input: StorageFilesBackupInput): Promise<StorageFilesSummary> {
  const { config, log } = input;
  const local = config.s3 ? undefined : input.artifactStore;
  if (!config.storageFiles || (!config.s3 && !local)) throw new Error('storage-files needs the s3 destination or the artifact');
  const limit = config.storageFiles.artifactLimitBytes;
  if (local) checkListFitsArtifact(input.rows, limit);
  const source = storageClient(config.storageFiles);
  const store = local ? new FileStore(new LocalRemote(local), '', '') : fileStoreFor(config.s3!);
  try {
    const sealing = await fileSealing(config.encryption, () => store.passphraseSalt(true));
    log.info(
      `🗂️ Storage files: ${input.rows.count} file rows in the snapshot, fetched from ${config.storageFiles.endpoint}` +
        `${local ? ', every one into the artifact' : ''}${sealing ? ' (stored encrypted)' : ''}`,
    );
    const outcome = await backupFiles({
      rows: input.rows,
      source: new S3Remote(source),
      store,
      sealing,
      backup: input.backup,
      snapshotId: input.snapshotId,
      createdAt: input.createdAt,
      work: input.work,
      log,
      ...(input.retry ? { retry: input.retry } : {}),
      ...(input.signal ? { signal: input.signal } : {}),
    });
    if (local) checkArtifactLimit((await filesUnder(local)).reduce((sum, f) => sum + f.size, 0), limit, 'the file store for the artifact holds');
    log.info(`✅ Storage files: ${describeCounts(outcome.manifest.counts)}`);
    return summaryOf(outcome, store, sealing !== null, local !== undefined);
  } finally {
    source.destroy();
    store.remote.close();
  }
}

function summaryOf({ manifest, skipped }: FilesBackupOutcome, store: FileStore, sealed: boolean, inArtifact: boolean): StorageFilesSummary {
  const key = store.manifestKey(manifest.backup, sealed);
  return {
    manifest: inArtifact ? key : `s3://${store.bucket}/${key}`,
    inArtifact,
    counts: manifest.counts,
    files: manifest.counts.stored + manifest.counts.reused,
    skipped,
  };
}

export interface StorageFilesRestoreInput {
  /** The SQL backup file's name (its manifest is named after it). */
  backup: string;
  store: FileStore;
  target: StorageFilesConfig;
  db: import('pg').Client;
  identities: string[];
  passphrase?: string;
  work: string;
  log: Logger;
  retry?: RetryPolicy;
}

/** The identities that open a store's files: the given ones, plus the one a passphrase stands for. */
export async function identitiesFor(store: FileStore, identities: string[], passphrase: string | undefined): Promise<string[]> {
  if (!passphrase) return identities;
  return [...identities, passphraseIdentity(passphrase, await store.passphraseSalt(false))];
}

export async function restoreStorageFiles(input: StorageFilesRestoreInput): Promise<FilesRestoreOutcome> {
  const identities = await identitiesFor(input.store, input.identities, input.passphrase);
  const dir = await mkdtemp(path.join(input.work, 'files-manifest-'));
  const target = storageClient(input.target);
  try {
    const manifest = await input.store.openManifest(input.backup, identities, dir);
    input.log.info(`🗂️ Storage files of ${input.backup}: ${manifest.fileCount} to restore into ${input.target.endpoint}`);
    return await restoreFiles({
      manifest,
      store: input.store,
      identities,
      target: new S3Remote(target),
      db: input.db,
      work: input.work,
      log: input.log,
      ...(input.retry ? { retry: input.retry } : {}),
    });
  } finally {
    target.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}


/** Retention of the file store after a backup; a failure is a warning (the backup itself is stored). */
export async function pruneStorageFiles(s3: S3Config, ownBackup: string, log: Logger): Promise<void> {
  const store = fileStoreFor(s3);
  try {
    await pruneFileStore(store, ownBackup, log);
  } catch (error) {
    log.warning(`The backup and its files are stored, but deleting files no kept backup needs failed: ${(error as Error).message}`);
  } finally {
    store.remote.close();
  }
}
