/**
 * The stall deadline: a backup whose dumps send nothing for `stall-timeout` seconds is stuck (a network
 * cut that no socket notices, a lock never granted) and is stopped, instead of waiting until the job's
 * time limit while the source holds the snapshot back from vacuum.
 */
export class StallError extends Error {
  override name = 'StallError';
}

export interface StallWatch {
  /** Progress: a chunk arrived. */
  tick(): void;
  stop(): void;
}

/** Calls `onStall` once when `tick` has not been called for `timeoutMs`. */
export function watchStall(timeoutMs: number, onStall: (error: StallError) => void, what: string): StallWatch {
  let last = Date.now();
  let fired = false;
  const timer = setInterval(
    () => {
      if (fired || Date.now() - last < timeoutMs) return;
      fired = true;
      clearInterval(timer);
      const seconds = Math.round(timeoutMs / 1000);
      onStall(
        new StallError(
          `no progress for ${seconds} s (stall-timeout: ${seconds}): ${what} sent any data. The connection to the ` +
            'database may be cut, or a lock is never granted. The run was stopped, its sessions on the server ' +
            'closed (the held snapshot included) and no file was kept',
        ),
      );
    },
    Math.max(100, Math.min(5_000, Math.floor(timeoutMs / 4))),
  );
  return {
    tick: () => {
      last = Date.now();
    },
    stop: () => clearInterval(timer),
  };
}

/** Passes `chunks` on, telling `watch` of each one. */
export async function* ticking<T>(chunks: AsyncIterable<T>, watch: StallWatch): AsyncGenerator<T> {
  for await (const chunk of chunks) {
    watch.tick();
    yield chunk;
  }
}
