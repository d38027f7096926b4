/**
 * Freeing the big buffers of a sealed backup at once, by their last user, instead of when V8 next
 * collects.
 *
 * V8 frees an ArrayBuffer's memory only when a collection finds it dead, and with the heap let grow
 * (heap.ts) that is after ~64 MiB more of them: with zstd and age, the compressed frames and age's
 * ciphertexts doubled what the plain backup allocates per byte, and the pile of dead buffers was most
 * of the 50 MiB by which D's peak RSS exceeded A's. Only buffers that one stage made and that pass
 * along one line of stages are handed off: zstd/gzip members (copied out of node:zlib's shared output
 * buffer) and age's ciphertexts. Their last user detaches them (ArrayBuffer.prototype.transfer), so a
 * reader that kept one anyway sees it empty. On a Node.js without transfer (< 21) nothing is marked or copied.
 */
const handedOff = new WeakSet<ArrayBufferLike>();

/** Whether this Node.js can free a buffer at once (ArrayBuffer.prototype.transfer: Node.js 21 and newer). */
export const canTransfer = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

/** Marks `chunk` (a buffer of its own, whole) as freed by whoever uses it last; returns it. */
export function handOff(chunk: Buffer): Buffer {
  if (canTransfer && chunk.length > 0 && chunk.byteOffset === 0 && chunk.length === chunk.buffer.byteLength) handedOff.add(chunk.buffer);
  return chunk;
}

/** Frees `chunk`'s memory now if it was handed off; the caller is its last user. */
export function release(chunk: Buffer): void {
  if (handedOff.delete(chunk.buffer)) detach(chunk.buffer);
}

/** Frees an ArrayBuffer that nothing else reads any more. */
export function detach(buffer: ArrayBufferLike): void {
  if (canTransfer) (buffer as ArrayBuffer & { transfer: (length: number) => ArrayBuffer }).transfer(0);
}
