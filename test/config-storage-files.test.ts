/** The storage-files inputs: off by default, the Storage S3 endpoint and region derived from the database URL. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';

const POOLER = 'postgresql://postgres.abcdefghijklmnopqrst:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres';

function configWith(inputs: Record<string, string>) {
  return parseConfig((name) => inputs[name] ?? '');
}

const files = {
  'database-url': POOLER,
  destination: 's3',
  's3-bucket-url': 's3://backups/db',
  'storage-files': 'true',
  'storage-s3-access-key-id': 'key-id',
  'storage-s3-secret-access-key': 'secret',
};

describe('storage-files inputs', () => {
  it('are off by default', () => {
    expect(configWith({ 'database-url': POOLER }).storageFiles).toBeUndefined();
  });

  it("derive Storage's S3 endpoint from the pooler user's project ref and the region from the pooler host", () => {
    expect(configWith(files).storageFiles).toEqual({
      endpoint: 'https://abcdefghijklmnopqrst.storage.supabase.co/storage/v1/s3',
      region: 'eu-central-1',
      accessKeyId: 'key-id',
      secretAccessKey: 'secret',
      artifactLimitBytes: 1024 ** 3,
    });
  });

  it('go into the artifact without s3, up to storage-files-artifact-limit (1 GB unless given, 1024-based units)', () => {
    const artifact = { ...files, destination: 'artifact', 's3-bucket-url': '' };
    expect(configWith(artifact).storageFiles?.artifactLimitBytes).toBe(1024 ** 3);
    expect(configWith({ ...artifact, 'storage-files-artifact-limit': '500MB' }).storageFiles?.artifactLimitBytes).toBe(500 * 1024 ** 2);
    expect(configWith({ ...artifact, 'storage-files-artifact-limit': '1.5 GiB' }).storageFiles?.artifactLimitBytes).toBe(1.5 * 1024 ** 3);
    expect(configWith({ ...artifact, 'storage-files-artifact-limit': '2097152' }).storageFiles?.artifactLimitBytes).toBe(2 * 1024 ** 2);
    for (const bad of ['lots', '-1GB', '1e9', '100KB', '2 PB']) {
      expect(() => configWith({ ...artifact, 'storage-files-artifact-limit': bad }), bad).toThrow(/storage-files-artifact-limit/);
    }
  });

  it('take the project ref from a direct host too, and given values over derived ones', () => {
    const direct = configWith({ ...files, 'database-url': 'postgresql://postgres:pw@db.zyxwvutsrqponmlkjihg.supabase.co:5432/postgres', 'storage-s3-region': 'us-east-1' });
    expect(direct.storageFiles?.endpoint).toBe('https://zyxwvutsrqponmlkjihg.storage.supabase.co/storage/v1/s3');
    const given = configWith({ ...files, 'storage-s3-endpoint': 'http://127.0.0.1:9000/storage/v1/s3', 'storage-s3-region': 'local' });
    expect(given.storageFiles).toMatchObject({ endpoint: 'http://127.0.0.1:9000/storage/v1/s3', region: 'local' });
  });

  it('refuse what cannot work, naming the input', () => {
    expect(() => configWith({ ...files, destination: 'branch' })).toThrow(/add s3 or artifact to 'destination'/);
    expect(() => configWith({ ...files, destination: 'none' })).toThrow(/add s3 or artifact to 'destination'/);
    expect(() => configWith({ ...files, 'database-url': 'postgresql://postgres:pw@localhost:5432/postgres' })).toThrow(/storage-s3-endpoint/);
    expect(() => configWith({ ...files, 'storage-s3-secret-access-key': '' })).toThrow(/storage-s3-secret-access-key/);
    expect(() => configWith({ ...files, 'storage-files': 'maybe' })).toThrow(ConfigError);
  });
});
