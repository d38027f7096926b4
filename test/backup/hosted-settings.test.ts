/**
 * A hosted project's role-level session settings do not break a backup: with `statement_timeout = 50ms`
 * and `idle_in_transaction_session_timeout = 300ms` on the source's `postgres` role, a backup with
 * `verify: restore` passes (row counts, checksums, the held snapshot and the scratch sessions all set
 * the timeouts off for themselves, as pg_dump does).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runBackup } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { recordingLogger } from '../helpers/publish.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

let supabase: SupabaseCluster;
let scratchServer: Cluster;
let sourceUrl: string;

beforeAll(async () => {
  [supabase, scratchServer] = await Promise.all([
    startSupabaseCluster(),
    startCluster({ superuser: 'supabase_admin', superuserPassword: 'sc-pw-hosted' }),
  ]);
  const source = await supabase.createSource('hosted_settings');
  sourceUrl = source.url;
  // Enough rows that counting and checksumming them takes longer than 50 ms.
  await supabase.cluster.query(
    `CREATE TABLE public.bulk (id int PRIMARY KEY, body text);
     INSERT INTO public.bulk SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 200000) g;
     ALTER TABLE public.bulk OWNER TO postgres;`,
    { db: source.name },
  );
  await supabase.cluster.query(
    "ALTER ROLE postgres SET statement_timeout = '50ms'; ALTER ROLE postgres SET idle_in_transaction_session_timeout = '300ms'",
    { db: 'template1' },
  );
  await scratchServer.createDatabase('postgres').catch(() => undefined);
});

afterAll(async () => {
  await Promise.all([supabase?.stop(), scratchServer?.stop()]);
});

describe('hosted role settings', () => {
  it('statement_timeout = 50ms and idle_in_transaction_session_timeout = 300ms on the role do not break a backup with verify: restore', async () => {
    const outputDir = await mkdtemp(path.join(tmpdir(), 'hosted-settings-'));
    onTestFinished(() => rm(outputDir, { recursive: true, force: true }));
    const inputs: Record<string, string> = {
      'database-url': sourceUrl,
      destination: 'none',
      'output-dir': outputDir,
      verify: 'restore',
      'verify-database-url': scratchServer.url('postgres', 'supabase_admin'),
    };
    const result = await runBackup(parseConfig((name) => inputs[name] ?? ''), recordingLogger());
    expect(result.rowsByTable.get('public.bulk')).toBe(200000);
    expect(result.restoreCheck?.tables).toBe(result.tables);
  });
});
