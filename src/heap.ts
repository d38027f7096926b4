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
 *
 * The young generation is kept at its first size (`--semi-space-growth-factor=1`, also read each
 * time). V8 doubles it whenever as much as it holds has survived its collections, counted since the
 * last doubling, so a long run ends at the maximum (16 MB semi-spaces, 32 MB) whatever it keeps:
 * an S3 upload, whose requests in flight survive a few collections each, grew it from 8 to 16 MB
 * semi-spaces (+16 MiB RSS). Measured with the bundled action on Node 24, a 3 GiB backup to S3
 * (alternated runs, shared machine): peak RSS 174–181 → 139–145 MiB (the backup phase alone 154–160
 * → 131–138), node CPU 10.0–12.3 → 10.0–11.8 s; the upload alone (test/s3/large-upload.test.ts's
 * child, 3 GiB): 131 → 115 MiB, CPU 5.2 s both ways (209 young-generation collections instead of 26,
 * each one small).
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 500;

export function letHeapGrowForStreaming(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  setFlagsFromString('--semi-space-growth-factor=1');
}
