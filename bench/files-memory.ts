/**
 * Peak RSS of the Storage-files stage at the scales (docs/storage-files.md, "Memory"): for each
 * count N, a project with N small files (1 KiB) in the Storage stand-in, backed up by a child process
 * (test/helpers/files-memory-child.ts) into a backup bucket, then backed up again (incremental: every
 * file reused); with --large-gib G, one file of G GiB. The servers run in this process; the figures are
 * the child's own (getrusage ru_maxrss, CPU time), never a wall-clock time.
 *
 *   npm run build && node lib/bench/files-memory.js --counts 1000,10000,100000 --large-gib 3
 *
 * With --reused N (e.g. 100000), a project of N rows only (no bytes) and a previous index naming every one
 * of them, written here: the child's run reuses every file, so it goes through what is kept per file (the
 * file list, the previous index, the manifest and index written) without N downloads and uploads, which
 * take an hour on a shared 2-core machine. The digests in that index are placeholders (a reused file's
 * bytes are not read).
 *
 * FILES_MEMORY_CHILD names another compiled child (e.g. an older build, for a before/after comparison).
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { MANIFEST_FORMAT, rowKey } from '../src/storage/manifest.js';
import { startSupabaseCluster } from '../test/helpers/supabase.js';
import { BACKUP_BUCKET, filesChildEnv, startBackupBucket, startProject, type BackupBucket, type Project } from '../test/helpers/storage-files.js';

const run = promisify(execFile);
const HERE = import.meta.dirname;
const CHILD = process.env.FILES_MEMORY_CHILD ?? path.join(HERE, '..', 'test', 'helpers', 'files-memory-child.js');
const MiB = 1024 * 1024;

interface ChildReport {
  maxRssKiB: number;
  heapAfterGcKiB: number;
  liveSamplesKiB?: number[];
  cpuUs?: number;
  counts: { stored: number; reused: number; missing: number; bytes: number };
}

async function backupInChild(project: Project, bucket: BackupBucket, urlFor: (db: string) => string, prefix: string): Promise<ChildReport> {
  const { stdout } = await run(process.execPath, ['--expose-gc', CHILD], {
    env: {
      ...process.env,
      ...filesChildEnv(project, bucket, urlFor(project.db), prefix),
    },
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildReport;
}

function describe(label: string, report: ChildReport): string {
  const cpu = report.cpuUs === undefined ? '' : `, CPU ${(report.cpuUs / 1e6).toFixed(1)} s`;
  const samples = report.liveSamplesKiB ?? [];
  const live = samples.length === 0 ? '' : `, live heap+Buffers at each 1 000 files ${(samples[0]! / 1024).toFixed(1)} → ${(samples.at(-1)! / 1024).toFixed(1)} MiB (largest ${(Math.max(...samples) / 1024).toFixed(1)})`;
  if (samples.length > 0) console.log(`${label}: live KiB at each 1 000 files: ${samples.join(", ")}`);
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

/** N rows of 1 000-byte files without bytes, and an index in the bucket that names each of them as stored. */
async function seedReusedFiles(project: Project, bucket: BackupBucket, prefix: string, count: number): Promise<void> {
  await project.query(
    `INSERT INTO storage.objects (bucket_id, name, version, metadata, user_metadata)
     SELECT 'media', 'small/' || lpad(i::text, 7, '0') || '.txt', gen_random_uuid()::text,
            jsonb_build_object('eTag', '"' || md5(i::text) || '"', 'size', 1000, 'mimetype', 'text/plain', 'cacheControl', 'no-cache'), '{}'
       FROM generate_series(0, $1::int - 1) AS i`,
    [count],
  );
  const rows = await project.query<{ bucket: string; name: string; id: string; version: string | null; etag: string | null }>(
    `SELECT bucket_id AS bucket, name, id::text AS id, version, metadata->>'eTag' AS etag FROM storage.objects WHERE bucket_id = 'media'`,
  );
  const lines = rows.map((row) => {
    const digest = createHash('sha256').update(row.name).digest('hex');
    return JSON.stringify({ k: rowKey({ bucket: row.bucket, name: row.name, id: row.id, version: row.version, eTag: row.etag, size: 1000 }), b: digest, d: digest, s: 1000 });
  });
  const head = { format: MANIFEST_FORMAT, backup: 'full_2000-01-01T00-00-00-000Z_00000000.sql', createdAt: new Date(0).toISOString(), blobNaming: 'sha256', encryption: null };
  const text = `${JSON.stringify(head).slice(0, -1)},"entries":[\n${lines.join(',\n')}]}\n`;
  await bucket.remote.putBytes(BACKUP_BUCKET, `${prefix}storage-files/indexes/${head.backup}.index.json`, Buffer.from(text), 'application/json');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { counts: { type: 'string', default: '1000,10000,100000' }, 'large-gib': { type: 'string' }, reused: { type: 'string', default: '' } },
  });
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
    for (const count of values.reused.split(',').filter(Boolean).map(Number)) {
      const project = await startProject(supabase, `bench_reused_${count}`, 'target');
      try {
        await project.query("INSERT INTO storage.buckets (id, name) VALUES ('media', 'media')");
        await seedReusedFiles(project, bucket, `r${count}/`, count);
        const report = await backupInChild(project, bucket, (db) => supabase.urlFor(db), `r${count}/`);
        results[`${count}-reused`] = report;
        console.log(describe(`${count} files, all reused from an index`, report));
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
