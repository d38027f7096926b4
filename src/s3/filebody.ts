/**
 * A byte range of a file as the body of one HTTP request, read into a few buffers that are used again
 * once the socket has written them.
 *
 * Why not fs.createReadStream: it reads every 64 KiB into a new Buffer, freed only when V8 collects
 * its wrapper, and V8 collects for memory outside its heap only after ~64 MB of it has piled up: an
 * upload held 33 (64 MiB file) to 60 MiB (3 GiB file) of such garbage at its peak. Here a body has at
 * most BUFFERS_PER_BODY buffers out, and the bodies of one upload share a ChunkPool, so an upload with
 * 4 parts in flight holds a few MiB of buffers whatever the size of the part or the file.
 *
 * The SDK sends a Readable body with `body.pipe(request)`; `pipe` is where this stream takes over: it
 * writes the range to the request itself, and a buffer goes back to the pool in the callback of its
 * write (when the socket has handed the bytes to the kernel, or the request has failed). Read as an
 * ordinary Readable, it reads the same range into fresh buffers.
 */
import { close, open, read } from 'node:fs';
import { Readable, type Writable } from 'node:stream';

/** Bytes read and written at a time. */
export const CHUNK_BYTES = 256 * 1024;
/**
 * Buffers one body may use: a write of a chunk larger than the request's high-water mark returns false
 * unless the socket took it at once, so at most one or two are out at any time.
 */
export const BUFFERS_PER_BODY = 4;

export interface ByteRange {
  /** First byte. */
  start: number;
  /** Last byte (inclusive, as fs.createReadStream's `end`); start - 1 for an empty range. */
  end: number;
}

export class FileRangeBody extends Readable {
  readonly #file: string;
  readonly #end: number;
  #position: number;
  #fd: Promise<number> | undefined;
  /** The fs.read in progress, which must finish before the descriptor is closed. */
  #reading: Promise<unknown> = Promise.resolve();
  #pumping = false;

  readonly #pool: ChunkPool;
  /** Buffers written and not yet called back, and who waits for one to come back. */
  #lent = 0;
  #returned: (() => void) | undefined;

  constructor(file: string, range: ByteRange, pool = new ChunkPool(BUFFERS_PER_BODY)) {
    super({ highWaterMark: CHUNK_BYTES });
    this.#file = file;
    this.#pool = pool;
    this.#position = range.start;
    this.#end = range.end + 1;
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (this.#pumping) throw new Error('FileRangeBody can be piped once');
    this.#pumping = true;
    this.#pump(destination as unknown as Writable, options?.end ?? true).catch((error: unknown) => this.destroy(asError(error)));
    return destination;
  }

  override _read(): void {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, this.#end - this.#position));
    if (buffer.length === 0) {
      this.push(null);
      return;
    }
    this.#readNext(buffer).then(
      (bytes) => this.push(buffer.subarray(0, bytes)),
      (error: unknown) => this.destroy(asError(error)),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fd = this.#fd;
    this.#fd = undefined;
    // A read still running on the descriptor would read whatever file gets its number next.
    void this.#reading
      .then(() => fd)
      .then(
        (opened) => (opened === undefined ? undefined : closeFd(opened)),
        () => undefined,
      )
      .finally(() => callback(error));
  }

  async #pump(destination: Writable, end: boolean): Promise<void> {
    const stopped = (): boolean => this.destroyed || destination.destroyed || destination.writableEnded;
    while (this.#position < this.#end && !stopped()) {
      if (this.#lent >= BUFFERS_PER_BODY) await new Promise<void>((resolve) => (this.#returned = resolve));
      const buffer = this.#pool.take();
      let bytes: number;
      try {
        bytes = await this.#readNext(buffer.subarray(0, Math.min(buffer.length, this.#end - this.#position)));
      } catch (error) {
        this.#pool.give(buffer);
        throw error;
      }
      if (stopped()) {
        this.#pool.give(buffer);
        return;
      }
      this.#lent++;
      const more = destination.write(buffer.subarray(0, bytes), () => this.#giveBack(buffer));
      if (!more) await drained(destination);
    }
    if (!stopped() && end) destination.end();
  }

  #giveBack(buffer: Buffer): void {
    this.#lent--;
    this.#pool.give(buffer);
    const waiting = this.#returned;
    this.#returned = undefined;
    waiting?.();
  }

  /** Reads the next bytes of the range into `buffer`; fewer than asked only at the range's end. */
  async #readNext(buffer: Buffer): Promise<number> {
    if (this.destroyed) throw new Error('FileRangeBody read after it was destroyed');
    this.#fd ??= openFd(this.#file);
    const fd = await this.#fd;
    const reading = readAt(fd, buffer, this.#position);
    this.#reading = reading.catch(() => undefined);
    const bytes = await reading;
    if (bytes === 0) throw new Error(`${this.#file} ended at byte ${this.#position}, before the ${this.#end} bytes to send`);
    this.#position += bytes;
    return bytes;
  }
}

/**
 * Free buffers of CHUNK_BYTES, shared by the bodies of one upload so that a part's buffers serve the
 * next part; keeps at most `keep` (a buffer whose write never called back is simply not returned).
 */
export class ChunkPool {
  readonly #free: Buffer[] = [];
  readonly #keep: number;

  constructor(keep: number) {
    this.#keep = keep;
  }

  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
  }

  give(buffer: Buffer): void {
    if (this.#free.length < this.#keep) this.#free.push(buffer);
  }
}

/** Resolves when `stream` drains, or closes or fails (the pump then stops). */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

function openFd(file: string): Promise<number> {
  return new Promise((resolve, reject) => open(file, 'r', (error, fd) => (error ? reject(error) : resolve(fd))));
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

function readAt(fd: number, buffer: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, 0, buffer.length, position, (error, bytes) => (error ? reject(error) : resolve(bytes))));
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
