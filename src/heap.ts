/**
 * How fast V8 lets the heap grow, set once at the start of the action and the CLI.
 *
 * A backup streams gigabytes through a JavaScript heap of about 10 MB. V8 sets the old generation's
 * limit to the live size times a growing factor, and starts a full (mark-compact) collection as soon
 * as the room left under that limit is less than the young generation can hold (16 MB): with 10 MB
 * live and the default factor, it often is. Measured on the bench's default database, a backup ran
 * 136 to 145 full collections in most runs (3.7 s of pauses on the main thread, more on V8's threads)
 * for next to nothing freed: the heap stays at 9-11 MB, while gigabytes of Buffers pass through. A
 * factor of 6 leaves room above the young generation: 1 full collection per run, and 6.4-6.9 s of
 * user CPU against 10.2-10.7 s (7.1 s in a run where V8 happened to grow the heap itself).
 *
 * The flag is V8's `--heap-growing-percent`; a GitHub action cannot pass flags to node, and V8 reads
 * this one each time it computes a limit, so setting it at run time takes effect.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 500;

export function letHeapGrowForStreaming(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
