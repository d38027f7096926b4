/**
 * All parts come from one snapshot: while the backup runs, another connection keeps signing users up
 * (the on_auth_user_created trigger gives each a profile). After the restore every profile has its user
 * and every user its profile — whichever moment the snapshot caught.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { runBackup } from '../../src/backup/pipeline.js';
import { parseConfig } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import { rowCount, withClient } from '../helpers/compare.js';
import { psqlFile } from '../helpers/restore.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

let supabase: SupabaseCluster;

beforeAll(async () => {
  supabase = await startSupabaseCluster();
});

afterAll(async () => {
  await supabase?.stop();
});

const quiet: Logger = { info: () => undefined, warning: () => undefined, secret: () => undefined };

/** An empty output-dir, removed when the test ends. */
async function outputDirForTest(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Signs users up one transaction at a time until stopped; returns how many it created. */
function keepSigningUp(url: string): { stop: () => Promise<number>; created: () => number } {
  let running = true;
  let created = 0;
  const done = (async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      while (running) {
        await client.query(
          `INSERT INTO auth.users (instance_id, id, aud, role, email, raw_user_meta_data, created_at, updated_at)
           VALUES ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
                   'signup-' || $1 || '@example.test', jsonb_build_object('username', 'signup-' || $1), now(), now())`,
          [created],
        );
        created++;
      }
    } finally {
      await client.end();
    }
    return created;
  })();
  return {
    created: () => created,
    stop: async () => {
      running = false;
      return done;
    },
  };
}

it('users and their profiles come from the same instant, while sign-ups continue during the backup', async () => {
  const source = await supabase.createSource('busy_source');
  const target = await supabase.createTarget('busy_target');
  const outputDir = await outputDirForTest('busy-');
  const signups = keepSigningUp(source.url);
  while (signups.created() < 50) await new Promise((resolve) => setTimeout(resolve, 5));

  const config = parseConfig((name) => ({ 'database-url': source.url, destination: 'none', 'output-dir': outputDir })[name] ?? '');
  const result = await runBackup(config, quiet);
  const atBackupEnd = signups.created();
  const total = await signups.stop();

  const restore = await psqlFile(target.url, result.path);
  expect(restore.exitCode, restore.stderr).toBe(0);

  const restoredUsers = await rowCount(target.url, 'auth.users');
  expect(restoredUsers).toBe(result.authUsers);
  expect(restoredUsers).toBeGreaterThanOrEqual(5 + 50);
  expect(restoredUsers).toBeLessThanOrEqual(5 + atBackupEnd);
  // Sign-ups landed after the snapshot too, so the snapshot really caught a moving database.
  expect(restoredUsers).toBeLessThan(5 + total);
  const orphans = await withClient(target.url, (c) =>
    c.query(`SELECT
        (SELECT count(*) FROM auth.users u WHERE NOT EXISTS (SELECT 1 FROM public.profiles p WHERE p.id = u.id)) AS users_without_profile,
        (SELECT count(*) FROM public.profiles p WHERE NOT EXISTS (SELECT 1 FROM auth.users u WHERE u.id = p.id)) AS profiles_without_user`),
  );
  expect(orphans.rows[0]).toEqual({ users_without_profile: '0', profiles_without_user: '0' });
});
