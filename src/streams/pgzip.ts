/**
 * gzip or zstd on every core, as pigz does: the input is cut into blocks of 1 MiB, each block is
 * compressed on libuv's thread pool as a gzip member (or a zstd frame) of its own, and they are written
 * in input order. Concatenated members are a valid gzip file (RFC 1952 §2.2), concatenated frames a
 * valid zstd file (RFC 8878 §3.1): gunzip, zcat, `zstd -d` and node's decompressors read them whole.
 * node:zlib's createGzip compresses on a single thread, which made `compression: gzip` the slowest stage
 * of a backup by far (about 85 MB/s at level 1 on the bench machine).
 *
 * Memory stays at `inFlight` blocks and their output; blocks lose the dictionary of the previous one,
 * which costs well under 1% of size at 1 MiB.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

const gzipBlock = promisify(zlib.gzip);

export const PGZIP_BLOCK = 1 << 20;

/** Compresses one block into a self-contained gzip member or zstd frame. */
export type BlockCompressor = (block: Buffer) => Promise<Buffer>;

export const gzipBlocks = (level: number): BlockCompressor => (block) => gzipBlock(block, { level });

/** Whether this Node.js has zstd in node:zlib (22.15 and newer; the action runs on node24). */
export const hasZstd = (): boolean => typeof (zlib as { zstdCompress?: unknown }).zstdCompress === 'function';

export function zstdBlocks(level: number): BlockCompressor {
  const zstd = zlib as unknown as {
    zstdCompress: (input: Buffer, options: object, callback: (error: Error | null, result: Buffer) => void) => void;
    constants: Record<string, number>;
  };
  const params = { [zstd.constants.ZSTD_c_compressionLevel!]: level, [zstd.constants.ZSTD_c_checksumFlag!]: 1 };
  return (block) =>
    new Promise((resolve, reject) => zstd.zstdCompress(block, { params }, (error, out) => (error ? reject(error) : resolve(out))));
}

export class ParallelCompress extends Transform {
  private block: Buffer[] = [];
  private blockBytes = 0;
  /** Members being compressed, oldest first. */
  private readonly pending: Promise<Buffer>[] = [];

  constructor(
    private readonly compress: BlockCompressor,
    private readonly blockSize = PGZIP_BLOCK,
    // Blocks being compressed at once: as many as libuv's thread pool has threads (4 unless
    // UV_THREADPOOL_SIZE says otherwise). On the 2-core bench machine 4 beat 2 (gzip of 500 MB: 3.1 s
    // against 4.0 s) and matched 3.
    private readonly inFlight = Number(process.env.UV_THREADPOOL_SIZE) || 4,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.block.push(chunk);
    this.blockBytes += chunk.length;
    if (this.blockBytes < this.blockSize) return done();
    this.startBlock();
    this.emitReady(this.inFlight - 1).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    // An empty input still makes one (empty) member or frame: a valid .gz or .zst file.
    if (this.blockBytes > 0 || this.pending.length === 0) this.startBlock();
    this.emitReady(0).then(() => done(), done);
  }

  private startBlock(): void {
    const input = this.block.length === 1 ? this.block[0]! : Buffer.concat(this.block, this.blockBytes);
    this.block = [];
    this.blockBytes = 0;
    const member = this.compress(input);
    // Awaited in order by emitReady; an early failure must not be an unhandled rejection meanwhile.
    member.catch(() => undefined);
    this.pending.push(member);
  }

  /** Pushes finished members, oldest first, until at most `keep` are still being compressed. */
  private async emitReady(keep: number): Promise<void> {
    while (this.pending.length > keep) this.push(await this.pending.shift()!);
  }
}

/** `compression: gzip`: ParallelCompress with gzip members at `level`. */
export class ParallelGzip extends ParallelCompress {
  constructor(level: number, blockSize = PGZIP_BLOCK, inFlight?: number) {
    super(gzipBlocks(level), blockSize, inFlight);
  }
}
