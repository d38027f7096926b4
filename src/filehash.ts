/**
 * The sha256 of a file while it is being written, computed on a worker thread that reads it back from
 * the page cache a little behind the writer. Hashing on the main thread would put 1-2 s per 3 GB on the
 * thread every byte of the backup already goes through (pipe reads, the scan, the writes): measured
 * here, it made the whole backup that much slower. Reading back costs far less than that, on another
 * core, and the digest is of the bytes as they are in the file.
 */
import { Worker } from 'node:worker_threads';

/** Plain JavaScript, run by the worker (`eval`: nothing to bundle or locate on disk). */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const fd = openSync(workerData.path, 'r');
const hash = createHash('sha256');
const buffer = Buffer.allocUnsafe(1 << 20);
let hashed = 0;
parentPort.on('message', ({ written, final }) => {
  try {
    while (hashed < written) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, written - hashed), hashed);
      if (n === 0) throw new Error('the file is shorter than what was written to it');
      hash.update(buffer.subarray(0, n));
      hashed += n;
    }
    if (final) {
      closeSync(fd);
      parentPort.postMessage({ digest: hash.digest('hex') });
    }
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
});
`;

export class FileHasher {
  private readonly worker: Worker;
  private readonly result: Promise<string>;

  /** `path` must exist (opened, even if empty) before the hasher starts. */
  constructor(path: string) {
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: { path },
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.result = new Promise<string>((resolve, reject) => {
      this.worker.on('message', (message: { digest?: string; error?: string }) => {
        if (message.digest) resolve(message.digest);
        else reject(new Error(`hashing the backup file failed: ${message.error}`));
      });
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`the hashing thread stopped (exit code ${code})`)));
    });
    // Seen by digest(); a run that fails earlier must not leave an unhandled rejection.
    this.result.catch(() => undefined);
  }

  /** The first `written` bytes of the file are complete: hash them. */
  advance(written: number): void {
    this.worker.postMessage({ written, final: false });
  }

  /** The file is complete at `size` bytes: its sha256, in hex. */
  async digest(size: number): Promise<string> {
    this.worker.postMessage({ written: size, final: true });
    try {
      return await this.result;
    } finally {
      await this.stop();
    }
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
