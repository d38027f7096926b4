/**
 * The publish stage: the verified backup file stored where `destination` asks (DESIGN.md §2, §4).
 *
 * - `artifact`: a workflow artifact (artifact.ts);
 * - `branch`: a commit on a branch of the repository (branch.ts);
 * - `s3`: objects in an S3-compatible bucket (s3.ts);
 * - any comma-separated combination of them; `none`: the file stays in `output-dir` only.
 *
 * A backup counts only once stored, and nothing is left half-done: what each destination needs is
 * checked before anything is stored, and they store in the order artifact, s3, branch; when one fails,
 * what the earlier ones stored is deleted again (a pushed commit is last, as it cannot be taken back).
 * Bucket retention runs only once every destination has the backup. The local file is the caller's:
 * the action removes it on failure.
 */
import { stat } from 'node:fs/promises';
import type { BackupConfig } from '../config.js';
import { formatBytes, type Logger } from '../log.js';
import {
  checkArtifactName,
  checkArtifactRuntime,
  defaultArtifactName,
  deleteBackupArtifact,
  uploadBackupArtifact,
  type ArtifactUpload,
} from './artifact.js';
import { checkBranchFileSize, publishToBranch, resolveBranchRemote, type BranchOptions } from './branch.js';
import { PublishError } from './error.js';
import { localCopy, type Destination } from './local.js';
import { preflightS3, pruneS3, retentionWords, s3DestinationTarget, storeInS3, withdrawFromS3, type S3BackupFacts, type S3Stored } from './s3.js';
import type { S3Target } from '../s3/objects.js';

export { PublishError } from './error.js';
export type { BranchOptions } from './branch.js';

/** What the publish stage needs to know about the backup (a subset of BackupResult). */
export interface PublishInput extends S3BackupFacts {
  path: string;
  file: string;
  /** `<path>.sig` when the backup is signed: every destination stores it beside the file. */
  signaturePath?: string;
  /** storage-files without s3: the file store (`<path>.files`) the artifact carries beside the file. */
  storageFilesDir?: string;
  bytes: number;
  sha256: string;
  authUsers: number;
  tables: number;
  rows: number;
}

export interface PublishResult {
  /** Where the backup went, for the job summary. */
  destinations: Destination[];
  artifactId?: string;
  artifactUrl?: string;
  commitSha?: string;
  s3?: Pick<S3Stored, 'url' | 'key' | 'etag' | 'versionId'>;
}

export interface PublishOptions {
  branch?: BranchOptions;
  /** Cancels an upload in progress (the multipart upload is aborted). */
  signal?: AbortSignal;
  /** The time retention measures keep-days from (tests). */
  now?: Date;
}

/**
 * Stores the backup in every configured destination. `env` gives the Actions context (repository,
 * server, run, BACKUP_REMOTE_URL); note that `@actions/artifact` itself reads its runtime variables
 * from `process.env`.
 */
export async function publishBackup(
  result: PublishInput,
  config: BackupConfig,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const { artifact: toArtifact, branch: toBranch, s3: toS3 } = config.destinations;

  // Everything a destination needs is checked before the first one stores anything.
  const artifactName = toArtifact ? checkArtifactName(config.artifactName ?? defaultArtifactName(result.file)) : '';
  if (toArtifact) checkArtifactRuntime(env);
  if (toBranch) {
    checkBranchFileSize((await stat(result.path)).size, result.file);
    resolveBranchRemote(config, env, options.branch?.remoteUrl);
  }
  const bucket = toS3 ? s3DestinationTarget(config, env) : undefined;
  if (bucket) await preflightS3(config, env, log, bucket);

  const published: PublishResult = { destinations: [] };
  let upload: ArtifactUpload | undefined;
  if (toArtifact) {
    upload = await uploadBackupArtifact(
      {
        file: result.path,
        ...(result.signaturePath ? { signature: result.signaturePath } : {}),
        ...(result.storageFilesDir ? { fileStore: result.storageFilesDir } : {}),
        name: artifactName,
        retentionDays: config.retentionDays,
      },
      log,
      env,
    );
    published.artifactId = upload.id;
    published.artifactUrl = upload.url;
    const expiry = upload.retentionDays ? `, kept ${upload.retentionDays} days` : '';
    published.destinations.push({
      kind: 'artifact',
      description: `Workflow artifact \`${upload.name}\` (${formatBytes(upload.size ?? result.bytes)} zip${expiry})`,
      url: upload.url,
    });
  }

  let stored: S3Stored | undefined;
  if (bucket) {
    try {
      stored = await storeInS3(result, config, bucket, log, options.signal);
    } catch (error) {
      throw upload ? await withdrawArtifact(upload, error, log) : error;
    }
    published.s3 = { url: stored.url, key: stored.key, etag: stored.etag, ...(stored.versionId ? { versionId: stored.versionId } : {}) };
  }

  if (toBranch) {
    let pushed;
    try {
      pushed = await publishToBranch(result, config, log, env, options.branch);
    } catch (error) {
      const failure = bucket && stored ? await withdrawFromS3(bucket, stored, error, log) : error;
      throw upload ? await withdrawArtifact(upload, failure, log) : failure;
    }
    published.commitSha = pushed.commitSha;
    published.destinations.push({
      kind: 'branch',
      description: `\`${pushed.pathOnBranch}\` on branch \`${pushed.branch}\` of ${pushed.label}, commit ${pushed.commitSha.slice(0, 7)}${
        pushed.removed.length > 0 ? ` (${pushed.removed.length} older backup(s) removed, keep ${config.keep})` : ''
      }`,
      url: pushed.fileUrl,
    });
  }

  if (bucket && stored) published.destinations.push(await bucketLine(bucket, stored, config, log, options.now));
  published.destinations.push(localCopy(result.path, toArtifact || toBranch || toS3));
  return published;
}

/** Retention in the bucket (now that every destination has the backup) and the summary line. */
async function bucketLine(bucket: S3Target, stored: S3Stored, config: BackupConfig, log: Logger, now?: Date): Promise<Destination> {
  let pruned = '';
  try {
    const removed = await pruneS3(bucket, config, stored, log, now);
    if (removed.length > 0) pruned = `, ${removed.length} older backup(s) deleted (${retentionWords(config)})`;
  } catch (error) {
    // The backup is stored; a retention failure (e.g. no delete permission) must not withdraw it.
    log.warning(`The backup is stored, but deleting older backups failed: ${(error as Error).message}`);
    pruned = ', older backups not deleted (see the warning)';
  }
  return {
    kind: 's3',
    description: `\`${stored.url}\` (${formatBytes(stored.bytes)}, ETag ${stored.etag}${stored.versionId ? `, version ${stored.versionId}` : ''}${pruned})`,
  };
}

/** The branch failed after the artifact was stored: delete the artifact so the run leaves neither. */
async function withdrawArtifact(upload: ArtifactUpload, cause: unknown, log: Logger): Promise<Error> {
  const message = cause instanceof Error ? cause.message : String(cause);
  try {
    await deleteBackupArtifact(upload.name);
    log.info(`🗑️ Deleted artifact '${upload.name}' again, because the branch push failed`);
    return new PublishError(`${message}\n(the artifact '${upload.name}' uploaded before was deleted again, so the run stored nothing)`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return new PublishError(
      `${message}\n(the artifact '${upload.name}' was uploaded before the push failed and could not be deleted again: ` +
        `${reason}; delete it from the run's page${upload.url ? ` ${upload.url}` : ''})`,
    );
  }
}
