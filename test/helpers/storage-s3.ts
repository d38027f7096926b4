/**
 * A stand-in for Supabase Storage's S3 protocol (shared/storage-s3-reference.md), on the generic S3
 * stand-in (helpers/s3/server.ts): rows in the project database's `storage.objects`, bytes in a temp
 * directory under bucket/name/version. What it does to the rows follows the reference:
 *   - PutObject upserts: a new row (new id, owner NULL) or the existing one (keeps id, owner, owner_id,
 *     created_at); a new `version`; `metadata` replaced with {eTag (quoted md5), size, mimetype (default
 *     application/octet-stream), cacheControl (default no-cache), lastModified, contentLength,
 *     httpStatusCode}; `user_metadata` replaced with the x-amz-meta-* headers (lower-cased), `{}` if none;
 *     the old version's bytes deleted;
 *   - the bucket's `allowed_mime_types` (415) and `file_size_limit` (413) are enforced on every upload;
 *   - names outside Storage's allowed characters give 400 InvalidKey on PUT, GET and HEAD;
 *   - GET of a row whose bytes are missing gives 500; HEAD answers from the row;
 *   - If-Match is ignored (the generic server ignores conditions); ListObjectsV2 pages at most 1000.
 */
import { randomUUID, createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import pg from 'pg';
import type { Cluster } from './cluster.js';
import { S3Fault, startS3Server, type ObjectBackend, type ObjectInfo, type S3Server } from './s3/server.js';

/** Storage's allowed object-name characters (the reference's list). */
const ALLOWED_KEY = /^[A-Za-z0-9_/!.*'() &$=@;:+,?-]+$/;

interface ObjectRow {
  name: string;
  version: string | null;
  metadata: Record<string, unknown> | null;
  user_metadata: Record<string, unknown> | null;
  updated_at: Date;
}

export class StorageBackend implements ObjectBackend {
  /** Test hook: runs once before the first GET/HEAD of `bucket/key` is answered (e.g. to overwrite it). */
  readonly beforeFirstAccess = new Map<string, () => Promise<void>>();

  constructor(
    private readonly db: pg.Pool,
    private readonly root: string,
  ) {}

  async createBucket(bucket: string): Promise<void> {
    await this.db.query('INSERT INTO storage.buckets (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [bucket]);
  }

  async bucketExists(bucket: string): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM storage.buckets WHERE id = $1', [bucket]);
    return rows.length > 0;
  }

  async deleteBucket(bucket: string): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM storage.objects WHERE bucket_id = $1 LIMIT 1', [bucket]);
    if (rows.length > 0) return false;
    await this.inDeleteTransaction((tx) => tx.query('DELETE FROM storage.buckets WHERE id = $1', [bucket]));
    return true;
  }

  async listBuckets(): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>('SELECT id FROM storage.buckets ORDER BY id COLLATE "C"');
    return rows.map((r) => r.id);
  }

  async put(bucket: string, stagedFile: string, info: ObjectInfo): Promise<void> {
    try {
      checkKey(info.key);
      const mimetype = info.contentType === 'binary/octet-stream' ? 'application/octet-stream' : info.contentType;
      await this.checkBucketLimits(bucket, mimetype, info.size);
      const version = randomUUID();
      await mkdir(this.dirOf(bucket, info.key), { recursive: true });
      await rename(stagedFile, this.fileOf(bucket, info.key, version));
      const metadata = {
        eTag: info.etag,
        size: info.size,
        mimetype,
        cacheControl: info.cacheControl ?? 'no-cache',
        lastModified: info.lastModified.toISOString(),
        contentLength: info.size,
        httpStatusCode: 200,
      };
      const old = await this.upsertRow(bucket, info.key, version, metadata, info.metadata);
      if (old && old !== version) await rm(this.fileOf(bucket, info.key, old), { force: true });
    } finally {
      await rm(stagedFile, { force: true });
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    checkKey(key);
    const hook = this.beforeFirstAccess.get(`${bucket}/${key}`);
    if (hook) {
      this.beforeFirstAccess.delete(`${bucket}/${key}`);
      await hook();
    }
    const row = await this.row(bucket, key);
    return row ? infoOf(row) : undefined;
  }

  async checkReadable(bucket: string, key: string): Promise<void> {
    const row = await this.row(bucket, key);
    if (!row?.version || !existsSync(this.fileOf(bucket, key, row.version))) {
      throw new S3Fault(500, 'InternalError', 'Internal Server Error');
    }
  }

  read(bucket: string, key: string, start: number, end: number): Readable {
    const out = new PassThrough();
    this.row(bucket, key).then(
      (row) => {
        const file = createReadStream(this.fileOf(bucket, key, row?.version ?? 'none'), { start, end });
        file.on('error', (error) => out.destroy(error));
        file.pipe(out);
      },
      (error: Error) => out.destroy(error),
    );
    return out;
  }

  async delete(bucket: string, key: string): Promise<boolean> {
    const { rowCount } = await this.inDeleteTransaction((tx) =>
      tx.query('DELETE FROM storage.objects WHERE bucket_id = $1 AND name = $2', [bucket, key]),
    );
    await rm(this.dirOf(bucket, key), { recursive: true, force: true });
    return (rowCount ?? 0) > 0;
  }

  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const { rows } = await this.db.query<ObjectRow>(
      `SELECT name, version, metadata, user_metadata, updated_at FROM storage.objects
        WHERE bucket_id = $1 AND starts_with(name, $2) ORDER BY name COLLATE "C"`,
      [bucket, prefix],
    );
    return rows.map(infoOf);
  }

  async close(): Promise<void> {
    await this.db.end().catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }

  /**
   * Many files at once, as if uploaded (rows and bytes written directly, for tests that need thousands):
   * each gets the row PutObject would give it.
   */
  async seed(bucket: string, files: { name: string; bytes: Buffer; contentType?: string }[]): Promise<void> {
    for (let at = 0; at < files.length; at += 1000) {
      const batch = files.slice(at, at + 1000).map((file) => ({ ...file, version: randomUUID() }));
      for (const file of batch) {
        await mkdir(this.dirOf(bucket, file.name), { recursive: true });
        await writeFile(this.fileOf(bucket, file.name, file.version), file.bytes);
      }
      await this.insertRows(bucket, batch.map((f) => ({ name: f.name, version: f.version, size: f.bytes.length, md5: md5(f.bytes), contentType: f.contentType })));
    }
  }

  /** One file streamed from `source` (a large one), with the row PutObject would give it. */
  async seedStream(bucket: string, name: string, source: AsyncIterable<Buffer>): Promise<{ size: number; sha256: string }> {
    const version = randomUUID();
    await mkdir(this.dirOf(bucket, name), { recursive: true });
    const md5Hash = createHash('md5');
    const sha = createHash('sha256');
    let size = 0;
    const out = createWriteStream(this.fileOf(bucket, name, version));
    for await (const chunk of source) {
      md5Hash.update(chunk);
      sha.update(chunk);
      size += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    await this.insertRows(bucket, [{ name, version, size, md5: md5Hash.digest('hex') }]);
    return { size, sha256: sha.digest('hex') };
  }

  private async insertRows(bucket: string, rows: { name: string; version: string; size: number; md5: string; contentType?: string | undefined }[]): Promise<void> {
    const metadata = rows.map((r) =>
      JSON.stringify({
        eTag: `"${r.md5}"`,
        size: r.size,
        mimetype: r.contentType ?? 'application/octet-stream',
        cacheControl: 'no-cache',
        lastModified: new Date().toISOString(),
        contentLength: r.size,
        httpStatusCode: 200,
      }),
    );
    await this.db.query(
      `INSERT INTO storage.objects (bucket_id, name, version, metadata, user_metadata)
       SELECT $1, u.name, u.version, u.metadata::jsonb, '{}' FROM unnest($2::text[], $3::text[], $4::text[]) AS u(name, version, metadata)`,
      [bucket, rows.map((r) => r.name), rows.map((r) => r.version), metadata],
    );
  }

  /** Where a row version's bytes are (tests delete them to make a row whose file is missing). */
  fileOf(bucket: string, key: string, version: string): string {
    return join(this.dirOf(bucket, key), version);
  }

  private dirOf(bucket: string, key: string): string {
    return join(this.root, createHash('sha256').update(`${bucket}\0${key}`).digest('hex'));
  }

  private async row(bucket: string, key: string): Promise<ObjectRow | undefined> {
    const { rows } = await this.db.query<ObjectRow>(
      'SELECT name, version, metadata, user_metadata, updated_at FROM storage.objects WHERE bucket_id = $1 AND name = $2',
      [bucket, key],
    );
    return rows[0];
  }

  private async checkBucketLimits(bucket: string, mimetype: string, size: number): Promise<void> {
    const { rows } = await this.db.query<{ allowed_mime_types: string[] | null; file_size_limit: string | null }>(
      'SELECT allowed_mime_types, file_size_limit::text FROM storage.buckets WHERE id = $1',
      [bucket],
    );
    const limits = rows[0];
    if (!limits) throw new S3Fault(404, 'NoSuchBucket', 'Bucket not found');
    const allowed = limits.allowed_mime_types;
    if (allowed && allowed.length > 0 && !allowed.some((pattern) => mimeMatches(pattern, mimetype))) {
      throw new S3Fault(415, 'InvalidMimeType', `mime type ${mimetype} is not supported`);
    }
    if (limits.file_size_limit !== null && size > Number(limits.file_size_limit)) {
      throw new S3Fault(413, 'EntityTooLarge', 'The object exceeded the maximum allowed size');
    }
  }

  /** The upsert of PutObject, returning the version it replaced. */
  private async upsertRow(
    bucket: string,
    key: string,
    version: string,
    metadata: Record<string, unknown>,
    userMetadata: Record<string, string>,
  ): Promise<string | null> {
    const tx = await this.db.connect();
    await tx.query('BEGIN');
    try {
      const { rows } = await tx.query<{ version: string | null }>(
        'SELECT version FROM storage.objects WHERE bucket_id = $1 AND name = $2 FOR UPDATE',
        [bucket, key],
      );
      await tx.query(
        `INSERT INTO storage.objects (bucket_id, name, version, metadata, user_metadata)
         VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)
         ON CONFLICT (bucket_id, name) DO UPDATE
           SET version = excluded.version, metadata = excluded.metadata, user_metadata = excluded.user_metadata, updated_at = now()`,
        [bucket, key, version, JSON.stringify(metadata), JSON.stringify(userMetadata)],
      );
      await tx.query('COMMIT');
      return rows[0]?.version ?? null;
    } catch (error) {
      await tx.query('ROLLBACK');
      throw error;
    } finally {
      tx.release();
    }
  }

  private async inDeleteTransaction<T>(work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const tx = await this.db.connect();
    await tx.query('BEGIN');
    try {
      await tx.query("SELECT set_config('storage.allow_delete_query', 'true', true)");
      const result = await work(tx);
      await tx.query('COMMIT');
      return result;
    } catch (error) {
      await tx.query('ROLLBACK');
      throw error;
    } finally {
      tx.release();
    }
  }
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

function checkKey(key: string): void {
  if (!ALLOWED_KEY.test(key)) throw new S3Fault(400, 'InvalidKey', `Invalid key: ${key}`);
}

/** `image/*` matches any image type; otherwise the type must be listed. */
function mimeMatches(pattern: string, mimetype: string): boolean {
  return pattern.endsWith('/*') ? mimetype.startsWith(pattern.slice(0, -1)) : pattern === mimetype;
}

function infoOf(row: ObjectRow): ObjectInfo {
  const metadata = row.metadata ?? {};
  const userMetadata = Object.fromEntries(
    Object.entries(row.user_metadata ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
  const cacheControl = typeof metadata.cacheControl === 'string' ? metadata.cacheControl : undefined;
  return {
    key: row.name,
    size: Number(metadata.size ?? 0),
    etag: typeof metadata.eTag === 'string' ? metadata.eTag : '""',
    lastModified: row.updated_at,
    contentType: typeof metadata.mimetype === 'string' ? metadata.mimetype : 'application/octet-stream',
    metadata: userMetadata,
    ...(cacheControl ? { cacheControl } : {}),
  };
}

export interface StorageServer {
  server: S3Server;
  backend: StorageBackend;
  stop(): Promise<void>;
}

/** Storage's S3 protocol for the project database `db` of `cluster` (rows written as the bootstrap superuser). */
export async function startStorageServer(cluster: Cluster, db: string): Promise<StorageServer> {
  const client = new pg.Pool({ host: cluster.socketDir, port: cluster.port, user: cluster.superuser, database: db, max: 4 });
  let backend: StorageBackend | undefined;
  try {
    const server = await startS3Server({
      backend: (dataDir) => (backend = new StorageBackend(client, dataDir)),
    });
    return { server, backend: backend!, stop: () => server.stop() };
  } catch (error) {
    await client.end();
    throw error;
  }
}
