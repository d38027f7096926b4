/**
 * A byte stream cut into lines (each with its newline), in linear time whatever the chunking: the
 * pieces of an unfinished line are kept as they come and joined once, when its newline arrives (never
 * joined again with every chunk, as a string carry is). A line longer than `maxLine` is not kept:
 * `onTooLong` gets its first bytes and the rest of it is skipped, so memory stays bounded.
 */
const NEWLINE = 0x0a;

export class LineSplitter {
  private carry: Buffer[] = [];
  private carryLength = 0;
  private skipping = false;

  constructor(
    private readonly onLine: (line: Buffer) => void,
    private readonly maxLine: number,
    private readonly onTooLong: (head: Buffer) => void = () => undefined,
  ) {}

  push(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, from);
      const stop = nl < 0 ? chunk.length : nl + 1;
      const piece = chunk.subarray(from, stop);
      from = stop;
      if (this.skipping) {
        if (nl >= 0) this.skipping = false;
        continue;
      }
      if (nl < 0) {
        this.carry.push(Buffer.from(piece));
        this.carryLength += piece.length;
        if (this.carryLength > this.maxLine) {
          const head = this.carry[0]!;
          this.carry = [];
          this.carryLength = 0;
          this.skipping = true;
          this.onTooLong(head);
        }
        continue;
      }
      const line = this.carryLength > 0 ? Buffer.concat([...this.carry, piece]) : piece;
      this.carry = [];
      this.carryLength = 0;
      this.onLine(line);
    }
  }

  /** The last line, when the stream does not end with a newline. */
  finish(): void {
    if (this.carryLength > 0 && !this.skipping) this.onLine(Buffer.concat(this.carry));
    this.carry = [];
    this.carryLength = 0;
  }
}
