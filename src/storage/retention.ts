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
import { SortedRecords } from './sortedrecords.js';
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
  const referenced = new BlobNames();
  for (const name of indexed.filter((n) => !gone.includes(n))) {
    await store.readIndexEntries(store.indexKey(name), (entry) => referenced.add(entry.b));
  }
  // A run that failed (or runs now) keeps what it stored for the rerun that resumes it.
  for (const checkpoint of await store.checkpoints()) {
    await store.readIndexEntries(checkpoint.key, (entry) => referenced.add(entry.b));
  }
  const blobPrefix = store.blobKey('');
  let unreferenced = 0;
  let batch: string[] = [];
  for await (const blob of store.remote.list(store.bucket, blobPrefix)) {
    const old = !blob.lastModified || now.getTime() - blob.lastModified.getTime() >= graceMs;
    if (old && !referenced.has(blob.key.slice(blobPrefix.length))) batch.push(blob.key);
    if (batch.length >= 1000) {
      await store.remote.deleteKeys(store.bucket, batch);
      unreferenced += batch.length;
      batch = [];
    }
  }
  await store.remote.deleteKeys(store.bucket, batch);
  unreferenced += batch.length;
  if (gone.length > 0 || unreferenced > 0) {
    log.info(`🧹 Storage files: deleted the file manifests of ${gone.length} deleted backup(s) and ${unreferenced} file(s) no kept backup references`);
  }
  return { backups: gone, blobs: unreferenced };
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

/**
 * The blob names kept backups reference, compact: a blob is named by a sha256 in hex (plain) or a row key
 * in hex with `.age` (sealed), so each is 33 bytes here (the 32 bytes and whether `.age`), sorted and
 * without repeats (the same blob named by every kept backup counts once): 3.3 MB for 100 000 blobs,
 * where a Set of the strings takes about 11 MB. Any other name (none is written) goes to a small Set.
 */
class BlobNames {
  private readonly records = new SortedRecords(33, 33);
  private readonly others = new Set<string>();
  private readonly record = Buffer.alloc(33);

  add(name: string): void {
    if (this.encode(name)) this.records.add(this.record);
    else this.others.add(name);
  }

  has(name: string): boolean {
    return this.encode(name) ? this.records.find(this.record) !== null : this.others.has(name);
  }

  private encode(name: string): boolean {
    const sealed = name.endsWith('.age');
    const hex = sealed ? name.slice(0, -4) : name;
    if (!/^[0-9a-f]{64}$/.test(hex)) return false;
    this.record.write(hex, 0, 32, 'hex');
    this.record[32] = sealed ? 1 : 0;
    return true;
  }
}
