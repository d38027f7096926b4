/**
 * The action on Node 24 (GitHub's runtime) with enough data for thousands of pipe reads, many 1 MiB
 * write batches and several of zlib's output buffers, plain and in every sealed form; each file is
 * restored by the CLI into a fresh target and compared with the source table by table and by a digest
 * of every byte. The in-process stream tests run on the suite's Node, not on 24.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runAction } from '../helpers/action.js';
import { ageKeygen, type AgeKey } from '../helpers/age.js';
import { DURABLE_TABLES, tableRows, withClient } from '../helpers/compare.js';
import { node24, productEnv } from '../helpers/runtimes.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');
/** About 20 MB of rows that compress about 2:1, so that the sealed output is many MiB too. */
const BULK_ROWS = 80_000;
const DIGEST = `SELECT count(*)::text || ':' || md5(string_agg(id || ':' || body, ',' ORDER BY id)) AS digest FROM public.bulk`;

let supabase: SupabaseCluster;
let sourceUrl: string;
let sourceDigest: string;
let work: string;
let key: AgeKey;

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('source')).url;
  sourceDigest = await withClient(sourceUrl, async (client) => {
    await client.query(`CREATE TABLE public.bulk (id int PRIMARY KEY, body text NOT NULL);
      INSERT INTO public.bulk SELECT g, md5(g::text) || md5((g * 7)::text) || repeat(md5((g % 97)::text), 6) FROM generate_series(1, ${BULK_ROWS}) g;`);
    return (await client.query<{ digest: string }>(DIGEST)).rows[0]!.digest;
  });
  work = await mkdtemp(path.join(tmpdir(), 'sealed-large-'));
  key = await ageKeygen(work);
}, 300_000);

afterAll(async () => {
  await supabase?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function backupAndRestore(name: string, inputs: Record<string, string>, identity: boolean): Promise<void> {
  const run = await runAction(
    { 'database-url': sourceUrl, destination: 'none', 'output-dir': path.join(work, name), ...inputs },
    { node: node24().node },
  );
  expect(run.exitCode, run.visible).toBe(0);
  const file = run.outputs['backup-path']!;
  const target = await supabase.createTarget(`t_${name}`);
  const restored = await execa(
    node24().node,
    [CLI, 'restore', '--file', file, ...(identity ? ['--identity', key.identityFile] : []), '--database-url', target.url],
    { reject: false, all: true, env: productEnv(), extendEnv: false, stdin: 'ignore' },
  );
  expect(restored.exitCode, String(restored.all)).toBe(0);
  expect(await withClient(target.url, async (client) => (await client.query<{ digest: string }>(DIGEST)).rows[0]!.digest)).toBe(sourceDigest);
  for (const table of DURABLE_TABLES) expect(await tableRows(target.url, table), table).toEqual(await tableRows(sourceUrl, table));
}

describe('every byte survives a large backup on Node 24', () => {
  it('plain', async () => {
    await backupAndRestore('plain', {}, false);
  }, 300_000);

  it('gzip + age', async () => {
    await backupAndRestore('gzip_age', { compression: 'gzip', 'encryption-recipients': key.recipient }, true);
  }, 300_000);

  it('zstd + age', async () => {
    await backupAndRestore('zstd_age', { compression: 'zstd', 'encryption-recipients': key.recipient }, true);
  }, 300_000);
});
