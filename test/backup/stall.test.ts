/**
 * A network cut mid-dump: a loopback proxy between the backup and the server stops forwarding (nothing
 * delivered, nothing closed) once the dumps are under way. With a short stall-timeout the run ends with
 * a clear message, keeps no file and leaves no session of the run on the server (no held snapshot idle
 * in transaction, no pg_dump backend blocked on a send).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runBackup } from '../../src/backup/pipeline.js';
import { StallError } from '../../src/backup/stall.js';
import { parseConfig } from '../../src/config.js';
import { recordingLogger } from '../helpers/publish.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

let supabase: SupabaseCluster;
let source: { name: string; url: string };

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  source = await supabase.createSource('stall_source');
  // Enough data (about 40 MB) that the dumps are still sending when the link is cut.
  await supabase.cluster.query(
    `CREATE TABLE public.bulk (id int PRIMARY KEY, body text);
     INSERT INTO public.bulk SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 300000) g;
     ALTER TABLE public.bulk OWNER TO postgres;`,
    { db: source.name },
  );
});

afterAll(async () => {
  await supabase?.stop();
});

async function runSessions(): Promise<{ pid: number; application_name: string; state: string }[]> {
  return supabase.cluster.query(
    `SELECT pid, application_name, state FROM pg_stat_activity
      WHERE datname = $1 AND application_name LIKE 'supabase-complete-backup%'`,
    { db: 'template1', params: [source.name] },
  );
}

describe('a network cut mid-dump', () => {
  it('ends at the stall deadline with a clear message, no file and no session of the run left on the server', async () => {
    const proxy = await startTcpProxy(supabase.cluster.port);
    onTestFinished(() => proxy.close());
    const outputDir = await mkdtemp(path.join(tmpdir(), 'stall-'));
    onTestFinished(() => rm(outputDir, { recursive: true, force: true }));
    const inputs: Record<string, string> = {
      'database-url': source.url.replace(`:${supabase.cluster.port}/`, `:${proxy.port}/`),
      destination: 'none',
      'output-dir': outputDir,
      'stall-timeout': '2',
    };
    const log = recordingLogger();
    const running = runBackup(parseConfig((name) => inputs[name] ?? ''), log);
    running.catch(() => undefined);
    // Cut the link once the dumps are sending (a megabyte from the server), not before.
    let cut = false;
    const cutter = (async () => {
      while (!cut) {
        if (proxy.serverBytes() > 1024 * 1024) {
          proxy.freeze();
          cut = true;
        } else await sleep(2);
      }
    })();
    const error = await running.then(
      () => undefined,
      (e: unknown) => e,
    );
    cut = true;
    await cutter;
    expect(error).toBeInstanceOf(StallError);
    expect((error as Error).message).toMatch(/^no progress for 2 s \(stall-timeout: 2\): neither pg_dump .* no file was kept$/);
    expect(await readdir(outputDir)).toEqual([]);
    expect(log.warnings).toEqual([]);
    // The server ends a terminated backend on its own time: wait for it, boundedly.
    let left = await runSessions();
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await sleep(100);
      left = await runSessions();
    }
    expect(left).toEqual([]);
  });
});
