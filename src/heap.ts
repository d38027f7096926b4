/**
 * How fast V8 lets the heap grow, set once at the start of the action and the CLI.
 *
 * A backup streams gigabytes through a JavaScript heap of about 10 MB. V8 sets the old generation's
 * limit to the live size times a growing factor, and starts a full (mark-compact) collection as soon
 * as the room left under that limit is less than the young generation can hold (16 MB): with 10 MB
 * live and the default factor, it nearly always is. Measured on the bench's default database, one
 * backup ran about 145 full collections, 3.7 s of pauses on the main thread and more on V8's
 * threads, for next to nothing freed (the heap stays at 9-11 MB). A factor of 6 leaves room above
 * the young generation: 0 to a few full collections per run, lower peak RSS (140 MB against 165-175
 * MB: each compaction took new pages), and 1.5-3 s less CPU.
 *
 * The flag is V8's `--heap-growing-percent`; a GitHub action cannot pass flags to node, and V8 reads
 * this one each time it computes a limit, so setting it at run time takes effect.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 500;

export function letHeapGrowForStreaming(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
