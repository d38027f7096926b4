/**
 * Memory stays flat whatever the files: the peak RSS of a child process that backs up 5 000 small
 * files, or one large file, against the same child backing up 10 files. Counts are kept modest for a
 * 2-core machine (5 000 files of 1 KiB, one file of 256 MiB; the 100 000 and a few GB take
 * the same code path, only longer). Peak RSS is the kernel's (getrusage ru_maxrss), never a time.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';
import { BACKUP_BUCKET, startBackupBucket, startProject, type BackupBucket, type Project } from '../helpers/storage-files.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MiB = 1024 * 1024;
const SMALL_FILES = 5_000;
const LARGE_FILE = 256 * MiB;

interface ChildReport {
  maxRssKiB: number;
  heapAfterGcKiB: number;
  counts: { stored: number; reused: number; missing: number; bytes: number };
}

describe('Storage files: memory', () => {
  let supabase: SupabaseCluster;
  let many: Project;
  let one: Project;
  let bucket: BackupBucket;

  beforeAll(async () => {
    await run('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT });
    supabase = await startSupabaseCluster();
    many = await startProject(supabase, 'mem_many', 'target');
    one = await startProject(supabase, 'mem_one', 'target');
    bucket = await startBackupBucket();
    await many.query("INSERT INTO storage.buckets (id, name) VALUES ('media', 'media')");
    await one.query("INSERT INTO storage.buckets (id, name) VALUES ('media', 'media')");
  }, 300_000);
  afterAll(async () => {
    await many?.stop();
    await one?.stop();
    await bucket?.stop();
    await supabase?.stop();
  });

  async function backupInChild(project: Project, prefix: string): Promise<ChildReport> {
    const storage = project.storage.server;
    const { stdout } = await run(process.execPath, ['--expose-gc', path.join(ROOT, 'lib', 'test', 'helpers', 'files-memory-child.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        FILES_DB_URL: supabase.urlFor(project.db),
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
      },
      maxBuffer: 1024 * 1024,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildReport;
  }

  const smallFiles = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ name: `small/${String(from + i).padStart(6, '0')}.txt`, bytes: Buffer.concat([Buffer.from(`file ${from + i}\n`), randomBytes(1000)]) }));

  it('peak RSS with 5 000 small files, and with one 256 MiB file, stays near the peak with 10 files', async () => {
    await one.storage.backend.seed('media', smallFiles(0, 10));
    const baseline = await backupInChild(one, 'base/');
    expect(baseline.counts.stored).toBe(10);

    await many.storage.backend.seed('media', smallFiles(0, SMALL_FILES));
    const manyReport = await backupInChild(many, 'many/');
    expect(manyReport.counts).toMatchObject({ stored: SMALL_FILES, missing: 0 });

    async function* random(): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < LARGE_FILE; sent += MiB) yield randomBytes(MiB);
    }
    await one.storage.backend.seedStream('media', 'large.bin', random());
    const large = await backupInChild(one, 'large/');
    expect(large.counts).toMatchObject({ stored: 11, missing: 0 });
    expect(large.counts.bytes).toBeGreaterThan(LARGE_FILE);

    const growth = (report: ChildReport): number => (report.maxRssKiB - baseline.maxRssKiB) / 1024;
    const retained = (report: ChildReport): number => (report.heapAfterGcKiB - baseline.heapAfterGcKiB) / 1024;
    console.log(
      `peak RSS: 10 files ${Math.round(baseline.maxRssKiB / 1024)} MiB; ${SMALL_FILES} files +${growth(manyReport).toFixed(1)} MiB ` +
        `(heap kept after GC +${retained(manyReport).toFixed(1)} MiB); one 256 MiB file +${growth(large).toFixed(1)} MiB`,
    );
    // Flat in file size: the large file passes through stream buffers only.
    expect(growth(large)).toBeLessThan(48);
    // In file count, what stays is the file list and the manifest entries (a few hundred bytes a file);
    // the peak above that is garbage V8 collects lazily.
    expect(retained(manyReport) * 1024 * 1024).toBeLessThan(SMALL_FILES * 2048);
    expect(growth(manyReport)).toBeLessThan(160);
  }, 900_000);
});
