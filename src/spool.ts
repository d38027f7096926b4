/**
 * Keeps a stream flowing before its consumer is ready, without holding it in memory: until the consumer
 * starts reading, chunks are appended to a spill file; then the stream waits while the consumer reads
 * the spill file, and the consumer takes the stream over and reads it directly, so whatever arrives
 * after that point is never written twice.
 *
 * The backup uses it for PART 2: its pg_dump runs from the start, concurrently with PART 1's, although
 * its bytes go after PART 1's in the file.
 */
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BATCH_BYTES, writeAll } from './filewrite.js';

/** Reads of the spill file stay small: large buffers that come and go raise the peak RSS. */
const READ_SIZE = 64 * 1024;

export class Spool implements AsyncIterable<Buffer> {
  /** Bytes that went through the spill file (0 when the consumer was there from the start). */
  spilledBytes = 0;
  private readonly source: AsyncIterator<Buffer>;
  private file: FileHandle | null = null;
  private readonly producer: Promise<void>;
  private ended = false;
  private handoff = false;
  private handed: Buffer | null = null;
  private failure: unknown = null;
  private consumed = false;

  private readonly limit: number;
  private readonly batchBytes: number;

  constructor(
    /** The stream to keep flowing (destroyed when the spool is closed unread). */
    private readonly stream: Readable,
    private readonly spillPath: string,
    options: {
      /** How to read the stream (a wrapper of its own iterator); default: the stream itself. */
      chunks?: AsyncIterable<Buffer>;
      /** Stop reading (the producer then waits) once this many bytes are in the spill file. */
      limit?: number;
      /** Chunks are appended to the spill file in batches of this many bytes (see filewrite.ts). */
      batchBytes?: number;
    } = {},
  ) {
    this.source = (options.chunks ?? (stream as AsyncIterable<Buffer>))[Symbol.asyncIterator]();
    this.limit = options.limit ?? Infinity;
    this.batchBytes = Math.min(options.batchBytes ?? BATCH_BYTES, this.limit);
    this.producer = this.produce();
  }

  private consumerArrived: () => void = () => undefined;
  private readonly arrival = new Promise<void>((resolve) => {
    this.consumerArrived = resolve;
  });

  private async produce(): Promise<void> {
    // `spilledBytes` counts what is in the file; at most one batch waits in memory.
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      this.file ??= await open(this.spillPath, 'w+', 0o600);
      await writeAll(this.file, batch);
      this.spilledBytes += batchBytes;
      batch = [];
      batchBytes = 0;
    };
    try {
      for (;;) {
        if (this.spilledBytes >= this.limit) {
          // Enough on disk: let the stream wait (and its writer block) until the consumer comes.
          await this.arrival;
          return;
        }
        const next = await this.source.next();
        if (next.done) {
          this.ended = true;
          await flush();
          return;
        }
        if (this.handoff) {
          await flush();
          this.handed = next.value;
          return;
        }
        batch.push(next.value);
        batchBytes += next.value.length;
        if (batchBytes >= this.batchBytes || this.handoff) await flush();
        if (this.handoff) return;
      }
    } catch (error) {
      this.failure = error;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    if (this.consumed) throw new Error('a Spool can be read only once');
    this.consumed = true;
    let readPos = 0;
    const readSpill = async (): Promise<Buffer> => {
      const want = Math.min(READ_SIZE, this.spilledBytes - readPos);
      const buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.file!.read(buffer, 0, want, readPos);
      if (bytesRead === 0) throw new Error(`the spill file ${this.spillPath} is shorter than what was written to it`);
      readPos += bytesRead;
      return bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
    };
    try {
      // The producer stops at its current chunk (the one it is writing, or the next it receives): a
      // consumer slower than the stream must not send all of it through the spill file. The stream
      // waits while the spill file is read.
      this.handoff = true;
      this.consumerArrived();
      while (readPos < this.spilledBytes) yield await readSpill();
      await this.producer;
      if (this.failure !== null) throw this.failure;
      while (readPos < this.spilledBytes) yield await readSpill();
      if (this.handed) {
        const chunk = this.handed;
        this.handed = null;
        yield chunk;
      }
      if (!this.ended) {
        for (;;) {
          const next = await this.source.next();
          if (next.done) break;
          yield next.value;
        }
      }
    } finally {
      await this.close();
    }
  }

  /** Deletes the spill file; stops the stream when it was not read to its end. */
  async close(): Promise<void> {
    this.handoff = true;
    this.consumerArrived();
    if (!this.stream.readableEnded) this.stream.destroy();
    await this.producer.catch(() => undefined);
    await this.file?.close().catch(() => undefined);
    this.file = null;
    await rm(this.spillPath, { force: true });
  }
}
