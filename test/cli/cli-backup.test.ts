/** `supabase-complete-backup backup`: a --destination it cannot honour is refused, before connecting. */
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/action.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');

describe('backup --destination', () => {
  it.each(['artifact', 'branch', 'artifact,branch', 's3'])('%s: refused with what the CLI does instead, nothing connected', async (destination) => {
    const result = await execa('node', [CLI, 'backup', '--destination', destination, '--s3-bucket-url', 's3://my-backups/db'], {
      reject: false,
      all: true,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: 'postgresql://postgres:x@127.0.0.1:9/postgres' },
      extendEnv: false,
    });
    expect(result.exitCode).toBe(2);
    expect(String(result.all)).toContain(`--destination ${destination}: the command line writes the backup to --output-dir only`);
    expect(String(result.all)).not.toMatch(/connect|ECONNREFUSED/i);
  });
});
