/**
 * A ramfs mount: a filesystem without direct I/O (open with O_DIRECT fails with EINVAL), where files
 * go through the page cache. Mounting needs root; `skipReason` says why not otherwise.
 */
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Ramfs {
  dir: string;
  skipReason: string;
  unmount(): Promise<void>;
}

export async function mountRamfs(): Promise<Ramfs> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ramfs-'));
  const mount = await execa('mount', ['-t', 'ramfs', 'ramfs', dir], { reject: false });
  const skipReason = mount.exitCode === 0 ? '' : `cannot mount a ramfs here (needs root): ${String(mount.stderr).trim()}`;
  return {
    dir,
    skipReason,
    async unmount() {
      // Lazily: a test that failed half-way may still hold a file open there.
      if (!skipReason) await execa('umount', ['--lazy', dir], { reject: false });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
