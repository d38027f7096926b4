/**
 * The publish stage: the verified backup file stored where `destination` asks (DESIGN.md §2, §4).
 *
 * - `artifact`: a workflow artifact (artifact.ts);
 * - `branch`: a commit on a branch of the repository (branch.ts);
 * - `artifact,branch`: both; `none`: the file stays in `output-dir` only.
 *
 * A backup counts only once stored, and nothing is left half-done: what each destination needs is
 * checked before anything is stored, and when the branch push fails after the artifact was uploaded,
 * the artifact is deleted again. The local file is the caller's: the action removes it on failure.
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

export { PublishError } from './error.js';
export type { BranchOptions } from './branch.js';

/** What the publish stage needs to know about the backup (a subset of BackupResult). */
export interface PublishInput {
  path: string;
  file: string;
  /** `<path>.sig` when the backup is signed: every destination stores it beside the file. */
  signaturePath?: string;
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
}

export interface PublishOptions {
  branch?: BranchOptions;
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
  const { artifact: toArtifact, branch: toBranch } = config.destinations;

  // Everything a destination needs is checked before the first one stores anything.
  const artifactName = toArtifact ? checkArtifactName(config.artifactName ?? defaultArtifactName(result.file)) : '';
  if (toArtifact) checkArtifactRuntime(env);
  if (toBranch) {
    checkBranchFileSize((await stat(result.path)).size, result.file);
    resolveBranchRemote(config, env, options.branch?.remoteUrl);
  }

  const published: PublishResult = { destinations: [] };
  let upload: ArtifactUpload | undefined;
  if (toArtifact) {
    upload = await uploadBackupArtifact(
      { file: result.path, ...(result.signaturePath ? { signature: result.signaturePath } : {}), name: artifactName, retentionDays: config.retentionDays },
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

  if (toBranch) {
    let pushed;
    try {
      pushed = await publishToBranch(result, config, log, env, options.branch);
    } catch (error) {
      throw upload ? await withdrawArtifact(upload, error, log) : error;
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

  published.destinations.push(localCopy(result.path, toArtifact || toBranch));
  return published;
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
