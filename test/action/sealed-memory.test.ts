/**
 * The sealed backup's memory, measured on the action itself (Node 24, GitHub's runtime): a backup with
 * `compression: zstd` and age encryption must peak at about the same RSS as the plain one, and under
 * the action's budget (issue #18: 150 MB).
 *
 * Why it could not before: V8 frees a Buffer's memory only when a collection finds it dead, and with
 * the heap let grow (src/heap.ts) that is after some 64 MiB more of them. The seal allocates per byte on
 * its own account (compressed frames, age's ciphertexts), and the merge's reads of the last stage joined
 * what it had buffered into a fresh Buffer each time: D peaked at 190–197 MB at the bench's default size
 * against A's 137. Now the last stage is read a buffer at a time and the frames and ciphertexts are
 * freed by their last user (src/streams/handoff.ts).
 *
 * Measured (this test's 400 MB table): plain 111–115 MiB, zstd + age 127–128 MiB; the build before
 * the change: plain 111–112, zstd + age 173–176 MiB, which fails both checks.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, runAction } from '../helpers/action.js';
import { ageKeygen, type AgeKey } from '../helpers/age.js';
import { withClient } from '../helpers/compare.js';
import { node24 } from '../helpers/runtimes.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const MiB = 1024 * 1024;
/** About 400 MB of rows that compress about 2:1: several times what V8 lets pile up before it collects. */
const ROWS = 1_500_000;
const BUDGET = 150 * MiB;
/** What the seal may add to the plain backup's peak: its blocks in flight, zstd's contexts, noise. */
const SEAL_MARGIN = 24 * MiB;

let supabase: SupabaseCluster;
let sourceUrl: string;
let work: string;
let key: AgeKey;

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('source')).url;
  await withClient(sourceUrl, (client) =>
    client.query(`CREATE TABLE public.bulk (id int PRIMARY KEY, body text NOT NULL);
      INSERT INTO public.bulk SELECT g, md5(g::text) || md5((g * 3)::text) || md5((g * 5)::text) || md5((g * 7)::text) || md5((g * 11)::text) || md5((g * 13)::text) || md5((g * 17)::text) || md5((g * 19)::text) FROM generate_series(1, ${ROWS}) g;`),
  );
  work = await mkdtemp(path.join(tmpdir(), 'sealed-memory-'));
  key = await ageKeygen(work);
}, 300_000);

afterAll(async () => {
  await supabase?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The action's peak RSS (its own getrusage, pg_dump not in it) for a backup with these inputs. */
async function peakRss(name: string, inputs: Record<string, string>): Promise<number> {
  const rssFile = path.join(work, `${name}.rss.json`);
  const run = await runAction(
    { 'database-url': sourceUrl, destination: 'none', 'output-dir': path.join(work, name), ...inputs },
    { node: node24().node, env: { NODE_OPTIONS: `--import ${path.join(ROOT, 'lib', 'bench', 'rss-probe.js')}`, BENCH_RSS_FILE: rssFile } },
  );
  expect(run.exitCode, run.visible).toBe(0);
  expect(Number(run.outputs['backup-size'])).toBeGreaterThan(inputs.compression ? 100 * MiB : 300 * MiB);
  const { maxRssKiB } = JSON.parse(await readFile(rssFile, 'utf8')) as { maxRssKiB: number };
  await rm(path.join(work, name), { recursive: true, force: true });
  return maxRssKiB * 1024;
}

it('zstd + age peaks at about the plain backup\'s RSS, under 150 MB', { timeout: 300_000 }, async () => {
  const plain = await peakRss('plain', {});
  const sealed = await peakRss('sealed', { compression: 'zstd', 'encryption-recipients': key.recipient });
  console.log(`peak RSS: plain ${Math.round(plain / MiB)} MiB, zstd + age ${Math.round(sealed / MiB)} MiB`);
  expect(sealed).toBeLessThanOrEqual(plain + SEAL_MARGIN);
  expect(sealed).toBeLessThanOrEqual(BUDGET);
});
