/**
 * `npm run bench:seal [-- --mb 3000 --compression zstd --node /path/to/node24 --file backup.sql]`: the seal
 * stage alone (src/streams/seal.ts: compression, then age to one recipient), with the sha256 of the
 * stored bytes as merge.ts computes it, on a file: a backup of yours (--file) or SQL-like rows made
 * for the run (--mb), shaped like the bench's database (jsonb rows full of hashes, bytea rows as hex of
 * random bytes) and removed afterwards. Each run is a child process of its own (--node picks its
 * runtime: zstd needs Node 22.15+), which reports CPU-seconds per thread kind from /proc (CPU time is
 * what compares on a shared machine; wall time is printed too), throughput and peak RSS. `--plain`
 * also measures reading and hashing the file without the seal, the part that is not the stage.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import type { BackupConfig } from '../src/config.js';
import { sealFor } from '../src/streams/seal.js';

/** CPU-seconds of this process's threads, summed by thread name (main, libuv pool, V8's GC workers …). */
function threadSeconds(): Record<string, number> {
  const ticks = 100; // USER_HZ on Linux
  const seconds: Record<string, number> = {};
  for (const task of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    seconds[name] = (seconds[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticks;
  }
  return seconds;
}

/** The child: reads `file` through the seal stage and prints one JSON line. */
async function measure(file: string, compression: BackupConfig['compression'], encrypt: boolean): Promise<void> {
  const recipient = await identityToRecipient(await generateIdentity());
  const seal = sealFor({ compression, encryption: encrypt ? { kind: 'recipients', recipients: [recipient] } : { kind: 'none' } });
  const before = threadSeconds();
  const started = performance.now();
  const hash = createHash('sha256');
  let stored = 0;
  const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      hash.update(chunk);
      stored += chunk.length;
    }
  };
  // As in merge.ts: pipeline's typings do not cover a spread of stages between a source and a function.
  await (pipeline as (...stages: unknown[]) => Promise<void>)(createReadStream(file, { highWaterMark: 256 * 1024 }), ...(seal?.transforms() ?? []), sink);
  const wall = (performance.now() - started) / 1000;
  const after = threadSeconds();
  const threads = Object.fromEntries(Object.entries(after).map(([name, s]) => [name, +(s - (before[name] ?? 0)).toFixed(2)]));
  const cpu = Object.values(threads).reduce((sum, s) => sum + s, 0);
  const input = statSync(file).size;
  console.log(
    JSON.stringify({
      seal: seal?.description ?? 'none (read and sha256 only)',
      inputMB: Math.round(input / 1e6),
      storedMB: Math.round(stored / 1e6),
      cpuSeconds: +cpu.toFixed(2),
      mbPerCpuSecond: Math.round(input / 1e6 / cpu),
      wallSeconds: +wall.toFixed(2),
      threads,
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

/** About `mb` MB of pg_dump-shaped COPY rows: 40% jsonb rows with hashes, 60% bytea rows of 64 KB as hex. */
function synthesize(file: string, mb: number): void {
  const fd = openSync(file, 'w');
  let batch: string[] = [];
  let batchBytes = 0;
  let written = 0;
  const emit = (text: string): void => {
    batch.push(text);
    batchBytes += text.length;
    if (batchBytes < 1 << 20) return;
    written += writeSync(fd, batch.join(''));
    batch = [];
    batchBytes = 0;
  };
  const h = (bytes: number): string => randomBytes(bytes).toString('hex');
  const target = mb * 1e6;
  emit('COPY public.activity (id, user_id, kind, payload, created_at) FROM stdin;\n');
  for (let i = 1; written < target * 0.4; i++) {
    emit(
      `${i}\t${h(16)}\t${['login', 'purchase', 'view', 'share', 'comment'][i % 5]}\t{"ip": "10.${i % 256}.${(i >> 8) % 256}.${i % 7}", "geo": {"lat": ${(i % 18000) / 100 - 90}, "lon": ${(i % 36000) / 100 - 180}, "city": "Zürich ${i % 50}"}, ` +
        `"path": "/app/items/${i % 10007}?ref=${h(16)}", "tags": ["t${i % 13}", "t${i % 17}", "t${i % 19}", "tag with \\\\"quotes\\\\" & \\\\\\\\ back\\\\\\\\slash"], ` +
        `"agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${100 + (i % 30)}.0 Safari/537.36", ` +
        `"items": [{"qty": ${1 + (i % 5)}, "sku": "SKU-${i % 9973}", "note": "${h(32)}"}, {"qty": ${1 + (i % 3)}, "sku": "SKU-${i % 7919}", "note": "${h(32)}"}], ` +
        `"flags": {"vip": ${i % 11 === 0}, "beta": ${i % 2 === 0}, "score": ${i % 1000}}, "trace": "${h(64)}", "amount": ${(i % 100000) / 4}, ` +
        `"comment": "multi-line\\\\ncomment ${h(16)}\\\\n\\\\ttabbed; -- not a comment", "session": "${h(16)}", "currency": "EUR"}\t2025-01-01 00:00:00+00\n`,
    );
  }
  emit('\\.\n\nCOPY public.attachments (id, owner, name, content_type, data) FROM stdin;\n');
  for (let i = 1; written < target; i++) emit(`${i}\t${h(16)}\tupload-${i}.bin\tapplication/octet-stream\t\\\\x${h(64 * 1024)}\n`);
  emit('\\.\n\n');
  writeSync(fd, batch.join(''));
  closeSync(fd);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      file: { type: 'string' },
      mb: { type: 'string', default: '3000' },
      compression: { type: 'string', default: 'zstd' },
      'no-age': { type: 'boolean', default: false },
      plain: { type: 'boolean', default: false },
      runs: { type: 'string', default: '1' },
      node: { type: 'string', default: process.execPath },
      child: { type: 'boolean', default: false },
    },
  });
  const compression = values.compression as BackupConfig['compression'];
  if (values.child) return measure(values.file!, compression, !values['no-age']);

  const dir = values.file ? undefined : mkdtempSync(path.join(tmpdir(), 'bench-seal-'));
  try {
    const file = values.file ?? path.join(dir!, 'synthetic.sql');
    if (dir) {
      console.log(`making ${values.mb} MB of SQL-like rows in ${file} …`);
      synthesize(file, Number(values.mb));
    }
    const self = fileURLToPath(import.meta.url);
    const child = (args: string[]): void => {
      process.stdout.write(execFileSync(values.node, [self, '--child', '--file', file, ...args], { encoding: 'utf8' }));
    };
    for (let run = 0; run < Number(values.runs); run++) {
      if (values.plain) child(['--compression', 'none', '--no-age']);
      child(['--compression', compression, ...(values['no-age'] ? ['--no-age'] : [])]);
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
