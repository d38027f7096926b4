/**
 * The row counts scan each table once, in their own session, with no parallel workers: they run beside
 * the dumps on the project's server, where workers would only add load. The server here is set so
 * that the planner counts a small table in parallel (no setup or tuple cost, two workers for the
 * table); a parallel scan counts once per participant in pg_stat_user_tables.seq_scan.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows } from '../../src/backup/catalog.js';
import { openSnapshot } from '../../src/backup/snapshot.js';
import { parseDatabaseUrl } from '../../src/postgres/connection.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';

let server: Cluster;
const DB = 'counts';
const TABLE = { schema: 'public', name: 'wide', qualified: 'public.wide' };
const ROWS = 20_000;

beforeAll(async () => {
  server = await startCluster({
    superuser: 'postgres',
    superuserPassword: 'counts-pw',
    settings: { parallel_setup_cost: '0', parallel_tuple_cost: '0', min_parallel_table_scan_size: '0' },
  });
  await server.createDatabase(DB);
  await server.query(
    `CREATE TABLE public.wide (id int, body text) WITH (parallel_workers = 2);
     INSERT INTO public.wide SELECT g, repeat('x', 200) FROM generate_series(1, ${ROWS}) g;
     ANALYZE public.wide;`,
    { db: DB },
  );
});

afterAll(async () => {
  await server?.stop();
});

async function seqScan(): Promise<number> {
  const rows = await server.query<{ n: string }>("SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relid = 'public.wide'::regclass", {
    db: DB,
  });
  return Number(rows[0]!.n);
}

/** seq_scan once every scan so far has reported: sessions report when they end, a moment after their client has gone. */
async function settledSeqScan(): Promise<number> {
  let last = await seqScan();
  for (let stable = 0; stable < 3; ) {
    await sleep(300);
    const now = await seqScan();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

/** How many scans have reported since `before` was settled: waits for the first, then for the rest. */
async function seqScansSince(before: number): Promise<number> {
  for (let waited = 0; (await seqScan()) === before && waited < 20_000; waited += 100) await sleep(100);
  return (await settledSeqScan()) - before;
}

describe('row counts', () => {
  it('this server counts the table with two parallel workers when nothing says otherwise', async () => {
    const rows = await server.query<{ 'QUERY PLAN': string }>('EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM public.wide', { db: DB });
    expect(rows.map((row) => row['QUERY PLAN']).join('\n')).toMatch(/Workers Launched: 2/);
    const before = await settledSeqScan();
    await server.query('SELECT count(*) FROM public.wide', { db: DB });
    expect(await seqScansSince(before)).toBe(3);
  });

  it('countRows counts it in the snapshot with one scan, no parallel worker', async () => {
    const conn = parseDatabaseUrl(server.url(DB, 'postgres'));
    const snapshot = await openSnapshot(conn);
    try {
      // Rows added after the snapshot are not counted.
      await server.query('INSERT INTO public.wide VALUES (0, NULL)', { db: DB });
      const before = await settledSeqScan();
      const counts = await countRows(conn, snapshot.id, [TABLE]);
      expect(counts.get(TABLE.qualified)).toBe(ROWS);
      expect(await seqScansSince(before)).toBe(1);
    } finally {
      await snapshot.release();
      await server.query('DELETE FROM public.wide WHERE id = 0', { db: DB });
    }
  });
});
