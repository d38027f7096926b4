/**
 * What a backup's Storage files are: the per-backup file manifest (everything a restore needs, encrypted
 * with the backup when encryption is on) and the per-backup index (always plain: what the next run and
 * retention need, and nothing that reveals a file's contents or name). Design: docs/storage-files.md.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { StorageObjectRow } from './objects.js';

export const MANIFEST_FORMAT = 'supabase-complete-backup/storage-files/v1';

/** How blobs are named: by their content's sha256 (plain stores), or by the row version they hold (encrypted). */
export type BlobNaming = 'sha256' | 'row';

/** A file stored (now or by an earlier backup) whose bytes match the snapshot's row. */
export interface FileEntry {
  bucket: string;
  name: string;
  id: string;
  version: string | null;
  size: number;
  sha256: string;
  eTag: string | null;
  contentType: string | null;
  cacheControl: string | null;
  /** JSON text of the row's user_metadata (put back by SQL on restore). */
  userMetadata: string | null;
  /** The blob's name in the store (…/storage-files/blobs/<blob>). */
  blob: string;
  /** `stored` by this backup, or `reused` from an earlier one. */
  origin: 'stored' | 'reused';
}

export type SkipReason = 'changed' | 'missing' | 'unreadable-name';

/** A row whose bytes this backup does not hold, and why (never silent). */
export interface SkippedFile {
  bucket: string;
  name: string;
  id: string;
  version: string | null;
  reason: SkipReason;
  detail: string;
}

export interface FileCounts {
  stored: number;
  reused: number;
  changed: number;
  missing: number;
  unreadableNames: number;
  /** Bytes of the files this backup holds (stored + reused). */
  bytes: number;
  /** Bytes downloaded and stored by this run. */
  storedBytes: number;
}

/**
 * A manifest's fields besides its lists. In the store, the document is this head followed by the lists
 * `files` (FileEntry, in the order the files were done) and `skipped` (SkippedFile); it is written and
 * read an entry at a time (jsonfiles.ts), never held whole.
 */
export interface ManifestHead {
  format: typeof MANIFEST_FORMAT;
  /** The SQL backup file these files go with. */
  backup: string;
  snapshot: string;
  createdAt: string;
  blobNaming: BlobNaming;
  /** Which key the blobs are sealed for (fingerprint), or null when plain. */
  encryption: string | null;
  counts: FileCounts;
}

/** One line of the plain index: a row version's key, its blob, and its content digest (sealed when encrypted). */
export interface IndexEntry {
  /** rowKey(): names no file to someone without the database. */
  k: string;
  b: string;
  /** sha256 of the content: plain, or sealed with a key derived from the row (sealDigest). */
  d: string;
  s: number;
}

/** An index's fields besides its list `entries` (IndexEntry). */
export interface IndexHead {
  format: typeof MANIFEST_FORMAT;
  backup: string;
  createdAt: string;
  blobNaming: BlobNaming;
  encryption: string | null;
}

/** The counts of a manifest, kept as its entries are written. */
export class FileTally {
  readonly counts: FileCounts = { stored: 0, reused: 0, changed: 0, missing: 0, unreadableNames: 0, bytes: 0, storedBytes: 0 };

  file(entry: FileEntry): void {
    this.counts.bytes += entry.size;
    if (entry.origin === 'stored') {
      this.counts.stored++;
      this.counts.storedBytes += entry.size;
    } else this.counts.reused++;
  }

  skip(skipped: SkippedFile): void {
    if (skipped.reason === 'changed') this.counts.changed++;
    else if (skipped.reason === 'missing') this.counts.missing++;
    else this.counts.unreadableNames++;
  }

  get files(): number {
    return this.counts.stored + this.counts.reused;
  }
}

/** The identity of one version of one file: the same bytes for as long as these stay the same. */
function rowIdentity(row: Pick<StorageObjectRow, 'bucket' | 'name' | 'id' | 'version' | 'eTag' | 'size'>): string {
  return JSON.stringify([MANIFEST_FORMAT, row.bucket, row.name, row.id, row.version, row.eTag, row.size]);
}

/**
 * The key of a row version in the index. It hashes the row's random ids (uuid v4 id and version), so
 * someone holding only the store can neither tell which file it is nor test a guess of its contents.
 */
export function rowKey(row: Pick<StorageObjectRow, 'bucket' | 'name' | 'id' | 'version' | 'eTag' | 'size'>): string {
  return createHash('sha256').update(rowIdentity(row)).digest('hex');
}

function digestKey(row: Pick<StorageObjectRow, 'bucket' | 'name' | 'id' | 'version' | 'eTag' | 'size'>): Buffer {
  return Buffer.from(hkdfSync('sha256', rowIdentity(row), 'supabase-complete-backup/storage-files', 'digest', 32));
}

/**
 * A content sha256 sealed (AES-256-GCM) under a key derived from the row version: the next run, which
 * reads that row in its snapshot, can open it without any secret; the store alone cannot.
 */
export function sealDigest(row: Pick<StorageObjectRow, 'bucket' | 'name' | 'id' | 'version' | 'eTag' | 'size'>, sha256: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', digestKey(row), iv);
  const body = Buffer.concat([cipher.update(Buffer.from(sha256, 'hex')), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The sha256 sealed by sealDigest, or null when the box was not made for this row version. */
export function openDigest(row: Pick<StorageObjectRow, 'bucket' | 'name' | 'id' | 'version' | 'eTag' | 'size'>, box: string): string | null {
  try {
    const raw = Buffer.from(box, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', digestKey(row), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
    return plain.length === 32 ? plain.toString('hex') : null;
  } catch {
    return null;
  }
}

/** A file's line in the index: what the next run looks it up by, and what retention keeps. */
export function indexEntryOf(file: FileEntry, sealed: boolean): IndexEntry {
  return { k: rowKey(file), b: file.blob, d: sealed ? sealDigest(file, file.sha256) : file.sha256, s: file.size };
}

/** A file's index entry from a previous backup, when this snapshot's row is the same version: its blob and sha256. */
export interface PreviousCopy {
  blob: string;
  sha256: string;
  size: number;
}

/** Throws unless a document read from the store is one of this tool's (its `format` field). */
export function checkFormat(format: unknown, what: 'manifest' | 'index'): void {
  if (format !== MANIFEST_FORMAT) throw new Error(`not a storage files ${what} of this tool (format ${String(format)})`);
}
