/**
 * The action as GitHub runs it (node dist/index.js) with `storage-files: true`: the files are stored
 * beside the backup in the s3 destination, the job summary shows the manifest's counts, the output
 * names the manifest, and the Storage secret key is masked and never shown.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runAction } from '../helpers/action.js';
import { ACTION_NODE, productEnv } from '../helpers/runtimes.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';
import { BACKUP_BUCKET, sha256, startBackupBucket, startProject, type BackupBucket, type Project } from '../helpers/storage-files.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');

describe('action: storage-files', () => {
  let supabase: SupabaseCluster;
  let source: Project;
  let target: Project;
  let bucket: BackupBucket;
  const content = new Map<string, Buffer>();

  beforeAll(async () => {
    supabase = await startSupabaseCluster();
    source = await startProject(supabase, 'action_files', 'source');
    target = await startProject(supabase, 'action_files_new', 'target');
    bucket = await startBackupBucket();
    for (const name of ['alice/a.png', 'bob/b.png']) {
      content.set(name, randomBytes(5_000));
      await source.put('avatars', name, content.get(name)!, { contentType: 'image/png' });
    }
  });
  afterAll(async () => {
    await source?.stop();
    await target?.stop();
    await bucket?.stop();
    await supabase?.stop();
  });

  it('stores the files with the backup, reports the counts in the summary, and never shows the Storage secret', async () => {
    const storage = source.storage.server;
    const inputs = {
      'database-url': supabase.urlFor('action_files'),
      destination: 's3',
      's3-bucket-url': `s3://${BACKUP_BUCKET}/action`,
      's3-endpoint': bucket.server.endpoint,
      's3-region': bucket.server.region,
      's3-force-path-style': 'true',
      's3-access-key-id': bucket.server.accessKeyId,
      's3-secret-access-key': bucket.server.secretAccessKey,
      'storage-files': 'true',
      'storage-s3-endpoint': storage.endpoint,
      'storage-s3-region': storage.region,
      'storage-s3-access-key-id': storage.accessKeyId,
      'storage-s3-secret-access-key': storage.secretAccessKey,
    };
    const run = await runAction(inputs);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs['storage-files-manifest']).toBe(
      `s3://${BACKUP_BUCKET}/action/storage-files/manifests/${run.outputs['backup-file']}.files.json`,
    );
    expect(run.summary).toContain('### 🗂️ Storage files');
    expect(run.stdout).toMatch(/✅ Storage files: 2 files .*2 stored/);
    expect(run.stdout).toContain(`::add-mask::${storage.secretAccessKey}`);
    expect(run.visible).not.toContain(storage.secretAccessKey);
    const keys = await bucket.keys('action/');
    expect(keys).toContain(`action/${run.outputs['backup-file']}`);
    expect(keys.filter((k) => k.startsWith('action/storage-files/blobs/'))).toHaveLength(2);

    // A second run stores nothing again: both files are reused.
    const again = await runAction(inputs);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 stored .* 2 reused from earlier backups/);

    // Into a new project: the newest backup of the bucket, then its files, with the command line.
    const newStorage = target.storage.server;
    const restored = await execa(
      ACTION_NODE,
      [
        CLI, 'restore', '--s3', `s3://${BACKUP_BUCKET}/action/`, '--s3-endpoint', bucket.server.endpoint, '--s3-force-path-style', 'true',
        '--database-url', supabase.urlFor('action_files_new'),
        '--storage-files', '--storage-s3-endpoint', newStorage.endpoint, '--storage-s3-region', newStorage.region,
      ],
      {
        cwd: ROOT,
        reject: false,
        env: {
          ...productEnv(),
          AWS_ACCESS_KEY_ID: bucket.server.accessKeyId,
          AWS_SECRET_ACCESS_KEY: bucket.server.secretAccessKey,
          AWS_REGION: bucket.server.region,
          STORAGE_S3_ACCESS_KEY_ID: newStorage.accessKeyId,
          STORAGE_S3_SECRET_ACCESS_KEY: newStorage.secretAccessKey,
        },
      },
    );
    expect(restored.exitCode, `${restored.stdout}\n${restored.stderr}`).toBe(0);
    expect(restored.stdout).toContain('2 Storage files restored');
    for (const [name, body] of content) {
      const answer = await target.client.send(new GetObjectCommand({ Bucket: 'avatars', Key: name }));
      expect(sha256(Buffer.from(await answer.Body!.transformToByteArray())), name).toBe(sha256(body));
      expect(answer.ContentType).toBe('image/png');
    }
  });
});
