/**
 * gzip or zstd on every core, as pigz does: the input is cut into blocks of 512 KiB, each block is
 * compressed on libuv's thread pool as a gzip member (or a zstd frame) of its own, and they are written
 * in input order. Concatenated members are a valid gzip file (RFC 1952 §2.2), concatenated frames a
 * valid zstd file (RFC 8878 §3.1): gunzip, zcat, `zstd -d` and node's decompressors read them whole.
 * node:zlib's createGzip compresses on a single thread, which made `compression: gzip` the slowest stage
 * of a backup by far (about 85 MB/s at level 1 on the bench machine).
 *
 * Each block in flight has a slot: a node:zlib stream kept for the whole file, which ends a member or
 * frame at every write (a flush flag of Z_FINISH / ZSTD_e_end) into an output buffer with room for the
 * worst case, so a block is one trip to the thread pool. Per block, a fresh stream (zlib.gzip,
 * zlib.zstdCompress) cost a compression context with fresh memory, a trip per 16 KiB of output and a
 * stream object for the garbage collector: on 2.6 GB of SQL-like rows, about a third of the stage's CPU.
 * The input blocks are reused too. Memory stays at `inFlight` slots and their blocks; blocks lose the
 * dictionary of the previous one, which costs well under 1% of size (zstd level 1 on the bench's
 * default database: 1124.5 MB with 1 MiB blocks, 1125.6 MB with 512 KiB).
 *
 * 512 KiB rather than 1 MiB: each slot holds a block, zlib's output buffer and a compression context,
 * plus the block that fills; halving the block took a sealed backup's peak RSS from 153-155 to 144 MiB
 * (zstd + age on the bench's default database, Node 24, one run), with no measurable CPU cost (twice
 * the trips to the thread pool; bench:seal, 1 GB of zstd + age: 3.6-4.2 CPU-s against 3.7-4.0). One
 * slot fewer saved about 5 MiB but cost wall time (1 GB of zstd + age in 4.9-5.0 s against 3.9-4.1 s).
 */
import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { canTransfer, detach, handOff } from './handoff.js';

export const PGZIP_BLOCK = 1 << 19;

/** Compresses one block at a time into a self-contained gzip member or zstd frame. */
export interface FrameEncoder {
  encode(block: Buffer): Promise<Buffer>;
  close(): void;
}

/** Makes the encoder of one slot, for blocks of at most `blockSize` bytes. */
export type FrameCodec = (blockSize: number) => FrameEncoder;

/** Output room for one block: at least zstd's and deflate's worst case (ZSTD_compressBound, deflateBound + gzip's header). */
export function frameRoom(blockSize: number): number {
  return blockSize + (blockSize >> 7) + 4096;
}

/** A node:zlib stream that ends a member or frame at every write; the output of a write is read back when it completes. */
class ZlibFrameEncoder implements FrameEncoder {
  /** The output buffer zlib writes in (its chunkSize is `room`), when known. */
  private zlibBuffer: ArrayBufferLike | null = null;

  constructor(
    private readonly stream: Transform & { reset?: () => void },
    /** gzip: deflate must be reset to start the next member (a zstd context starts a new frame by itself). */
    private readonly resetAfterFrame: boolean,
    /** The size of zlib's output buffers (its chunkSize). */
    private readonly room: number,
  ) {
    // A failed write also fails its callback, which rejects encode; the event would crash the process.
    stream.on('error', () => undefined);
  }

  encode(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.stream.write(block, (error) => {
        if (error) return reject(error);
        // node:zlib pushes a write's output before it calls the write back, and the readable side holds
        // it all (its high-water mark is above the room), so the member is complete here.
        const output = (this.stream.read() as Buffer | null) ?? Buffer.alloc(0);
        // A stage torn down mid-write has closed its streams: nothing follows this member.
        if (this.resetAfterFrame && !this.stream.destroyed) this.stream.reset!();
        resolve(this.ownCopy(output));
      });
    });
  }

  /**
   * node:zlib writes the members one after the other into an output buffer of its own (`room` bytes)
   * and takes a fresh one when it is full: the members are views of it, and it stays until the last
   * of them is collected. Each member is copied into a buffer of its own, handed off to the stage that
   * uses it last (handoff.ts), and an output buffer that zlib has left for a fresh one is freed at
   * once (its members are copies).
   */
  private ownCopy(output: Buffer): Buffer {
    // Without transfer (Node.js < 21) nothing could be freed: the copy would be for nothing.
    if (!canTransfer) return output;
    const member = handOff(Buffer.from(output));
    // Zlib's buffer is known by its size; a member that ran over into a fresh one comes joined, in a
    // buffer of its own (also only read here): either way, a different buffer means zlib has left it.
    if (this.zlibBuffer && output.buffer !== this.zlibBuffer) detach(this.zlibBuffer);
    // (Buffer's shared pool, which small joins come from, is never taken for it.)
    this.zlibBuffer = this.room > Buffer.poolSize && output.buffer.byteLength === this.room ? output.buffer : null;
    return member;
  }

  close(): void {
    this.stream.destroy();
  }
}

function roomOptions(blockSize: number): { chunkSize: number; readableHighWaterMark: number } {
  return { chunkSize: frameRoom(blockSize), readableHighWaterMark: 2 * frameRoom(blockSize) };
}

export const gzipFrames =
  (level: number): FrameCodec =>
  (blockSize) =>
    new ZlibFrameEncoder(zlib.createGzip({ level, flush: zlib.constants.Z_FINISH, ...roomOptions(blockSize) }), true, frameRoom(blockSize));

/** Whether this Node.js has zstd in node:zlib (22.15 and newer; the action runs on node24). */
export const hasZstd = (): boolean => typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function';

export function zstdFrames(level: number): FrameCodec {
  const zstd = zlib as unknown as {
    createZstdCompress: (options: object) => Transform;
    constants: Record<string, number>;
  };
  const { ZSTD_c_compressionLevel, ZSTD_c_checksumFlag, ZSTD_e_end } = zstd.constants;
  const params = { [ZSTD_c_compressionLevel!]: level, [ZSTD_c_checksumFlag!]: 1 };
  return (blockSize) => new ZlibFrameEncoder(zstd.createZstdCompress({ params, flush: ZSTD_e_end, ...roomOptions(blockSize) }), false, frameRoom(blockSize));
}

export class ParallelCompress extends Transform {
  private readonly encoders: FrameEncoder[];
  private nextEncoder = 0;
  /** Blocks not being compressed, to fill. */
  private readonly freeBlocks: Buffer[];
  private block: Buffer;
  private blockBytes = 0;
  /** Members being compressed, oldest first. */
  private readonly pending: Promise<Buffer>[] = [];

  constructor(
    codec: FrameCodec,
    private readonly blockSize = PGZIP_BLOCK,
    // Blocks being compressed at once: one less than libuv's thread pool has threads (4 unless
    // UV_THREADPOOL_SIZE says otherwise), so the file's writes never queue behind compression. On the
    // 2-core bench machine 3 matched 4 and beat 2 (gzip of 500 MB, 4.0 s with 2); each slot holds a
    // block, a compression context and an output buffer (zstd + age: peak RSS 161 MiB with 2, 169 with 4).
    inFlight = Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1),
  ) {
    // Read a member at a time: a byte-mode reader (for await, read()) joins all that is buffered into
    // a fresh Buffer per read, a copy of the file, and the members could not be freed once written.
    super({ readableObjectMode: true, readableHighWaterMark: inFlight });
    this.encoders = Array.from({ length: inFlight }, () => codec(blockSize));
    this.freeBlocks = Array.from({ length: inFlight }, () => Buffer.allocUnsafeSlow(blockSize));
    this.block = Buffer.allocUnsafeSlow(blockSize);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.copyIn(chunk).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    // An empty input still makes one (empty) member or frame: a valid .gz or .zst file.
    const last = this.blockBytes > 0 || this.pending.length === 0 ? this.startBlock() : Promise.resolve();
    last
      .then(() => this.emitReady(0))
      .then(() => {
        this.closeEncoders();
        done();
      }, done);
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.closeEncoders();
    done(error);
  }

  /** Copies `chunk` into blocks, starting each block that fills. */
  private async copyIn(chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(this.blockSize - this.blockBytes, chunk.length - at);
      chunk.copy(this.block, this.blockBytes, at, at + n);
      this.blockBytes += n;
      at += n;
      if (this.blockBytes === this.blockSize) await this.startBlock();
    }
  }

  /** Hands the current block to the next slot, once that slot's previous member is out. */
  private async startBlock(): Promise<void> {
    await this.emitReady(this.encoders.length - 1);
    const block = this.block;
    const encoder = this.encoders[this.nextEncoder]!;
    this.nextEncoder = (this.nextEncoder + 1) % this.encoders.length;
    const member = encoder.encode(block.subarray(0, this.blockBytes)).finally(() => this.freeBlocks.push(block));
    // Awaited in order by emitReady; an early failure must not be an unhandled rejection meanwhile.
    member.catch(() => undefined);
    this.pending.push(member);
    this.block = this.freeBlocks.pop() ?? Buffer.allocUnsafeSlow(this.blockSize);
    this.blockBytes = 0;
  }

  /** Pushes finished members, oldest first, until at most `keep` are still being compressed. */
  private async emitReady(keep: number): Promise<void> {
    while (this.pending.length > keep) this.push(await this.pending.shift()!);
  }

  private closeEncoders(): void {
    for (const encoder of this.encoders) encoder.close();
  }
}

/** `compression: gzip`: ParallelCompress with gzip members at `level`. */
export class ParallelGzip extends ParallelCompress {
  constructor(level: number, blockSize = PGZIP_BLOCK, inFlight?: number) {
    super(gzipFrames(level), blockSize, inFlight);
  }
}
