/**
 * The Storage files a backup holds, read from `storage.objects` inside the backup's own exported
 * snapshot: the same rows the SQL file restores, never a live listing (which would already be newer).
 */
import path from 'node:path';
import type pg from 'pg';
import { JsonLinesFile, fileLines } from './jsonfiles.js';

/** One `storage.objects` row as the snapshot shows it: what a file's bytes must match. */
export interface StorageObjectRow {
  bucket: string;
  name: string;
  id: string;
  /** Storage's version of the bytes (a new uuid on every upload); NULL on rows inserted by hand. */
  version: string | null;
  /** `metadata->>'eTag'`, quoted as Storage writes it (`"<md5>"`, or `"<md5>-<parts>"`). */
  eTag: string | null;
  size: number | null;
  contentType: string | null;
  cacheControl: string | null;
  /** `user_metadata` as JSON text (NULL when the row has none). */
  userMetadata: string | null;
}

/**
 * The file list of a snapshot, on disk: one row a line (JSON) in the run's private work directory, so
 * that a project with 100 000 files costs disk, not memory, until the downloads read it back.
 */
export interface ObjectList {
  file: string;
  count: number;
  /** The bytes the rows' sizes add up to (a row without a size counts 0). */
  bytes: number;
}

/** Rows fetched per round trip: a project with 100 000 files is read in pieces, not in one result. */
const FETCH_ROWS = 5_000;

interface RawRow {
  bucket_id: string | null;
  name: string | null;
  id: string;
  version: string | null;
  etag: string | null;
  size: string | null;
  mimetype: string | null;
  cache_control: string | null;
  user_metadata: string | null;
}

/**
 * Every file row of `storage.objects` in the snapshot held by `client` (its REPEATABLE READ transaction),
 * in bucket and name order, written to `<dir>/objects.jsonl` a batch at a time. Rows without a bucket or
 * a name (folder placeholders never have bytes) are left out.
 */
export async function readObjectRows(client: pg.Client, dir: string): Promise<ObjectList> {
  const list = await JsonLinesFile.create(path.join(dir, 'objects.jsonl'));
  let bytes = 0;
  try {
    const exists = await client.query<{ found: boolean }>(
      "SELECT pg_catalog.to_regclass('storage.objects') IS NOT NULL AS found",
    );
    if (exists.rows[0]?.found) bytes = await fetchRowsInto(client, list);
  } finally {
    await list.close();
  }
  return { file: list.path, count: list.count, bytes };
}

/** Writes the rows into `list`; returns the bytes their sizes add up to. */
async function fetchRowsInto(client: pg.Client, list: JsonLinesFile): Promise<number> {
  let bytes = 0;
  const cursor = 'supabase_backup_storage_objects';
  await client.query(
    `DECLARE ${cursor} NO SCROLL CURSOR FOR
       SELECT bucket_id, name, id::text AS id, version,
              metadata->>'eTag' AS etag, metadata->>'size' AS size, metadata->>'mimetype' AS mimetype,
              metadata->>'cacheControl' AS cache_control, user_metadata::text AS user_metadata
         FROM storage.objects
        WHERE bucket_id IS NOT NULL AND name IS NOT NULL
        ORDER BY bucket_id COLLATE "C", name COLLATE "C"`,
  );
  try {
    for (;;) {
      const batch = await client.query<RawRow>(`FETCH ${FETCH_ROWS} FROM ${cursor}`);
      for (const raw of batch.rows) {
        const row = toObjectRow(raw);
        bytes += row.size ?? 0;
        void list.append(row);
      }
      await list.flush();
      if (batch.rows.length < FETCH_ROWS) break;
    }
  } finally {
    await client.query(`CLOSE ${cursor}`);
  }
  return bytes;
}

/** The rows of a file list, read back one at a time. */
export async function* objectRows(list: ObjectList): AsyncGenerator<StorageObjectRow> {
  for await (const line of fileLines(list.file)) yield JSON.parse(line) as StorageObjectRow;
}

function toObjectRow(raw: RawRow): StorageObjectRow {
  const size = raw.size === null ? null : Number(raw.size);
  return {
    bucket: raw.bucket_id ?? '',
    name: raw.name ?? '',
    id: raw.id,
    version: raw.version,
    eTag: raw.etag,
    size: size !== null && Number.isSafeInteger(size) && size >= 0 ? size : null,
    contentType: raw.mimetype,
    cacheControl: raw.cache_control,
    userMetadata: raw.user_metadata,
  };
}
