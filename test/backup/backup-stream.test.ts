/**
 * The streaming dump-and-merge under stress, with the real pipeline and a real Supabase-shaped source:
 *   - PART 1's pg_dump is slow, so PART 2 runs ahead into the spill file: the file is byte for byte what
 *     a run without spilling writes (apart from the time, the snapshot id and pg_dump's random
 *     \restrict key);
 *   - either pg_dump fails half way (error exit, or killed): the backup fails with pg_dump's message and
 *     leaves no backup file, no partial file and no temporary file behind.
 * pg_dump is wrapped by small scripts (given to runBackup through findTools) that delay or break it.
 */
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import { findPgTools, type PgTools } from '../../src/postgres/tools.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

let supabase: SupabaseCluster;
let sourceUrl: string;
let realTools: PgTools;
let scratch: string;

const quiet: Logger = { info: () => undefined, warning: () => undefined, secret: () => undefined };

/**
 * A pg_dump stand-in: runs the real one, but for the part whose arguments contain `match` (`--data-only`
 * for PART 1, `--clean` for PART 2) it first sleeps, or cuts the output short and fails, or kills itself.
 */
async function wrapper(name: string, match: string, behaviour: 'slow' | 'fail' | 'killed'): Promise<PgTools> {
  const script = path.join(scratch, name);
  const real = realTools.pgDump;
  const broken = {
    slow: `sleep 2; exec "${real}" "$@"`,
    fail: `"${real}" "$@" | head -c 3000; echo "pg_dump: error: simulated failure of ${match}" >&2; exit 1`,
    killed: `"${real}" "$@" | head -c 3000; kill -9 $$`,
  }[behaviour];
  await writeFile(
    script,
    `#!/bin/sh\ncase " $* " in\n  *" ${match} "*) ${broken} ;;\nesac\nexec "${real}" "$@"\n`,
  );
  await chmod(script, 0o755);
  return { ...realTools, pgDump: script };
}

async function backup(tools: PgTools, outputDir: string): Promise<BackupResult> {
  const config = parseConfig((name) => ({ 'database-url': sourceUrl, destination: 'none', 'output-dir': outputDir })[name] ?? '');
  return runBackup(config, quiet, { findTools: async () => tools, installClient: false });
}

/** The file without what differs between two runs over the same data. */
function stable(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^-- (Generated|Source): /.test(line) && !/^(-- \[psql 17\.6\+ only\] )?\\(un)?restrict /.test(line))
    .join('\n');
}

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('stream_source')).url;
  realTools = (await findPgTools(15))!;
  scratch = await mkdtemp(path.join(tmpdir(), 'backup-stream-'));
  // runBackup's temporary directory (and PART 2's spill file) go under TMPDIR: watch that it is left empty.
  process.env.TMPDIR = path.join(scratch, 'tmp');
  await rm(process.env.TMPDIR, { recursive: true, force: true });
  await mkdir(process.env.TMPDIR, { recursive: true });
});

afterAll(async () => {
  await supabase?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('streaming the parts into the file', () => {
  it('writes the same file when PART 2 has to wait for a slow PART 1 (spilled) as when it does not', async () => {
    const plainDir = path.join(scratch, 'plain');
    const slowDir = path.join(scratch, 'slow');
    const plain = await backup(realTools, plainDir);
    const slow = await backup(await wrapper('slow-part1', '--data-only', 'slow'), slowDir);
    expect(slow.rowsByTable).toEqual(plain.rowsByTable);
    expect(slow.parts.map((p) => p.bytes)).toEqual(plain.parts.map((p) => p.bytes));
    expect(stable(await readFile(slow.path, 'utf8'))).toBe(stable(await readFile(plain.path, 'utf8')));
    expect(await readdir(process.env.TMPDIR!)).toEqual([]);
  });

  for (const [part, match] of [
    ['PART 1', '--data-only'],
    ['PART 2', '--clean'],
  ] as const) {
    it(`fails cleanly when ${part}'s pg_dump fails half way`, async () => {
      const outputDir = path.join(scratch, `fail-${match}`);
      const error = await backup(await wrapper(`fail${match}`, match, 'fail'), outputDir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('DumpError');
      expect((error as Error).message).toContain(`simulated failure of ${match}`);
      expect(await readdir(outputDir)).toEqual([]);
      expect(await readdir(process.env.TMPDIR!)).toEqual([]);
    });

    it(`fails cleanly when ${part}'s pg_dump is killed half way`, async () => {
      const outputDir = path.join(scratch, `killed-${match}`);
      const error = await backup(await wrapper(`killed${match}`, match, 'killed'), outputDir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('DumpError');
      expect((error as Error).message).toMatch(/pg_dump of (auth and storage data|the user schemas) failed/);
      expect(await readdir(outputDir)).toEqual([]);
      expect(await readdir(process.env.TMPDIR!)).toEqual([]);
    });
  }
});
