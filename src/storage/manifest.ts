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

export interface FileManifest {
  format: typeof MANIFEST_FORMAT;
  /** The SQL backup file these files go with. */
  backup: string;
  snapshot: string;
  createdAt: string;
  blobNaming: BlobNaming;
  /** Which key the blobs are sealed for (fingerprint), or null when plain. */
  encryption: string | null;
  counts: FileCounts;
  files: FileEntry[];
  skipped: SkippedFile[];
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

export interface FileIndex {
  format: typeof MANIFEST_FORMAT;
  backup: string;
  createdAt: string;
  blobNaming: BlobNaming;
  encryption: string | null;
  entries: IndexEntry[];
}

export function countFiles(files: FileEntry[], skipped: SkippedFile[]): FileCounts {
  const stored = files.filter((f) => f.origin === 'stored');
  return {
    stored: stored.length,
    reused: files.length - stored.length,
    changed: skipped.filter((s) => s.reason === 'changed').length,
    missing: skipped.filter((s) => s.reason === 'missing').length,
    unreadableNames: skipped.filter((s) => s.reason === 'unreadable-name').length,
    bytes: files.reduce((sum, f) => sum + f.size, 0),
    storedBytes: stored.reduce((sum, f) => sum + f.size, 0),
  };
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

/** The index lines of a manifest: what the next run looks files up in, and what retention keeps. */
export function indexOf(manifest: FileManifest): FileIndex {
  const sealed = manifest.encryption !== null;
  return {
    format: MANIFEST_FORMAT,
    backup: manifest.backup,
    createdAt: manifest.createdAt,
    blobNaming: manifest.blobNaming,
    encryption: manifest.encryption,
    entries: manifest.files.map((file) => ({
      k: rowKey(file),
      b: file.blob,
      d: sealed ? sealDigest(file, file.sha256) : file.sha256,
      s: file.size,
    })),
  };
}

/** A file's index entry from a previous backup, when this snapshot's row is the same version: its blob and sha256. */
export interface PreviousCopy {
  blob: string;
  sha256: string;
  size: number;
}

/** Looks rows up in a previous index (built once; one Map entry per file). */
export class PreviousIndex {
  private readonly byKey = new Map<string, { entry: IndexEntry; sealed: boolean }>();
  /** The last complete index, then the checkpoints of interrupted runs sealed the same way. */
  constructor(indexes: readonly FileIndex[]) {
    for (const index of indexes) {
      for (const entry of index.entries) this.byKey.set(entry.k, { entry, sealed: index.encryption !== null });
    }
  }

  find(row: StorageObjectRow): PreviousCopy | null {
    const found = this.byKey.get(rowKey(row));
    if (!found) return null;
    const { entry, sealed } = found;
    if (row.size !== null && entry.s !== row.size) return null;
    const sha256 = sealed ? openDigest(row, entry.d) : entry.d;
    return sha256 && /^[0-9a-f]{64}$/.test(sha256) ? { blob: entry.b, sha256, size: entry.s } : null;
  }
}

export function parseIndex(text: string): FileIndex {
  const parsed = JSON.parse(text) as FileIndex;
  if (parsed.format !== MANIFEST_FORMAT || !Array.isArray(parsed.entries)) {
    throw new Error(`not a storage files index of this tool (format ${String(parsed.format)})`);
  }
  return parsed;
}

export function parseManifest(text: string): FileManifest {
  const parsed = JSON.parse(text) as FileManifest;
  if (parsed.format !== MANIFEST_FORMAT || !Array.isArray(parsed.files)) {
    throw new Error(`not a storage files manifest of this tool (format ${String(parsed.format)})`);
  }
  return parsed;
}
