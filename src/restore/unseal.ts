/**
 * Reading a backup file back as plain SQL, whatever was done to it: `.sql`, `.sql.gz`, `.sql.zst`,
 * `.sql.age`, `.sql.gz.age`, `.sql.zst.age`. What a file is comes from its first bytes (age's header
 * line, gzip's and zstd's magic numbers),
 * not its name, so a renamed file still reads. Decryption (age-encryption, X25519 identities or a
 * scrypt passphrase) and decompression (zlib) are stream transforms: nothing is held whole.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable, type Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { createGunzip } from 'node:zlib';
import { AgeDecryptStream } from '../streams/agestream.js';

export class UnsealError extends Error {
  override name = 'UnsealError';
}

export interface Keys {
  /** age secret keys (`AGE-SECRET-KEY-1...`). */
  identities: string[];
  passphrase?: string;
  /** Asked when the file is encrypted and neither identities nor a passphrase were given. */
  askPassphrase?: () => Promise<string>;
}

export interface Sealing {
  age: boolean;
  gzip: boolean;
  zstd: boolean;
}

const AGE_HEADER = Buffer.from('age-encryption.org/v1\n');
const AGE_ARMOR = Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----');
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Reads the age secret keys of an identity file (as written by age-keygen; `#` lines are comments). */
export async function readIdentityFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UnsealError(`cannot read the identity file ${file}: ${(error as Error).message}`);
  }
  const keys = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => /^AGE-SECRET-KEY-/.test(line));
  if (keys.length === 0) {
    throw new UnsealError(`${file} holds no age secret key (a line starting with AGE-SECRET-KEY-); make one with age-keygen`);
  }
  return keys;
}

/** The first `n` bytes of a stream, and a stream that still yields everything. */
export async function peek(stream: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | Uint8Array>;
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < n) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = Buffer.from(next.value);
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  }
  return { head: head.subarray(0, n), stream: Readable.from(all(), { objectMode: false }) };
}

export function sealingOf(head: Buffer): Sealing {
  return {
    age: head.subarray(0, AGE_HEADER.length).equals(AGE_HEADER),
    gzip: head.subarray(0, 2).equals(GZIP_MAGIC),
    zstd: head.subarray(0, 4).equals(ZSTD_MAGIC),
  };
}

/**
 * The plain SQL of a backup given as a byte stream. `label` names it in errors. Reports what it
 * undid in `sealing`.
 */
export async function plainStream(raw: Readable, label: string, keys: Keys): Promise<{ stream: Readable; sealing: Sealing }> {
  let { head, stream } = await peek(raw, AGE_HEADER.length);
  const sealing: Sealing = { age: false, gzip: false, zstd: false };
  if (head.subarray(0, AGE_ARMOR.length).equals(AGE_ARMOR)) {
    throw new UnsealError(`${label} is ASCII-armored age; decrypt it with 'age -d' first, or give the binary .age file`);
  }
  if (sealingOf(head).age) {
    sealing.age = true;
    stream = await decrypt(stream, label, keys);
    ({ head, stream } = await peek(stream, ZSTD_MAGIC.length));
  }
  if (sealingOf(head).gzip) {
    sealing.gzip = true;
    stream = decompressWith(stream, createGunzip({ chunkSize: 1 << 20 }));
  } else if (sealingOf(head).zstd) {
    sealing.zstd = true;
    const zstd = zlib as { createZstdDecompress?: (options: object) => Transform };
    if (!zstd.createZstdDecompress) {
      throw new UnsealError(
        `${label} is zstd-compressed, and this Node.js (${process.versions.node}) has no zstd (Node.js 22.15 or newer has it): ` +
          "use a newer Node.js, or decompress it first with 'zstd -d'",
      );
    }
    stream = decompressWith(stream, zstd.createZstdDecompress({ chunkSize: 1 << 20 }));
  }
  return { stream, sealing };
}

function decompressWith(stream: Readable, decompress: Transform): Readable {
  stream.on('error', (error) => decompress.destroy(error));
  return stream.pipe(decompress);
}

/** The plain SQL of a backup file. */
export async function openPlain(file: string, keys: Keys): Promise<{ stream: Readable; sealing: Sealing }> {
  return plainStream(createReadStream(file, { highWaterMark: 1 << 20 }), file, keys);
}

async function decrypt(stream: Readable, label: string, keys: Keys): Promise<Readable> {
  let passphrase = keys.passphrase;
  if (keys.identities.length === 0 && !passphrase) {
    if (!keys.askPassphrase) {
      throw new UnsealError(
        `${label} is encrypted (age): give the key with --identity KEYFILE, or the passphrase with --passphrase or BACKUP_PASSPHRASE`,
      );
    }
    passphrase = await keys.askPassphrase();
  }
  const decrypted = new AgeDecryptStream({ identities: keys.identities, passphrase });
  stream.on('error', (error) => decrypted.destroy(error));
  // A wrong key fails the header: reported below through `ready`, not as an unhandled 'error' event.
  const header = (): void => undefined;
  decrypted.on('error', header);
  stream.pipe(decrypted);
  try {
    await decrypted.ready;
    decrypted.off('error', header);
    return decrypted;
  } catch (error) {
    decrypted.destroy();
    const message = (error as Error).message;
    if (/no identity matched|incorrect passphrase|scrypt/i.test(message)) {
      throw new UnsealError(`cannot decrypt ${label}: ${message} (wrong key or passphrase?)`);
    }
    throw new UnsealError(`cannot decrypt ${label}: ${message}`);
  }
}
