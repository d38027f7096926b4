/**
 * Progress while a backup runs: a line every so often with bytes, rows against the catalog's estimate,
 * rate and time left (a long silent log reads as a hang); on a terminal the CLI shows them in place.
 * Only numbers: no password, URL or name from the database.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/pipeline.js';
import { progressLine } from '../../src/backup/progress.js';
import { parseConfig } from '../../src/config.js';
import { terminalLogger } from '../../src/log.js';
import { findPgTools } from '../../src/postgres/tools.js';
import { pgBinDir } from '../helpers/cluster.js';
import { recordingLogger } from '../helpers/publish.js';
import { POSTGRES_PASSWORD, startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

let supabase: SupabaseCluster;
let work: string;

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  work = await mkdtemp(path.join(tmpdir(), 'progress-'));
});

afterAll(async () => {
  await supabase?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

it('logs progress lines while a slow dump runs, with numbers only', async () => {
  const source = await supabase.createSource('progress_source');
  await supabase.cluster.query('ANALYZE', { db: 'progress_source' });
  // A pg_dump that pauses half way through its output, as a large table over a slow link does.
  const real = (await findPgTools(15, [pgBinDir()]))!;
  const bin = path.join(work, 'bin');
  await mkdir(bin);
  await writeFile(
    path.join(bin, 'pg_dump'),
    `#!/bin/bash\nset -o pipefail\nif [ "$1" = "--version" ]; then exec "${real.pgDump}" --version; fi\n"${real.pgDump}" "$@" | { head -c 4000; sleep 1.5; cat; }\n`,
  );
  await chmod(path.join(bin, 'pg_dump'), 0o755);
  const tools = { ...real, binDir: bin, pgDump: path.join(bin, 'pg_dump') };
  const outputDir = path.join(work, 'out');
  const config = parseConfig((name) => ({ 'database-url': source.url, destination: 'none', 'output-dir': outputDir })[name] ?? '');
  const log = recordingLogger();
  await runBackup(config, log, { findTools: async () => tools, progressEveryMs: 250 });
  const lines = log.all().split('\n').filter((line) => line.startsWith('⏳'));
  expect(lines.length).toBeGreaterThanOrEqual(2);
  for (const line of lines) {
    expect(line).toMatch(/^⏳ [\d.]+ (B|KB|MB|GB) written, [\d,]+ (of ~[\d,]+ rows \(\d+%\)|rows), [\d.]+ (B|KB|MB|GB)\/s/);
    expect(line).not.toContain(POSTGRES_PASSWORD);
    expect(line).not.toContain(source.url);
    expect(line).not.toMatch(/public|auth\.|storage\./);
  }
});

describe('progressLine', () => {
  it('says how much is done, at what rate, and how long is left', () => {
    const rows = (): number => 1_000_000;
    expect(progressLine({ sqlBytes: 512 * 1024 * 1024, rows }, 4_000_000, 20_000)).toBe(
      '⏳ 512.00 MB written, 1,000,000 of ~4,000,000 rows (25%), 25.60 MB/s, about 1 min 0 s left',
    );
    // A stale estimate (fewer rows than already seen): no share, no time left.
    expect(progressLine({ sqlBytes: 2048, rows }, 10, 1000)).toBe('⏳ 2.00 KB written, 1,000,000 rows, 2.00 KB/s');
  });
});

describe('terminalLogger', () => {
  it('on a terminal, progress lines replace one another and the next line starts on its own', () => {
    let written = '';
    const out = { isTTY: true, write: (text: string) => ((written += text), true) } as unknown as NodeJS.WriteStream;
    const printed: string[] = [];
    const original = console.log;
    console.log = (text: string) => void (written += `${text}\n`, printed.push(text));
    try {
      const log = terminalLogger(out);
      log.info('⏳ 1.00 MB written, 10 rows, 1.00 MB/s');
      log.info('⏳ 2.00 MB written, 20 rows, 1.00 MB/s');
      log.info('✅ done');
    } finally {
      console.log = original;
    }
    expect(written).toBe('\r\x1b[2K⏳ 1.00 MB written, 10 rows, 1.00 MB/s\r\x1b[2K⏳ 2.00 MB written, 20 rows, 1.00 MB/s\n✅ done\n');
    expect(printed).toEqual(['✅ done']);
  });
});
