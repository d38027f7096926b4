/**
 * Fails the run when the tests leave something in the temp directory (a reporter, listed first in
 * vitest.config.ts, so that the default reporter shows the leftovers and the count line counts them).
 *
 * - The test processes get a temp directory of their own (TMPDIR, set before the workers start): the
 *   clusters, work folders and copies the tests make go there, and anything still in it at the end is
 *   a leftover, whatever else runs on the machine. It is removed afterwards, leftovers included.
 * - The action entry run by test/helpers/action.ts gets a clean environment without TMPDIR, so the
 *   product's own work folders (`supabase-backup-*`) land in the shared temp directory: such an entry
 *   counts when its name was not there at the start, it was created during the run, and it is still
 *   there 10 s later (another run's action removes its own meanwhile). Other new entries there are not
 *   ours to judge (other test runs, vitest's own folders) and are ignored. TMP_LEAK_CHECK=private
 *   skips this half (e.g. when another run of these tests leaves its folders there).
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** What the product itself puts in the temp directory (pipeline, CLI, branch publishing). */
const PRODUCT = /^supabase-backup-/;
/** How long a new product folder in the shared temp directory may take to go before it counts. */
const GRACE_MS = 10_000;

export default class TmpdirLeaks implements Reporter {
  private shared = '';
  private privateDir = '';
  private before = new Set<string>();
  private started = 0;

  onInit(): void {
    if (this.privateDir) return;
    this.shared = tmpdir();
    this.before = new Set(readdirSync(this.shared));
    this.started = Date.now();
    this.privateDir = mkdtempSync(path.join(this.shared, 'vitest-tmp-'));
    // The tests start PostgreSQL as the postgres OS user, which must reach its folders in here.
    chmodSync(this.privateDir, 0o1777);
    process.env.TMPDIR = this.privateDir;
  }

  // Synchronous on purpose: vitest calls the reporters one after another without waiting, and the
  // default and count reporters must see the error this one adds.
  onTestRunEnd(_modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    if (!this.privateDir) return;
    const leftovers = readdirSync(this.privateDir).map((name) => `(the tests' own TMPDIR) ${name}`);
    if (process.env.TMP_LEAK_CHECK !== 'private') {
      const candidates: string[] = [];
      for (const name of readdirSync(this.shared)) {
        if (this.before.has(name) || !PRODUCT.test(name)) continue;
        const stat = (() => {
          try {
            return statSync(path.join(this.shared, name));
          } catch {
            return undefined; // gone meanwhile
          }
        })();
        if (!stat) continue;
        const born = stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.ctimeMs;
        if (born < this.started - 1000) continue;
        candidates.push(path.join(this.shared, name));
      }
      // A concurrent run's action removes its folder within seconds; a leftover stays.
      const until = Date.now() + GRACE_MS;
      let staying = candidates;
      while (staying.length > 0 && Date.now() < until) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // a synchronous pause: see onTestRunEnd
        staying = staying.filter((entry) => existsSync(entry));
      }
      leftovers.push(...staying);
    }
    rmSync(this.privateDir, { recursive: true, force: true });
    process.env.TMPDIR = this.shared;
    this.privateDir = '';
    if (leftovers.length === 0) return;
    const error = new Error(
      `the tests left ${leftovers.length} entr${leftovers.length === 1 ? 'y' : 'ies'} in the temp directory ` +
        `(each test must remove what it creates):\n  ${leftovers.sort().join('\n  ')}`,
    );
    error.stack = error.message;
    // The count reporter counts unhandled errors as failures; vitest decided the exit code already.
    (unhandledErrors as unknown[]).push(error);
    process.exitCode = 1;
  }
}
