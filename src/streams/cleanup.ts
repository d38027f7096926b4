/**
 * Temporary files that must not outlive the process, whatever way it ends. The pipeline removes its
 * own in `finally` blocks; this is the last line for the ways a `finally` never runs: process.exit()
 * (a second SIGINT/SIGTERM while cancelling), an uncaught exception. Removal on 'exit' is synchronous,
 * as Node requires there. Only SIGKILL escapes it.
 */
import { rmSync } from 'node:fs';

const pending = new Set<string>();
let hooked = false;

/** Removes `target` (a file or directory) when the process exits; call the returned function once it is gone or kept. */
export function removeOnExit(target: string): () => void {
  if (!hooked) {
    process.on('exit', removeAllNow);
    hooked = true;
  }
  pending.add(target);
  return () => {
    pending.delete(target);
  };
}

/** Removes every registered path now (synchronously) and forgets them. */
export function removeAllNow(): void {
  for (const target of pending) {
    try {
      rmSync(target, { recursive: true, force: true });
    } catch {
      // nothing more can be done while exiting
    }
  }
  pending.clear();
}
