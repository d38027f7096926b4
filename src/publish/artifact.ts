/**
 * Destination `artifact`: the backup file uploaded as a workflow artifact with `@actions/artifact`.
 *
 * The client talks to the Actions results service with the runtime token the runner hands to a
 * `uses:` step (ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL); it reads them from `process.env` itself.
 * We check for them first so a user who runs this outside Actions, on GHES or from a `run:` step is
 * told what to do instead of seeing the client's internal error.
 */
import { copyFile, link, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';
import { formatBytes, type Logger } from '../log.js';
import { PublishError } from './error.js';

export interface ArtifactUpload {
  id: string;
  name: string;
  /** Link to the artifact on the run's page, when the run is known. */
  url: string | undefined;
  /** Bytes stored (the zip the client made around the file). */
  size: number | undefined;
  retentionDays: number | undefined;
}

/** Characters the artifact service refuses in a name (NTFS limits), as the client lists them. */
const FORBIDDEN_IN_NAME = /[:/\\"<>|*?\r\n]/;

/** `full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql.gz` → `full_2026-11-29T23-45-00-000Z_3fa9c1d2`. */
export function defaultArtifactName(file: string): string {
  const stem = file.slice(0, file.indexOf('.') > 0 ? file.indexOf('.') : undefined);
  return stem.replace(new RegExp(FORBIDDEN_IN_NAME.source, 'g'), '-');
}

export function checkArtifactName(name: string): string {
  const bad = FORBIDDEN_IN_NAME.exec(name);
  if (!name || bad) {
    throw new PublishError(
      `artifact name '${name}' is not allowed${bad ? `: it contains '${bad[0]}'` : ''}; ` +
        'artifact names may not contain : / \\ " < > | * ?',
    );
  }
  return name;
}

/** Is the server GitHub Enterprise Server (where this artifact client does not work)? Same rule as the client. */
function isGhes(env: NodeJS.ProcessEnv): boolean {
  let host: string;
  try {
    host = new URL(env.GITHUB_SERVER_URL || 'https://github.com').hostname.toLowerCase();
  } catch {
    return false;
  }
  return host !== 'github.com' && !host.endsWith('.ghe.com') && !host.endsWith('.localhost');
}

/** Throws a clear error when the Actions runtime the artifact service needs is not there. */
export function checkArtifactRuntime(env: NodeJS.ProcessEnv): void {
  if (isGhes(env)) {
    throw new PublishError(
      `destination 'artifact' is not available on GitHub Enterprise Server (${env.GITHUB_SERVER_URL}): ` +
        'the current artifact service (upload-artifact v4+, @actions/artifact v2+) runs on github.com and ' +
        "ghe.com only; use 'destination: branch' there",
    );
  }
  const missing = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_RESULTS_URL'].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new PublishError(
      `destination 'artifact' needs the GitHub Actions runtime, and ${missing.join(' and ')} ` +
        `${missing.length > 1 ? 'are' : 'is'} not set. The runner gives these only to an action step ` +
        "(`uses: …`) of a job on github.com: not to a `run:` step, not outside Actions, not on GHES. " +
        "Run the action with `uses:`, or use 'destination: branch' (or 'none' and store the file yourself)",
    );
  }
}

/** `https://github.com/acme/app/actions/runs/4242/artifacts/1001`, like upload-artifact reports. */
export function artifactUrl(env: NodeJS.ProcessEnv, id: string): string | undefined {
  const { GITHUB_SERVER_URL: server = 'https://github.com', GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = env;
  return repo && run ? `${server.replace(/\/+$/, '')}/${repo}/actions/runs/${run}/artifacts/${id}` : undefined;
}

/** Removes upload signatures from a message (the client masks them in the log, not in errors). */
function redactSignatures(message: string): string {
  return message.replace(/([?&]sig=)[^&\s"']+/gi, '$1***');
}

function explainFailure(name: string, error: unknown): string {
  let message = redactSignatures(error instanceof Error ? error.message : String(error)).trim();
  // The blob store's errors (Azure RestError) carry the HTTP status and code beside the message.
  const { statusCode, code } = (error ?? {}) as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode === 'number') message = `blob storage answered ${statusCode}${typeof code === 'string' ? ` ${code}` : ''}: ${message}`;
  const hints: string[] = [];
  if (/\(409\)|already exists/i.test(message)) {
    hints.push(`an artifact named '${name}' already exists in this workflow run; set 'artifact-name' to a name not used yet in the run`);
  } else if (/\((401|403)\)|answered (401|403)/.test(message)) {
    hints.push('the artifact service refused the runtime credentials; re-run the job, and check that the job was not cancelled or timed out');
  }
  return `artifact upload of '${name}' failed: ${message}${hints.length > 0 ? ` (${hints.join('; ')})` : ''}`;
}

export interface ArtifactRequest {
  /** The backup file. */
  file: string;
  /** Its signature (`<file>.sig`, same folder), stored in the same artifact. */
  signature?: string;
  name: string;
  retentionDays: number | undefined;
  /**
   * storage-files without s3: the directory holding the file store (`storage-files/…`). The artifact then
   * holds the file, its signature and that store side by side, as a bucket prefix would.
   */
  fileStore?: string;
}

/**
 * Uploads the file as artifact `name` (a zip holding just the file). Fails with a PublishError that
 * says what to do; a failed upload is never finalized, so it leaves no artifact behind.
 */
export async function uploadBackupArtifact(
  request: ArtifactRequest,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ArtifactUpload> {
  checkArtifactRuntime(env);
  const name = checkArtifactName(request.name);
  const file = path.resolve(request.file);
  // A gzip or age file does not shrink again: store it in the zip as is instead of deflating it twice.
  const compressionLevel = /\.(gz|zst|age)$/.test(file) ? 0 : 6;
  const retention = request.retentionDays ? `, kept ${request.retentionDays} days` : '';
  log.info(`📦 Uploading workflow artifact '${name}'${retention}...`);

  let response: { id?: number; size?: number };
  const own = [file, ...(request.signature ? [path.resolve(request.signature)] : [])];
  const root = request.fileStore ? path.resolve(request.fileStore) : path.dirname(file);
  // The client zips files under one root: the file and its signature are linked into the store's folder.
  const linked = request.fileStore ? await linkInto(own, root) : [];
  try {
    const files = request.fileStore ? [...linked, ...(await filesIn(root, linked))] : own;
    if (request.fileStore) log.info(`🗂️ The artifact carries the Storage files too: ${files.length - linked.length} file(s) of the file store`);
    response = await new DefaultArtifactClient().uploadArtifact(name, files, root, {
      retentionDays: request.retentionDays,
      compressionLevel,
    });
  } catch (error) {
    throw new PublishError(explainFailure(name, error));
  } finally {
    await Promise.all(linked.map((target) => rm(target, { force: true })));
  }
  if (response.id === undefined) {
    throw new PublishError(`artifact upload of '${name}' failed: the artifact service returned no artifact id`);
  }
  const id = String(response.id);
  const url = artifactUrl(env, id);
  log.info(`✅ Artifact '${name}' uploaded (id ${id}, ${formatBytes(response.size ?? 0)})${url ? `: ${url}` : ''}`);
  return { id, name, url, size: response.size, retentionDays: request.retentionDays };
}

/** Hard links (a copy where the file system has none) of `files` in `dir`; returns their paths. */
async function linkInto(files: string[], dir: string): Promise<string[]> {
  const made: string[] = [];
  for (const file of files) {
    const target = path.join(dir, path.basename(file));
    await rm(target, { force: true });
    await link(file, target).catch(() => copyFile(file, target));
    made.push(target);
  }
  return made;
}

/** Every file under `dir` (the store), but for the links just made there. */
async function filesIn(dir: string, except: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && !except.includes(file)) found.push(file);
  }
  return found.sort();
}

/** Removes an artifact this run uploaded (used when a later destination fails). */
export async function deleteBackupArtifact(name: string): Promise<void> {
  await new DefaultArtifactClient().deleteArtifact(name);
}
