/**
 * The action as GitHub runs it (node dist/index.js) with `storage-files: true`: the files are stored
 * beside the backup in the s3 destination, the job summary shows the manifest's counts, the output
 * names the manifest, and the Storage secret key is masked and never shown.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction } from '../helpers/action.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';
import { BACKUP_BUCKET, startBackupBucket, startProject, type BackupBucket, type Project } from '../helpers/storage-files.js';

describe('action: storage-files', () => {
  let supabase: SupabaseCluster;
  let source: Project;
  let bucket: BackupBucket;

  beforeAll(async () => {
    supabase = await startSupabaseCluster();
    source = await startProject(supabase, 'action_files', 'source');
    bucket = await startBackupBucket();
    await source.put('avatars', 'alice/a.png', randomBytes(5_000), { contentType: 'image/png' });
    await source.put('avatars', 'bob/b.png', randomBytes(7_000), { contentType: 'image/png' });
  });
  afterAll(async () => {
    await source?.stop();
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
  });
});
