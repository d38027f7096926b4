/**
 * Child process of test/storage/files-memory.test.ts (run compiled, from lib/): one Storage-files backup
 * of the project database in FILES_DB_URL through the Storage stand-in, into the backup bucket, then
 * prints its peak RSS, CPU time and the manifest's counts as one JSON line. Settings come from the environment.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSnapshot } from '../../src/backup/snapshot.js';
import { parseDatabaseUrl } from '../../src/postgres/connection.js';
import { createS3Client } from '../../src/s3/index.js';
import { backupFiles } from '../../src/storage/backup.js';
import { readObjectRows } from '../../src/storage/objects.js';
import { S3Remote } from '../../src/storage/remote.js';
import { FileStore } from '../../src/storage/store.js';

function clientFor(prefix: string) {
  const env = (name: string): string => process.env[`${prefix}_${name}`] ?? '';
  return createS3Client({
    endpoint: env('ENDPOINT'),
    region: env('REGION'),
    regionGiven: true,
    forcePathStyle: true,
    credentials: { accessKeyId: env('KEY_ID'), secretAccessKey: env('SECRET') },
    maxAttempts: 1,
  });
}

/** At every progress line (each 1 000 files), the memory in use: it grows only if something is kept per file. */
const liveSamplesKiB: number[] = [];

/**
 * The JS heap in use right after a full collection (run with --expose-gc), in KiB: what a row or a
 * manifest entry kept per file would grow. Buffers are left out: those of the transfers in flight make
 * the samples differ by a MiB or two whatever the count.
 */
function liveKiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().heapUsed / 1024);
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'files-memory-'));
  const source = clientFor('STORAGE');
  const bucket = clientFor('BACKUP');
  try {
    const snapshot = await openSnapshot(parseDatabaseUrl(process.env.FILES_DB_URL ?? ''));
    let rows;
    try {
      rows = await readObjectRows(snapshot.client, work);
    } finally {
      await snapshot.release();
    }
    const { manifest } = await backupFiles({
      rows,
      source: new S3Remote(source),
      store: new FileStore(new S3Remote(bucket), process.env.BACKUP_BUCKET ?? '', process.env.BACKUP_PREFIX ?? ''),
      sealing: null,
      backup: `full_${new Date().toISOString().replace(/[:.]/g, '-')}_00000000.sql`,
      snapshotId: snapshot.id,
      createdAt: new Date(),
      work,
      log: { info: (line) => void (line.startsWith('⏳') && liveSamplesKiB.push(liveKiB())), warning: () => undefined, secret: () => undefined },
    });
    // What stays reachable, apart from garbage V8 had not collected yet.
    const heapAfterGcKiB = liveKiB();
    const { heapUsed, external, arrayBuffers } = process.memoryUsage();
    const endKiB = { heap: Math.round(heapUsed / 1024), external: Math.round(external / 1024), arrayBuffers: Math.round(arrayBuffers / 1024) };
    const usage = process.resourceUsage();
    const cpuUs = usage.userCPUTime + usage.systemCPUTime;
    process.stdout.write(`${JSON.stringify({ maxRssKiB: usage.maxRSS, heapAfterGcKiB, endKiB, liveSamplesKiB, cpuUs, counts: manifest.counts })}\n`);
  } finally {
    source.destroy();
    bucket.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
