/**
 * The whole path of Storage files: `runBackup` with `storage-files: true` (the file list read in the
 * backup's own snapshot, the files stored beside it in the s3 destination's bucket), the SQL file
 * restored into a fresh project, then `restore --storage-files` (cli/files.ts): every file read back
 * from the target's Storage and hashed, and a bucket with MIME and size limits restored intact.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/pipeline.js';
import { restoreFilesAfterSql } from '../../src/cli/files.js';
import { parseConfig } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import { parseDatabase } from '../../src/postgres/connection.js';
import { restoreBackup } from '../../src/restore/restore.js';
import { summaryMarkdown } from '../../src/action/report.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';
import { BACKUP_BUCKET, sha256, startBackupBucket, startProject, type BackupBucket, type Project } from '../helpers/storage-files.js';

function listLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warning: (m) => lines.push(`warning: ${m}`), secret: () => undefined };
}

describe('storage-files: backup with the SQL file, restore into a fresh project', () => {
  let supabase: SupabaseCluster;
  let source: Project;
  let target: Project;
  let bucket: BackupBucket;
  let outputDir: string;
  const content = new Map<string, Buffer>();

  beforeAll(async () => {
    supabase = await startSupabaseCluster();
    // The fixture's used project: its seeded storage.objects rows have no bytes behind them (missing).
    source = await startProject(supabase, 'e2e_src', 'source');
    target = await startProject(supabase, 'e2e_dst', 'target');
    bucket = await startBackupBucket();
    outputDir = await mkdtemp(path.join(tmpdir(), 'files-e2e-'));
    const put = async (b: string, name: string, body: Buffer, contentType: string): Promise<void> => {
      await source.put(b, name, body, { contentType, cacheControl: 'max-age=600', meta: { origin: 'test' } });
      content.set(`${b}/${name}`, body);
    };
    await put('avatars', 'alice/a.png', randomBytes(20_000), 'image/png');
    await put('avatars', 'bob/b.png', randomBytes(1_000), 'image/png');
    // The `private` bucket allows only PNG and JPEG up to 5 MiB: this PDF was uploaded before the limits.
    const limits = await source.query("SELECT allowed_mime_types, file_size_limit FROM storage.buckets WHERE id = 'private'");
    await source.query("UPDATE storage.buckets SET allowed_mime_types = NULL, file_size_limit = NULL WHERE id = 'private'");
    await put('private', '11111111-1111-4111-8111-111111111111/doc.pdf', randomBytes(6 * 1024 * 1024), 'application/pdf');
    await source.query("UPDATE storage.buckets SET allowed_mime_types = $1, file_size_limit = $2 WHERE id = 'private'", [
      limits[0]!.allowed_mime_types,
      limits[0]!.file_size_limit,
    ]);
  });
  afterAll(async () => {
    await source?.stop();
    await target?.stop();
    await bucket?.stop();
    await supabase?.stop();
    if (outputDir) await rm(outputDir, { recursive: true, force: true });
  });

  it('backs the files up with the SQL file and restores both; every file hashes to the source', async () => {
    const { server } = source.storage;
    const inputs: Record<string, string> = {
      'database-url': supabase.urlFor('e2e_src'),
      destination: 's3',
      'output-dir': outputDir,
      's3-bucket-url': `s3://${BACKUP_BUCKET}/project`,
      's3-endpoint': bucket.server.endpoint,
      's3-region': bucket.server.region,
      's3-force-path-style': 'true',
      's3-access-key-id': bucket.server.accessKeyId,
      's3-secret-access-key': bucket.server.secretAccessKey,
      'storage-files': 'true',
      'storage-s3-endpoint': server.endpoint,
      'storage-s3-region': server.region,
      'storage-s3-access-key-id': server.accessKeyId,
      'storage-s3-secret-access-key': server.secretAccessKey,
    };
    const log = listLogger();
    const result = await runBackup(parseConfig((name) => inputs[name] ?? ''), log, { installClient: false, storageRetry: { attempts: 2, baseDelayMs: 5 } });
    const seeded = await source.query<{ n: string }>('SELECT count(*) AS n FROM storage.objects');
    const files = result.storageFiles!;
    expect(files.files).toBe(3);
    expect(files.counts).toMatchObject({ stored: 3, reused: 0, changed: 0, unreadableNames: 0 });
    expect(files.counts.missing).toBe(Number(seeded[0]!.n) - 3);
    expect(files.manifest).toBe(`s3://${BACKUP_BUCKET}/project/storage-files/manifests/${result.file}.files.json`);
    expect(log.lines.some((l) => l.startsWith('✅ Storage files: 3 files'))).toBe(true);
    const summary = summaryMarkdown(result, []);
    expect(summary).toContain('### 🗂️ Storage files');
    expect(summary).toMatch(/\| 3 \(.*\) \| 3 \(.*\) \| 0 \| 0 \| \d+ \| 0 \|/);
    // The secrets never reach the log.
    expect(log.lines.join('\n')).not.toContain(server.secretAccessKey);

    await restoreBackup({ file: result.path, target: parseDatabase(supabase.urlFor('e2e_dst')), keys: { identities: [] }, log: listLogger() });
    const restoreLog = listLogger();
    const outcome = await restoreFilesAfterSql({
      backupFile: result.path,
      filesFrom: `s3://${BACKUP_BUCKET}/project`,
      targetUrl: supabase.urlFor('e2e_dst'),
      target: parseDatabase(supabase.urlFor('e2e_dst')),
      endpoint: target.storage.server.endpoint,
      region: target.storage.server.region,
      identities: [],
      passphrase: undefined,
      log: restoreLog,
      env: {
        ...bucket.server.env,
        STORAGE_S3_ACCESS_KEY_ID: target.storage.server.accessKeyId,
        STORAGE_S3_SECRET_ACCESS_KEY: target.storage.server.secretAccessKey,
      },
    });
    expect(outcome).toMatchObject({ restored: 3, mismatches: [] });
    for (const [key, body] of content) {
      const [b, ...rest] = key.split('/');
      const answer = await target.client.send(new GetObjectCommand({ Bucket: b, Key: rest.join('/') }));
      expect(sha256(Buffer.from(await answer.Body!.transformToByteArray())), key).toBe(sha256(body));
      expect(answer.CacheControl).toBe('max-age=600');
    }
    const compare = 'SELECT id::text, bucket_id, name, owner::text, user_metadata FROM storage.objects ORDER BY bucket_id, name';
    expect(await target.query(compare)).toEqual(await source.query(compare));
    const limits = "SELECT id, allowed_mime_types, file_size_limit FROM storage.buckets ORDER BY id";
    expect(await target.query(limits)).toEqual(await source.query(limits));
  });
});
