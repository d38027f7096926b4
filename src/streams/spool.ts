/**
 * Keeps a stream flowing before its consumer is ready, without holding it in memory: until the consumer
 * starts reading, chunks are appended to a spill file. Then the consumer reads the spill file while the
 * stream goes on filling it, up to a quarter more (a consumer slower than the stream must not send all
 * of it through the spill file: past that, the stream waits); once it has caught up, the consumer
 * takes the stream over and reads it directly, so whatever arrives after that is never written twice.
 *
 * The backup uses it for PART 2: its pg_dump runs from the start, concurrently with PART 1's, although
 * its bytes go after PART 1's in the file.
 */
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BATCH_BYTES, BatchWriter, OutputFile } from './filewrite.js';

/**
 * The consumer gets the spill file in pieces of this size, read one ahead. Small: at 4x the bench's
 * default size, 1 MiB pieces (that come and go faster than they are collected) raised the peak RSS
 * from about 140 to 154 MB.
 */
const PIECE = 64 * 1024;

export class Spool implements AsyncIterable<Buffer> {
  /** Bytes that went to the spill file (0 when the consumer was there from the start). */
  get spilledBytes(): number {
    return this.writer?.accepted ?? 0;
  }
  private writer: BatchWriter | null = null;
  private readonly source: AsyncIterator<Buffer>;
  private file: OutputFile | null = null;
  private readonly producer: Promise<void>;
  private ended = false;
  private handoff = false;
  private handed: Buffer | null = null;
  private failure: unknown = null;
  private consumed = false;
  /** How far the consumer has read the spill file. */
  private readPos = 0;
  /**
   * How much the spill file may hold in all once the consumer has arrived: what it held then and a
   * quarter more. A consumer that does not catch up within that (slower than the stream, or barely
   * faster) would otherwise send the whole stream through the file; the stream waits instead.
   */
  private spillLimit = Infinity;

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
    // The writer's `written` counts what is in the file; a batch is written while the next one is gathered.
    const spill = async (chunk: Buffer): Promise<void> => {
      if (!this.file) {
        this.file = await OutputFile.create(this.spillPath, { readBack: true });
        this.writer = new BatchWriter(this.file, { batchBytes: this.batchBytes });
      }
      await this.writer!.push(chunk);
    };
    const flush = async (): Promise<void> => {
      await this.writer?.flush();
    };
    try {
      for (;;) {
        if ((this.writer?.accepted ?? 0) >= this.limit) {
          // Enough on disk: let the stream wait (and its writer block) until the consumer comes.
          await flush();
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
        await spill(next.value);
        if (this.handoff || this.writer!.accepted > this.spillLimit) {
          // The consumer has caught up, or is not catching up: it reads the rest of the spill file, then
          // the stream (which waits meanwhile).
          await flush();
          return;
        }
      }
    } catch (error) {
      this.failure = error;
    }
  }

  /** The spill file from `readPos` to what is in it, a piece at a time, one read ahead of the consumer. */
  private async *readSpill(): AsyncGenerator<Buffer> {
    let issued = this.readPos;
    let next: Promise<Buffer> | null = null;
    const readAhead = (): void => {
      const want = Math.min(PIECE, (this.writer?.written ?? 0) - issued);
      if (next || want <= 0) return;
      next = this.readExactly(issued, want);
      next.catch(() => undefined);
      issued += want;
    };
    readAhead();
    while (next) {
      const piece: Buffer = await next;
      next = null;
      readAhead();
      this.readPos += piece.length;
      yield piece;
    }
  }

  private async readExactly(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    for (let got = 0; got < length; ) {
      const { bytesRead } = await this.file!.handle.read(buffer, got, length - got, position + got);
      if (bytesRead === 0) throw new Error(`the spill file ${this.spillPath} is shorter than what was written to it`);
      got += bytesRead;
    }
    return buffer;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    if (this.consumed) throw new Error('a Spool can be read only once');
    this.consumed = true;
    try {
      const spilled = this.writer?.accepted ?? 0;
      this.spillLimit = spilled * 1.25;
      // Nothing spilled yet: the stream is the consumer's from its next chunk on.
      if (spilled === 0) this.handoff = true;
      this.consumerArrived();
      yield* this.readSpill();
      // Caught up with what is in the file: the producer stops at its current chunk (the one it is
      // writing, or the next it receives) and the stream is read directly after the rest of the file.
      this.handoff = true;
      await this.producer;
      if (this.failure !== null) throw this.failure;
      yield* this.readSpill();
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
