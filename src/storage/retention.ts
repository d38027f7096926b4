/**
 * Retention of the file store, after the s3 destination's own (publish/s3.ts) has deleted old SQL
 * backups: the manifest and index of a backup whose SQL file is gone are deleted, then every blob that
 * no remaining index names. A blob a kept backup references is never deleted.
 *
 * Two runs at once: a run writes its index before its SQL file is uploaded, so only backups older than
 * this run's own are looked at, and a blob younger than `graceMs` is kept even when no index names it
 * yet (another run may be storing it right now).
 */
import type { Logger } from '../log.js';
import type { FileStore } from './store.js';

/** A day: no run takes that long between storing its first blob and writing its index. */
export const BLOB_GRACE_MS = 24 * 60 * 60 * 1000;

export interface PruneOutcome {
  backups: string[];
  blobs: number;
}

export async function pruneFileStore(store: FileStore, ownBackup: string, log: Logger, graceMs = BLOB_GRACE_MS, now = new Date()): Promise<PruneOutcome> {
  const sqlBackups = await backupsUnderPrefix(store);
  const indexed = await store.indexedBackups();
  const gone = indexed.filter((name) => name < ownBackup && !sqlBackups.has(name));
  await store.remote.deleteKeys(
    store.bucket,
    gone.flatMap((name) => [store.indexKey(name), store.manifestKey(name, false), store.manifestKey(name, true)]),
  );
  const referenced = new Set<string>();
  for (const name of indexed.filter((n) => !gone.includes(n))) {
    for (const entry of (await store.readIndex(name)).entries) referenced.add(entry.b);
  }
  // A run that failed (or runs now) keeps what it stored for the rerun that resumes it.
  for (const checkpoint of await store.checkpoints()) {
    for (const entry of (await store.readCheckpoint(checkpoint.key)).entries) referenced.add(entry.b);
  }
  const blobPrefix = store.blobKey('');
  const unreferenced: string[] = [];
  for await (const blob of store.remote.list(store.bucket, blobPrefix)) {
    const old = !blob.lastModified || now.getTime() - blob.lastModified.getTime() >= graceMs;
    if (old && !referenced.has(blob.key.slice(blobPrefix.length))) unreferenced.push(blob.key);
  }
  await store.remote.deleteKeys(store.bucket, unreferenced);
  if (gone.length > 0 || unreferenced.length > 0) {
    log.info(`🧹 Storage files: deleted the file manifests of ${gone.length} deleted backup(s) and ${unreferenced.length} file(s) no kept backup references`);
  }
  return { backups: gone, blobs: unreferenced.length };
}

/** The SQL backup files directly under the prefix (`full_…`). */
async function backupsUnderPrefix(store: FileStore): Promise<Set<string>> {
  const names = new Set<string>();
  for await (const item of store.remote.list(store.bucket, store.prefix, '/')) {
    const name = item.key.slice(store.prefix.length);
    if (name.startsWith('full_') && !name.includes('/')) names.add(name);
  }
  return names;
}
