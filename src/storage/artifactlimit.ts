/**
 * storage-files-artifact-limit: an artifact carries every file of its backup, again in every run, so
 * only small projects keep their files there. Checked twice: the snapshot's file rows before anything is
 * dumped or downloaded, and the file store once written (sealed files are a little larger).
 */
import { formatBytes } from '../log.js';
import type { ObjectList } from './objects.js';

export class ArtifactLimitError extends Error {
  override name = 'ArtifactLimitError';
}

/** Over the limit the run fails before anything is published, saying what to use instead. */
export function checkArtifactLimit(bytes: number, limit: number, what: string): void {
  if (bytes <= limit) return;
  throw new ArtifactLimitError(
    `Storage files: ${what} ${formatBytes(bytes)}, over storage-files-artifact-limit (${formatBytes(limit)}). ` +
      'An artifact carries every file of its backup, again in every run: for a project this size store the files in a bucket ' +
      "(destination: s3, with s3-bucket-url; incremental there), or raise 'storage-files-artifact-limit'. Nothing was published",
  );
}

/** The sizes the snapshot's rows give (a row without one counts 0: the file store's own check catches it). */
export function checkListFitsArtifact(list: Pick<ObjectList, 'bytes'>, limit: number): void {
  checkArtifactLimit(list.bytes, limit, "the snapshot's file rows add up to");
}
