/**
 * Writing a stream of chunks to a file in batches of about 1 MiB, through the page cache.
 *
 * pg_dump's output arrives in pieces of 4 to 64 KB, and one write() per piece costs the kernel (and the
 * thread pool's round trips) far more than the same bytes in a few large writes: measured here, 2.7 GB
 * took 6.5 s of system time in 64 KB writes and 2.6 s in 1 MiB batches. The chunks of a batch are
 * written by reference with one writev (no copy), on the thread pool, up to two batches at a time
 * while the next one is gathered: waiting for each write before reading on would put the reading and
 * the writing of every byte one after the other.
 *
 * (An earlier build wrote with O_DIRECT, which won on one VM whose page cache was slow to grow right
 * after a large delete, and cost about half of the backup's time on ordinary machines and GitHub's
 * runners: see docs/performance.md.)
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { release } from './handoff.js';

export const BATCH_BYTES = 1 << 20;

/** A file opened for writing (and, for a spill file, reading back). */
export class OutputFile {
  private constructor(readonly handle: FileHandle) {}

  /** Creates (or empties) `file` with mode 0600. */
  static async create(file: string, options: { readBack?: boolean } = {}): Promise<OutputFile> {
    const access = options.readBack ? constants.O_RDWR : constants.O_WRONLY;
    return new OutputFile(await open(file, access | constants.O_CREAT | constants.O_TRUNC, 0o600));
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Writes every buffer whole at `position` (writev may write less than asked). */
export async function writeAll(file: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  let at = position;
  while (rest.length > 0) {
    let { bytesWritten } = await file.writev(rest, at);
    at += bytesWritten;
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) {
      bytesWritten -= rest[0]!.length;
      rest = rest.slice(1);
    }
    if (bytesWritten > 0) rest = [rest[0]!.subarray(bytesWritten), ...rest.slice(1)];
  }
}

export interface BatchOptions {
  /** Bytes per batch. */
  batchBytes?: number;
  /** Batches written at once while the next one is gathered. */
  maxInFlight?: number;
}

/**
 * Writes chunks to a file from offset 0, in batches, up to `maxInFlight` batches at a time (each at
 * its own offset) while the next one is gathered. `flush` ends the file.
 */
export class BatchWriter {
  /** Bytes from the start of the file whose writes have all completed. */
  written = 0;
  /** Bytes handed over so far, written or not. */
  accepted = 0;
  private readonly maxInFlight: number;
  private readonly batchBytes: number;
  /** The chunks of the next batch, by reference. */
  private batch: Buffer[] = [];
  private pendingBytes = 0;
  /** Where the next batch goes. */
  private position = 0;
  private ended = false;
  private readonly inFlight: Promise<void>[] = [];
  /** Completes when every write started so far has completed (in order). */
  private allWritten: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: OutputFile,
    options: BatchOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 2;
    this.batchBytes = options.batchBytes ?? BATCH_BYTES;
  }

  /** Takes a chunk (by reference: it must not change before it is written); waits only when writes are behind. */
  push(chunk: Buffer): Promise<void> | undefined {
    if (this.ended) throw new Error('BatchWriter: a chunk came after the end of the file');
    this.accepted += chunk.length;
    this.batch.push(chunk);
    this.pendingBytes += chunk.length;
    return this.pendingBytes >= this.batchBytes ? this.startWrite() : undefined;
  }

  /** Writes what is left and waits until every byte is in the file. */
  async flush(): Promise<void> {
    this.ended = true;
    await this.startWrite();
    await this.allWritten;
  }

  private async startWrite(): Promise<void> {
    while (this.inFlight.length >= this.maxInFlight) await this.inFlight.shift();
    const bytes = this.pendingBytes;
    if (bytes === 0) return;
    const chunks = this.batch;
    // Chunks handed off (handoff.ts: age's ciphertexts) end here.
    const write = writeAll(this.file.handle, chunks, this.position).then(() => chunks.forEach(release));
    this.batch = [];
    this.position += bytes;
    this.pendingBytes = 0;
    const done = Promise.all([this.allWritten, write]).then(() => {
      this.written += bytes;
    });
    // A failure is seen by whoever waits next (push or flush); it must not go unhandled meanwhile.
    done.catch(() => undefined);
    this.inFlight.push(done);
    this.allWritten = done;
  }
}

/** Writes `chunks` to `file` in batches; returns the number of bytes written. */
export async function writeInBatches(chunks: AsyncIterable<Buffer>, file: OutputFile, options?: BatchOptions): Promise<number> {
  const writer = new BatchWriter(file, options);
  for await (const chunk of chunks) await writer.push(chunk);
  await writer.flush();
  return writer.written;
}
