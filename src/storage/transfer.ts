/** Bounded parallelism and retries with backoff for the file transfers of Storage backups and restores. */

export interface RetryPolicy {
  /** Tries in all (the first one included). */
  attempts: number;
  /** Wait before the second try; doubled after each failure, with jitter. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500 };

/** HTTP status of a failed S3 call (the SDK's `$metadata`, or our own RemoteError's). */
export function statusOf(error: unknown): number | undefined {
  const e = error as { status?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  const status = e?.status ?? e?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Throttling and server errors are retried; a 4xx other than 429 is an answer, not a hiccup. */
export function isRetryable(error: unknown): boolean {
  const status = statusOf(error);
  if (status === undefined) return !(error instanceof Error && error.name === 'AbortError');
  return status === 429 || status >= 500;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', stop);
      resolve();
    }
    function stop(): void {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    }
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/** Runs `attempt` until it succeeds, fails with a non-retryable error, or the tries are used up (the last error is thrown). */
export async function withRetries<T>(
  attempt: (tryNumber: number) => Promise<T>,
  policy: RetryPolicy,
  signal?: AbortSignal,
  retryable: (error: unknown) => boolean = isRetryable,
): Promise<T> {
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await attempt(tryNumber);
    } catch (error) {
      signal?.throwIfAborted();
      if (tryNumber >= policy.attempts || !retryable(error)) throw error;
      const backoff = policy.baseDelayMs * 2 ** (tryNumber - 1);
      await sleep(backoff / 2 + Math.random() * (backoff / 2), signal);
    }
  }
}

/**
 * Calls `work` for every item with at most `limit` calls in flight: memory holds `limit` transfers,
 * whatever the number of files (an async iterable, such as a file list read from disk, is read as the
 * calls go). The first error that `work` throws stops the rest and is thrown.
 */
export async function forEachLimited<T>(items: Iterable<T> | AsyncIterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator: Iterator<T> | AsyncIterator<T> = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  let failed = false;
  async function worker(): Promise<void> {
    while (!failed) {
      try {
        const next = await iterator.next();
        if (next.done) return;
        await work(next.value);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  }
  const workers = Array.from({ length: Math.max(1, limit) }, () => worker());
  const results = await Promise.allSettled(workers);
  if (failed) await iterator.return?.();
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
