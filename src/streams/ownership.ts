/**
 * Buffers handed over whole: made by one stage for the next alone (nothing else holds them or a view
 * of them), so that whoever is done with one last gives its memory back at once instead of leaving it
 * to the collector.
 *
 * Why: a stream that makes a fresh buffer per chunk (pg_dump's pipe reads, 64 KiB at most; age's
 * ciphertext, 64 KiB each) leaves them dead in the ArrayBuffer space until V8 collects, and V8 starts a
 * collection for ArrayBuffer memory only after about 64 MiB more of it: measured on Node 24, reading
 * and hashing a 2 GB file in 64 KiB chunks peaked at 140 MiB RSS, of which about 65 MiB was dead
 * ArrayBuffers. Freed at once (a detached ArrayBuffer frees its memory), the next allocation reuses the
 * same memory: the same read peaked at 57 MiB, with less CPU (fresh memory is fresh page faults).
 *
 * The rules: only the producer marks a buffer (handOver), before passing it on; a stage that keeps a
 * marked buffer after passing it on (a tee writing it elsewhere) claims it first; the last consumer
 * (the file writer once the write completed, a stage that copied it) releases it. A buffer not marked
 * is left to the collector, as any buffer was before: marking is what makes releasing possible.
 * Detaching needs ArrayBuffer.prototype.transfer (Node.js 22+); elsewhere nothing is marked.
 */
const handedOver = new WeakSet<Buffer>();
const canDetach = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

/** Marks `buffer` (which must span its whole ArrayBuffer, or it is not marked) as the next stage's alone. */
export function handOver(buffer: Buffer): Buffer {
  if (canDetach && buffer.length > 0 && buffer.byteOffset === 0 && buffer.length === buffer.buffer.byteLength) handedOver.add(buffer);
  return buffer;
}

/** Whether `buffer` is marked (and so would be freed by release). */
export function isHandedOver(buffer: Buffer): boolean {
  return handedOver.has(buffer);
}

/** Unmarks `buffer`: a stage that keeps it after passing it on; nobody frees it then but the collector. */
export function claim(buffer: Buffer): Buffer {
  handedOver.delete(buffer);
  return buffer;
}

/** Frees a marked buffer's memory (it is empty afterwards); does nothing to a buffer not marked. */
export function release(buffer: Buffer): void {
  if (handedOver.delete(buffer)) detach(buffer.buffer);
}

/** Frees an ArrayBuffer's memory now (every view of it is empty afterwards): its owner's call alone. */
export function detach(memory: ArrayBufferLike): void {
  if (!canDetach || !(memory instanceof ArrayBuffer)) return;
  try {
    (memory as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
  } catch {
    // Not detachable (node keeps some of its own buffers so, its shared pool among them): the
    // collector frees it, as before.
  }
}

/**
 * Copies pieces (views of buffers that are released right after) into blocks of `size` bytes, each
 * handed over whole when full. The copy is what lets the pieces' buffers go at once.
 */
export class BlockGatherer {
  private block: Buffer;
  private used = 0;

  constructor(private readonly size: number) {
    this.block = Buffer.allocUnsafeSlow(size);
  }

  /** Copies `piece` in; returns the blocks it filled (handed over), oldest first. */
  add(piece: Buffer, full: Buffer[] = []): Buffer[] {
    for (let at = 0; at < piece.length; ) {
      const n = Math.min(this.size - this.used, piece.length - at);
      piece.copy(this.block, this.used, at, at + n);
      this.used += n;
      at += n;
      if (this.used === this.size) {
        full.push(handOver(this.block));
        this.block = Buffer.allocUnsafeSlow(this.size);
        this.used = 0;
      }
    }
    return full;
  }

  /** What is gathered and not yet handed on (a copy of its own, handed over), or null when nothing is. */
  rest(): Buffer | null {
    if (this.used === 0) return null;
    const last = Buffer.allocUnsafeSlow(this.used);
    this.block.copy(last, 0, 0, this.used);
    this.used = 0;
    return handOver(last);
  }
}
