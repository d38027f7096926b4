/**
 * age (age-encryption.org/v1) with the payload in native crypto. The `age-encryption` library makes and
 * reads the header (every recipient type it supports, the header MAC); the payload, the STREAM of
 * 64 KiB ChaCha20-Poly1305 chunks that holds every byte of the backup, is encrypted and decrypted here
 * with `node:crypto`, at native speed (the library's JavaScript cipher ran at about 95 MB/s).
 *
 * Payload, per the age spec: a 16-byte nonce after the header; payload key = HKDF-SHA-256(file key,
 * salt = nonce, info = "payload"); chunk i (64 KiB of plaintext, the last one shorter and never empty
 * unless the whole plaintext is) sealed with the 12-byte nonce = 11-byte big-endian i ‖ last-chunk flag.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scryptSync } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { Decrypter, Encrypter, Stanza, type Recipient } from 'age-encryption';
import { handOff, release } from './handoff.js';

const CHUNK = 64 * 1024;
const TAG = 16;
const NONCE = 16;
/** A header longer than this is not an age header this tool made or reads (it stops looking). */
const MAX_HEADER = 1 << 20;
const MAC_LINE = Buffer.from('\n--- ');

export class AgePayloadError extends Error {
  override name = 'AgePayloadError';
}

function payloadKey(fileKey: Uint8Array, nonce: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6); // 11-byte big-endian counter; 2^48 chunks is 16 EiB
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * The scrypt stanza of a passphrase (age spec: work factor 2^logN, r 8, p 1), wrapped with node's
 * native scrypt. The library's own passphrase mode cannot hand out the file key it picks.
 */
class ScryptRecipient implements Recipient {
  constructor(
    private readonly passphrase: string,
    private readonly logN: number,
  ) {}
  wrapFileKey(fileKey: Uint8Array): Stanza[] {
    const salt = randomBytes(16);
    const label = Buffer.concat([Buffer.from('age-encryption.org/v1/scrypt'), salt]);
    const N = 2 ** this.logN;
    const key = scryptSync(this.passphrase, label, 32, { N, r: 8, p: 1, maxmem: 128 * 8 * N + (32 << 20) });
    const cipher = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: TAG });
    const body = Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
    return [new Stanza(['scrypt', salt.toString('base64').replace(/=+$/, ''), String(this.logN)], body)];
  }
}

export type AgeTarget = { recipients: string[] } | { passphrase: string; logN?: number };

/**
 * A fresh file key and the age header that wraps it for `target`, made by the library: a recipient of
 * our own sits beside the real ones and only reads the file key (it adds no stanza). Recipient strings
 * are checked here (the library throws on a bad one).
 */
export async function ageHeader(target: AgeTarget): Promise<{ header: Buffer; fileKey: Uint8Array }> {
  let fileKey: Uint8Array | null = null;
  const encrypter = new Encrypter();
  if ('recipients' in target) {
    for (const recipient of target.recipients) encrypter.addRecipient(recipient);
  } else {
    encrypter.addRecipient(new ScryptRecipient(target.passphrase, target.logN ?? 18));
  }
  encrypter.addRecipient({
    wrapFileKey: (key: Uint8Array): Stanza[] => {
      fileKey = key;
      return [];
    },
  });
  // An empty file: its header, then a nonce and one empty chunk of a payload that is never used.
  const file = Buffer.from(await encrypter.encrypt(new Uint8Array(0)));
  const end = headerEnd(file);
  if (end < 0 || !fileKey) throw new AgePayloadError('age-encryption made no header');
  return { header: file.subarray(0, end), fileKey };
}

/** Where the header ends (after the MAC line's newline), or -1 when `bytes` does not hold all of it. */
function headerEnd(bytes: Buffer): number {
  const mac = bytes.indexOf(MAC_LINE);
  if (mac < 0) return -1;
  const newline = bytes.indexOf(0x0a, mac + MAC_LINE.length);
  return newline < 0 ? -1 : newline + 1;
}

/**
 * Cuts a stream of pieces into the STREAM payload's chunks of `size` bytes. A full chunk is handed on
 * only once a byte after it has arrived: only then is it known not to be the last. A chunk that lies
 * inside one piece is a subarray of it; only a chunk that spans pieces is copied, into one reused
 * buffer (so `each` must be done with a chunk when it returns: the ciphers copy it).
 */
class Chunker {
  private held: Buffer | null = null;
  private readonly partial: Buffer;
  private partialBytes = 0;

  constructor(
    private readonly size: number,
    private readonly each: (chunk: Buffer, last: boolean) => void,
  ) {
    this.partial = Buffer.allocUnsafeSlow(size);
  }

  take(piece: Buffer): void {
    for (let at = 0; at < piece.length; ) {
      if (this.held) {
        const chunk = this.held;
        this.held = null;
        this.each(chunk, false);
      }
      if (this.partialBytes === 0 && piece.length - at >= this.size) {
        this.held = piece.subarray(at, at + this.size);
        at += this.size;
        continue;
      }
      const n = Math.min(this.size - this.partialBytes, piece.length - at);
      piece.copy(this.partial, this.partialBytes, at, at + n);
      this.partialBytes += n;
      at += n;
      if (this.partialBytes === this.size) {
        // Handed on (at the top of the loop, or by end) before the next byte is copied in.
        this.held = this.partial;
        this.partialBytes = 0;
      }
    }
  }

  /** Hands on the last chunk: the held one, or what came after it (empty when nothing came at all). */
  end(): void {
    const last = this.held ?? this.partial.subarray(0, this.partialBytes);
    this.held = null;
    this.partialBytes = 0;
    this.each(last, true);
  }
}

/**
 * Encrypts a stream into an age file: header, nonce, then the payload in native ChaCha20-Poly1305.
 * Chunks are sealed straight from the incoming buffers; only a chunk that spans two of them is copied
 * (into one reused buffer), and each sealed chunk goes out as its ciphertext and its tag, uncopied.
 */
export class AgeEncryptStream extends Transform {
  private key: Buffer | null = null;
  private readonly nonce = randomBytes(NONCE);
  private counter = 0;
  private readonly chunks = new Chunker(CHUNK, (plain, last) => this.seal(plain, last));
  private readonly made: Promise<{ header: Buffer; fileKey: Uint8Array }>;
  /** The last piece taken: the chunker may still hold a view of it. */
  private lastPiece: Buffer | null = null;

  /** `target`: the recipients or the passphrase; the header is made when the first bytes arrive. */
  constructor(target: AgeTarget) {
    // Read one pushed buffer at a time: a byte-mode reader (for await, read()) joins everything buffered
    // into a fresh Buffer per read, a copy of the whole payload. 16 buffers: 8 sealed chunks.
    super({ readableObjectMode: true, readableHighWaterMark: 16 });
    this.made = ageHeader(target);
    this.made.catch(() => undefined);
  }

  private async start(): Promise<void> {
    if (this.key) return;
    const { header, fileKey } = await this.made;
    this.key = payloadKey(fileKey, this.nonce);
    this.push(header);
    this.push(this.nonce);
  }

  private seal(plain: Buffer, last: boolean): void {
    const cipher = createCipheriv('chacha20-poly1305', this.key!, chunkNonce(this.counter++, last), { authTagLength: TAG });
    // A fresh 64 KiB that only the file writer keeps: freed once written (handoff.ts).
    this.push(handOff(cipher.update(plain)));
    cipher.final();
    this.push(cipher.getAuthTag());
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.key) {
      this.start().then(
        () => this._transform(chunk, _encoding, done),
        (error: unknown) => done(error as Error),
      );
      return;
    }
    this.chunks.take(chunk);
    // Taking a non-empty piece seals what the chunker held of the one before, the last use of it: a
    // piece handed off (handoff.ts: a compressed member) is freed then.
    if (chunk.length > 0) {
      if (this.lastPiece) release(this.lastPiece);
      this.lastPiece = chunk;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.start().then(
      () => {
        this.chunks.end();
        if (this.lastPiece) release(this.lastPiece);
        this.lastPiece = null;
        done();
      },
      (error: unknown) => done(error as Error),
    );
  }
}

/** The key material a reader of an age file has. */
export interface AgeKeys {
  identities: string[];
  passphrase?: string;
}

/**
 * Decrypts an age file: the header through the library (every identity type it supports, the MAC),
 * the payload here. A changed, cut or reordered chunk fails with an AgePayloadError.
 */
export class AgeDecryptStream extends Transform {
  private head: Buffer[] = [];
  private headBytes = 0;
  private key: Buffer | null = null;
  private counter = 0;
  private readonly chunks = new Chunker(CHUNK + TAG, (sealed, last) => this.openAndPush(sealed, last));
  private readonly decrypter = new Decrypter();
  private headerRead: () => void = () => undefined;
  private headerFailed: (error: unknown) => void = () => undefined;
  /** Settles once the header is read: rejects for a wrong key or passphrase, or a header that is not age's. */
  readonly ready = new Promise<void>((resolve, reject) => {
    this.headerRead = resolve;
    this.headerFailed = reject;
  });

  constructor(keys: AgeKeys) {
    super();
    this.ready.catch(() => undefined);
    for (const identity of keys.identities) this.decrypter.addIdentity(identity);
    if (keys.passphrase) this.decrypter.addPassphrase(keys.passphrase);
  }

  private open(plainChunkSealed: Buffer, last: boolean): Buffer {
    const decipher = createDecipheriv('chacha20-poly1305', this.key!, chunkNonce(this.counter, last), { authTagLength: TAG });
    decipher.setAuthTag(plainChunkSealed.subarray(plainChunkSealed.length - TAG));
    const plain = decipher.update(plainChunkSealed.subarray(0, plainChunkSealed.length - TAG));
    try {
      decipher.final();
    } catch {
      throw new AgePayloadError(`the encrypted payload does not authenticate at chunk ${this.counter + 1}: the file was changed or is damaged`);
    }
    this.counter++;
    return plain;
  }

  private async readHeader(): Promise<void> {
    const bytes = Buffer.concat(this.head, this.headBytes);
    const end = headerEnd(bytes);
    if (end < 0 || bytes.length < end + NONCE) {
      if (bytes.length > MAX_HEADER) throw new AgePayloadError('no age header end found in the first MiB: not an age file');
      return;
    }
    const fileKey = await this.decrypter.decryptHeader(bytes.subarray(0, end));
    this.key = payloadKey(fileKey, bytes.subarray(end, end + NONCE));
    this.headerRead();
    this.head = [];
    const rest = bytes.subarray(end + NONCE);
    if (rest.length > 0) this.chunks.take(rest);
  }

  private openAndPush(sealed: Buffer, last: boolean): void {
    if (last && sealed.length < TAG) throw new AgePayloadError('the encrypted payload is cut short (no final chunk)');
    const plain = this.open(sealed, last);
    if (last && plain.length === 0 && this.counter > 1) throw new AgePayloadError('the encrypted payload ends with an empty chunk');
    this.push(plain);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.key) {
      try {
        this.chunks.take(chunk);
        done();
      } catch (error) {
        done(error as Error);
      }
      return;
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    this.readHeader().then(
      () => done(),
      (error: unknown) => {
        this.headerFailed(error);
        done(error as Error);
      },
    );
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.key) {
        const error = new AgePayloadError('the file ends inside its age header');
        this.headerFailed(error);
        throw error;
      }
      this.chunks.end();
      done();
    } catch (error) {
      done(error as Error);
    }
  }
}
