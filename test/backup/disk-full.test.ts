/** A full disk while the backup is written: a clear error, and no file (whole or partial) is left. */
import { execa } from 'execa';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAction } from '../helpers/action.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

let supabase: SupabaseCluster;
let smallDisk: string;
let skipReason = '';

beforeAll(async () => {
  smallDisk = await mkdtemp(path.join(tmpdir(), 'small-disk-'));
  // A 16 KiB tmpfs: smaller than the fixture's backup (~45 KB).
  const mount = await execa('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', smallDisk], { reject: false });
  if (mount.exitCode !== 0) {
    skipReason = `cannot mount a small tmpfs here (needs root): ${String(mount.stderr).trim()}`;
    console.log(`disk-full.test.ts skipped: ${skipReason}`);
    return;
  }
  supabase = await startSupabaseCluster();
});

afterAll(async () => {
  await supabase?.stop();
  if (!skipReason) await execa('umount', [smallDisk], { reject: false });
  await rm(smallDisk, { recursive: true, force: true });
});

it('fails with a message naming output-dir and leaves nothing in it', async ({ skip }) => {
  if (skipReason) skip(skipReason);
  const source = await supabase.createSource('source');
  const run = await runAction({ 'database-url': source.url, destination: 'none', 'output-dir': smallDisk });
  expect(run.exitCode, run.visible).toBe(1);
  expect(run.stdout).toMatch(/no space left on the disk of output-dir .*nothing was kept/);
  expect(await readdir(smallDisk)).toEqual([]);
  expect(run.outputs).toEqual({});
});
