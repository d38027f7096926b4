/**
 * Storage-files tests: a Supabase-shaped project database whose `storage.objects` rows point at real
 * bytes served by the Storage stand-in, a backup bucket on a second S3 stand-in, and the clients.
 */
import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/s3/index.js';
import { S3Remote, type Remote } from '../../src/storage/remote.js';
import { startS3Server, type S3Server } from './s3/server.js';
import { startStorageServer, type StorageServer } from './storage-s3.js';
import type { SupabaseCluster } from './supabase.js';

export const BACKUP_BUCKET = 'backups';

export function clientOf(server: S3Server): S3Client {
  return createS3Client({
    endpoint: server.endpoint,
    region: server.region,
    regionGiven: true,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    maxAttempts: 1,
  });
}

export const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

export interface Project {
  db: string;
  storage: StorageServer;
  client: S3Client;
  remote: Remote;
  /** Uploads through Storage's S3 protocol, as an app would. */
  put(bucket: string, name: string, body: Buffer | string, options?: { contentType?: string; cacheControl?: string; meta?: Record<string, string> }): Promise<void>;
  /** Deletes the bytes of a row's current version (the row stays): a row whose file is missing. */
  loseBytes(bucket: string, name: string): Promise<void>;
  query<R extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

export async function startProject(supabase: SupabaseCluster, db: string, kind: 'source' | 'target'): Promise<Project> {
  if (kind === 'source') await supabase.createSource(db);
  else await supabase.createTarget(db);
  const storage = await startStorageServer(supabase.cluster, db);
  const client = clientOf(storage.server);
  const query = <R extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> =>
    supabase.cluster.query<R>(sql, { db, params });
  return {
    db,
    storage,
    client,
    remote: new S3Remote(client),
    async put(bucket, name, body, options = {}) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: name,
          Body: body,
          ...(options.contentType ? { ContentType: options.contentType } : {}),
          ...(options.cacheControl ? { CacheControl: options.cacheControl } : {}),
          ...(options.meta ? { Metadata: options.meta } : {}),
        }),
      );
    },
    async loseBytes(bucket, name) {
      const [row] = await query<{ version: string }>('SELECT version FROM storage.objects WHERE bucket_id = $1 AND name = $2', [bucket, name]);
      await unlink(storage.backend.fileOf(bucket, name, row!.version));
    },
    query,
    async stop() {
      client.destroy();
      await storage.stop();
    },
  };
}

export interface BackupBucket {
  server: S3Server;
  client: S3Client;
  remote: Remote;
  keys(prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startBackupBucket(): Promise<BackupBucket> {
  const server = await startS3Server({ buckets: [BACKUP_BUCKET] });
  const client = clientOf(server);
  return {
    server,
    client,
    remote: new S3Remote(client),
    keys: async (prefix = '') => (await server.objects(BACKUP_BUCKET)).map((o) => o.key).filter((k) => k.startsWith(prefix)),
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}

/** The environment test/helpers/files-memory-child.ts reads: the project's database and Storage, the backup bucket. */
export function filesChildEnv(project: Project, bucket: BackupBucket, databaseUrl: string, prefix: string): NodeJS.ProcessEnv {
  const storage = project.storage.server;
  return {
    FILES_DB_URL: databaseUrl,
    STORAGE_ENDPOINT: storage.endpoint,
    STORAGE_REGION: storage.region,
    STORAGE_KEY_ID: storage.accessKeyId,
    STORAGE_SECRET: storage.secretAccessKey,
    BACKUP_ENDPOINT: bucket.server.endpoint,
    BACKUP_REGION: bucket.server.region,
    BACKUP_KEY_ID: bucket.server.accessKeyId,
    BACKUP_SECRET: bucket.server.secretAccessKey,
    BACKUP_BUCKET,
    BACKUP_PREFIX: prefix,
  };
}
