/** The exit-time cleanup registry: what a `finally` cannot reach (process.exit, an uncaught exception). */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeAllNow, removeOnExit } from '../../src/streams/cleanup.js';

describe('removeOnExit', () => {
  it('removes registered files and directories on exit, and not those forgotten', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cleanup-'));
    const work = await mkdtemp(path.join(dir, 'supabase-backup-'));
    await writeFile(path.join(work, 'part1.sql'), 'data', { mode: 0o600 });
    const partial = path.join(dir, '.in-progress-1.sql');
    await writeFile(partial, 'half');
    const kept = path.join(dir, 'full_kept.sql');
    await writeFile(kept, 'done');

    removeOnExit(work);
    removeOnExit(partial);
    const forget = removeOnExit(kept);
    forget();
    expect(process.listeners('exit')).toContain(removeAllNow);

    removeAllNow(); // what the 'exit' listener runs
    expect(existsSync(work)).toBe(false);
    expect(existsSync(partial)).toBe(false);
    expect(existsSync(kept)).toBe(true);
    expect(() => removeAllNow()).not.toThrow();
    await rm(dir, { recursive: true, force: true });
  });
});
