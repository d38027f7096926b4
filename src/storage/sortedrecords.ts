/**
 * Fixed-width binary records kept sorted by their first `keyWidth` bytes and found by binary search: the
 * compact form of a per-file lookup. 100 000 files cost 100 000 × `width` bytes (33 to 44 here), where a
 * Map or Set of hex strings costs about 110 bytes a file and much more garbage on the way.
 * A key added twice keeps its last record.
 */
const CHUNK_RECORDS = 4096;

export class SortedRecords {
  private sorted = Buffer.alloc(0);
  private full: Buffer[] = [];
  private tail: Buffer;
  private tailUsed = 0;
  private pendingCount = 0;

  constructor(
    readonly width: number,
    /** At least 4 bytes. */
    readonly keyWidth: number,
  ) {
    if (keyWidth < 4 || keyWidth > width) throw new Error(`a key of ${keyWidth} bytes in a record of ${width}`);
    this.tail = Buffer.allocUnsafe(width * CHUNK_RECORDS);
  }

  get size(): number {
    this.compact();
    return this.sorted.length / this.width;
  }

  /** Appends a record (its bytes are copied). Sorting waits until enough are pending, or a lookup. */
  add(record: Uint8Array): void {
    if (record.length !== this.width) throw new Error(`a record of ${record.length} bytes, expected ${this.width}`);
    if (this.tailUsed === CHUNK_RECORDS) {
      this.full.push(this.tail);
      this.tail = Buffer.allocUnsafe(this.width * CHUNK_RECORDS);
      this.tailUsed = 0;
    }
    this.tail.set(record, this.tailUsed * this.width);
    this.tailUsed++;
    // Duplicates (the same blob named by many backups) are merged away before they pile up.
    if (++this.pendingCount >= Math.max(65_536, this.sorted.length / this.width)) this.compact();
  }

  /** The record whose key is `key`, or null. */
  find(key: Uint8Array): Buffer | null {
    this.compact();
    const { width, keyWidth, sorted } = this;
    let low = 0;
    let high = sorted.length / width;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const order = sorted.compare(key, 0, keyWidth, mid * width, mid * width + keyWidth);
      if (order === 0) return sorted.subarray(mid * width, (mid + 1) * width);
      if (order < 0) low = mid + 1;
      else high = mid;
    }
    return null;
  }

  private compact(): void {
    if (this.pendingCount === 0) return;
    const { width, keyWidth } = this;
    const all = Buffer.concat([this.sorted, ...this.full, this.tail.subarray(0, this.tailUsed * width)]);
    this.full = [];
    this.tailUsed = 0;
    this.pendingCount = 0;
    const count = all.length / width;
    // Sorted by key, then by when added: the last record of a run of equal keys is the one kept.
    // The keys' first 4 bytes decide nearly every comparison (keys are hashes) without a call into Buffer.
    const order = new Uint32Array(count);
    const prefix = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      order[i] = i;
      prefix[i] = all.readUInt32BE(i * width);
    }
    order.sort((a, b) =>
      prefix[a] !== prefix[b]
        ? prefix[a]! < prefix[b]!
          ? -1
          : 1
        : all.compare(all, b * width, b * width + keyWidth, a * width, a * width + keyWidth) || a - b,
    );
    let kept = 0;
    const out = Buffer.allocUnsafe(all.length);
    for (let i = 0; i < count; i++) {
      const at = order[i]! * width;
      const next = i + 1 < count ? order[i + 1]! * width : -1;
      if (next >= 0 && all.compare(all, next, next + keyWidth, at, at + keyWidth) === 0) continue;
      all.copy(out, kept * width, at, at + width);
      kept++;
    }
    this.sorted = Buffer.from(out.subarray(0, kept * width));
  }
}
