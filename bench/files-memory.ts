/**
 * Peak RSS of the Storage-files stage at the scales (docs/storage-files.md, "Memory"): for each
 * count N, a project with N small files (1 KiB) in the Storage stand-in, backed up by a child process
 * (test/helpers/files-memory-child.ts) into a backup bucket, then backed up again (incremental: every
 * file reused); with --large-gib G, one file of G GiB. The servers run in this process; the figures are
 * the child's own (getrusage ru_maxrss, CPU time), never a wall-clock time.
 *
 *   npm run build && node lib/bench/files-memory.js --counts 1000,10000,100000 --large-gib 3
 *
 * FILES_MEMORY_CHILD names another compiled child (e.g. an older build, for a before/after comparison).
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startSupabaseCluster } from '../test/helpers/supabase.js';
import { BACKUP_BUCKET, startBackupBucket, startProject, type BackupBucket, type Project } from '../test/helpers/storage-files.js';

const run = promisify(execFile);
const HERE = import.meta.dirname;
const CHILD = process.env.FILES_MEMORY_CHILD ?? path.join(HERE, '..', 'test', 'helpers', 'files-memory-child.js');
const MiB = 1024 * 1024;

interface ChildReport {
  maxRssKiB: number;
  heapAfterGcKiB: number;
  maxLiveHeapKiB?: number;
  cpuUs?: number;
  counts: { stored: number; reused: number; missing: number; bytes: number };
}

async function backupInChild(project: Project, bucket: BackupBucket, urlFor: (db: string) => string, prefix: string): Promise<ChildReport> {
  const storage = project.storage.server;
  const { stdout } = await run(process.execPath, ['--expose-gc', CHILD], {
    env: {
      ...process.env,
      FILES_DB_URL: urlFor(project.db),
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

function describe(label: string, report: ChildReport): string {
  const cpu = report.cpuUs === undefined ? '' : `, CPU ${(report.cpuUs / 1e6).toFixed(1)} s`;
  const live = report.maxLiveHeapKiB === undefined ? '' : `, largest live heap ${(report.maxLiveHeapKiB / 1024).toFixed(1)} MiB`;
  return `${label}: peak RSS ${(report.maxRssKiB / 1024).toFixed(1)} MiB${live}, heap kept after GC ${(report.heapAfterGcKiB / 1024).toFixed(1)} MiB${cpu} (${JSON.stringify(report.counts)})`;
}

async function seedSmallFiles(project: Project, count: number): Promise<void> {
  for (let from = 0; from < count; from += 10_000) {
    const batch = Array.from({ length: Math.min(10_000, count - from) }, (_, i) => ({
      name: `small/${String(from + i).padStart(7, '0')}.txt`,
      bytes: Buffer.concat([Buffer.from(`file ${from + i}\n`), randomBytes(1000)]),
    }));
    await project.storage.backend.seed('media', batch);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { counts: { type: 'string', default: '1000,10000,100000' }, 'large-gib': { type: 'string' } } });
  const counts = values.counts.split(',').filter(Boolean).map(Number);
  const supabase = await startSupabaseCluster();
  const bucket = await startBackupBucket();
  const results: Record<string, ChildReport> = {};
  try {
    for (const count of counts) {
      const project = await startProject(supabase, `bench_files_${count}`, 'target');
      try {
        await project.query("INSERT INTO storage.buckets (id, name) VALUES ('media', 'media')");
        await seedSmallFiles(project, count);
        for (const round of ['full', 'incremental']) {
          const report = await backupInChild(project, bucket, (db) => supabase.urlFor(db), `n${count}/`);
          results[`${count}-${round}`] = report;
          console.log(describe(`${count} files, ${round}`, report));
        }
      } finally {
        await project.stop();
      }
    }
    if (values['large-gib']) {
      const bytes = Number(values['large-gib']) * 1024 * MiB;
      const project = await startProject(supabase, 'bench_files_large', 'target');
      try {
        await project.query("INSERT INTO storage.buckets (id, name) VALUES ('media', 'media')");
        const block = randomBytes(MiB);
        async function* generated(): AsyncGenerator<Buffer> {
          for (let sent = 0; sent < bytes; sent += MiB) yield block;
        }
        await project.storage.backend.seedStream('media', 'large.bin', generated());
        const report = await backupInChild(project, bucket, (db) => supabase.urlFor(db), 'large/');
        results[`large-${values['large-gib']}GiB`] = report;
        console.log(describe(`one file of ${values['large-gib']} GiB`, report));
      } finally {
        await project.stop();
      }
    }
  } finally {
    await bucket.stop();
    await supabase.stop();
  }
  console.log(JSON.stringify(results));
}

await main();
