/**
 * Memory stays flat whatever the files: a child process backs up 5 000 small files (then again,
 * incrementally), 500 small files, and one large file; the memory in use after a full collection is
 * sampled every 1 000 files and must not grow with the count, and the peak RSS with 5 000 files must stay
 * near the peak with 500. The scales (100 000 files, a few GB) take the same code path, longer:
 * bench/files-memory.ts measures them (docs/storage-files.md, "Memory"). Peak RSS is the kernel's
 * (getrusage ru_maxrss), never a time.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';
import { filesChildEnv, startBackupBucket, startProject, type BackupBucket, type Project } from '../helpers/storage-files.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MiB = 1024 * 1024;
const SMALL_FILES = 5_000;
const FEW_FILES = 500;
const LARGE_FILE = 256 * MiB;

interface ChildReport {
  maxRssKiB: number;
  heapAfterGcKiB: number;
  /** JS heap after a full collection, at every 1 000 files done. */
  liveSamplesKiB: number[];
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
    const { stdout } = await run(process.execPath, ['--expose-gc', path.join(ROOT, 'lib', 'test', 'helpers', 'files-memory-child.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...filesChildEnv(project, bucket, supabase.urlFor(project.db), prefix),
      },
      maxBuffer: 1024 * 1024,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildReport;
  }

  // Long names and 1 KiB of user_metadata: anything kept per file (a row, a manifest entry) costs 2 KB or more.
  const smallFiles = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({
      name: `small/${'n'.repeat(200)}-${String(from + i).padStart(6, '0')}.txt`,
      bytes: Buffer.concat([Buffer.from(`file ${from + i}\n`), randomBytes(1000)]),
    }));
  const withUserMetadata = (project: Project) =>
    project.query(`UPDATE storage.objects SET user_metadata = jsonb_build_object('note', repeat('m', 1000) || name)`);

  it('the memory in use does not grow with the file count; peak RSS with 5 000 small files stays near the peak with 500, and with one 256 MiB file too', async () => {
    await one.storage.backend.seed('media', smallFiles(0, FEW_FILES));
    await withUserMetadata(one);
    const baseline = await backupInChild(one, 'base/');
    expect(baseline.counts.stored).toBe(FEW_FILES);

    await many.storage.backend.seed('media', smallFiles(0, SMALL_FILES));
    await withUserMetadata(many);
    const manyReport = await backupInChild(many, 'many/');
    expect(manyReport.counts).toMatchObject({ stored: SMALL_FILES, missing: 0 });
    const incremental = await backupInChild(many, 'many/');
    expect(incremental.counts).toMatchObject({ stored: 0, reused: SMALL_FILES });

    async function* random(): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < LARGE_FILE; sent += MiB) yield randomBytes(MiB);
    }
    await one.storage.backend.seedStream('media', 'large.bin', random());
    const large = await backupInChild(one, 'large/');
    expect(large.counts).toMatchObject({ stored: FEW_FILES + 1, missing: 0 });
    expect(large.counts.bytes).toBeGreaterThan(LARGE_FILE);

    const growth = (report: ChildReport): number => (report.maxRssKiB - baseline.maxRssKiB) / 1024;
    // From the first two progress lines (1 000 and 2 000 files done) to the last two (4 000 and 5 000): what
    // is kept per file, apart from the buffers in flight at each sample (±1 MiB).
    const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
    const kept = (report: ChildReport): number => (mean(report.liveSamplesKiB.slice(-2)) - mean(report.liveSamplesKiB.slice(0, 2))) / 1024;
    console.log(
      `peak RSS: ${FEW_FILES} files ${Math.round(baseline.maxRssKiB / 1024)} MiB; ${SMALL_FILES} files +${growth(manyReport).toFixed(1)} MiB ` +
        `(in use from 1 000-2 000 to 4 000-5 000 files ${kept(manyReport) >= 0 ? '+' : ''}${kept(manyReport).toFixed(2)} MiB; incremental ` +
        `${kept(incremental) >= 0 ? '+' : ''}${kept(incremental).toFixed(2)} MiB, peak ${growth(incremental).toFixed(1)}); one 256 MiB file +${growth(large).toFixed(1)} MiB`,
    );
    expect(manyReport.liveSamplesKiB).toHaveLength(SMALL_FILES / 1000);
    // Flat in count: less than 3 MiB over 3 000 files, where keeping each file's manifest entry costs
    // about 2 KB a file here, 6 MB (measured). The samples differ by up to ~1 MiB without any growth (the
    // lists' write buffers), so this catches what is kept per file above ~1 KB; the previous index's
    // compact record (44 bytes) is measured by the bench.
    expect(kept(manyReport)).toBeLessThan(3);
    expect(kept(incremental)).toBeLessThan(3);
    // The peak: what V8 lets garbage grow to, not ten times more with ten times the files.
    expect(growth(manyReport)).toBeLessThan(48);
    expect(growth(incremental)).toBeLessThan(48);
    // Flat in file size: the large file passes through stream buffers only.
    expect(growth(large)).toBeLessThan(48);
  }, 900_000);
});
