/**
 * The native age payload (src/streams/agestream.ts) against the two other implementations: files it
 * writes are read by the `age` CLI and by the age-encryption library, and files they write are read by
 * it, at the sizes where chunking can go wrong (0, 1, 64 KiB ± 1, several MiB) and for a 2 GiB stream;
 * a changed or cut payload fails.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decrypter, Encrypter } from 'age-encryption';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgeDecryptStream, AgeEncryptStream } from '../../src/streams/agestream.js';
import { ageDecryptWithPassphrase, ageKeygen, type AgeKey } from '../helpers/age.js';

const SIZES = [0, 1, 65535, 65536, 65537, 3 * 65536, 5 * 1024 * 1024 + 3];
const PASSPHRASE = 'a long enough test passphrase';

let dir: string;
let key: AgeKey;
let identity: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'agestream-'));
  key = await ageKeygen(dir);
  identity = (await readFile(key.identityFile, 'utf8')).split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-'))!;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `data` through a stream stage, in uneven pieces. */
async function through(stage: Transform, data: Buffer): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = 1 + ((i * 7919) % 100_000);
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), stage, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

describe.each(SIZES)('%i bytes', (size) => {
  let plain: Buffer;
  beforeAll(() => {
    plain = randomBytes(size);
  });

  it('written natively to a recipient: the age CLI and the library read it', async () => {
    const sealed = await through(new AgeEncryptStream({ recipients: [key.recipient] }), plain);
    const file = path.join(dir, `native-${size}.age`);
    await writeFile(file, sealed);
    const cli = await execa('age', ['-d', '-i', key.identityFile, file], { encoding: 'buffer' });
    expect(Buffer.from(cli.stdout).equals(plain)).toBe(true);
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity);
    expect(Buffer.from(await decrypter.decrypt(sealed)).equals(plain)).toBe(true);
  });

  it('written by the age CLI and by the library: read natively', async () => {
    const file = path.join(dir, `cli-${size}`);
    await writeFile(file, plain);
    await execa('age', ['-r', key.recipient, '-o', `${file}.age`, file]);
    const byCli = await through(new AgeDecryptStream({ identities: [identity] }), await readFile(`${file}.age`));
    expect(byCli.equals(plain)).toBe(true);
    const encrypter = new Encrypter();
    encrypter.addRecipient(key.recipient);
    const byLibrary = await through(new AgeDecryptStream({ identities: [identity] }), Buffer.from(await encrypter.encrypt(plain)));
    expect(byLibrary.equals(plain)).toBe(true);
  });
});

/** Runs `pieces` through a stream stage as they are. */
async function piecewise(stage: Transform, pieces: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), stage, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

/** `data` cut at `sizes`, repeated until it is used up. */
function cut(data: Buffer, sizes: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

describe('chunks sealed and opened from the incoming pieces or across them', () => {
  const K = 65536;
  // Whole chunks sealed in place, a chunk spanning pieces, a full chunk that is the last, 1-byte pieces.
  const PIECINGS: Record<string, number[]> = {
    'one piece': [Number.MAX_SAFE_INTEGER],
    'chunk-sized pieces': [K],
    '1 MiB pieces': [16 * K],
    'a chunk and a byte': [K + 1],
    'bytes between chunks': [1, 2 * K, 3, K - 3, 5 * K + 7],
  };
  for (const size of [4 * K, 4 * K + 5, 20 * K - 1]) {
    it.each(Object.keys(PIECINGS))(`${size} bytes in %s: the library reads what we write, we read what the library writes`, async (piecing) => {
      const plain = randomBytes(size);
      const sealed = await piecewise(new AgeEncryptStream({ recipients: [key.recipient] }), cut(plain, PIECINGS[piecing]!));
      const decrypter = new Decrypter();
      decrypter.addIdentity(identity);
      expect(Buffer.from(await decrypter.decrypt(sealed)).equals(plain)).toBe(true);
      const encrypter = new Encrypter();
      encrypter.addRecipient(key.recipient);
      const byLibrary = Buffer.from(await encrypter.encrypt(plain));
      const back = await piecewise(new AgeDecryptStream({ identities: [identity] }), cut(byLibrary, PIECINGS[piecing]!));
      expect(back.equals(plain)).toBe(true);
    });
  }
});

describe('passphrase (scrypt stanza made with native scrypt)', () => {
  it('written natively: the age CLI (at its prompt) and the library read it; the library writes it: read natively', async () => {
    const plain = randomBytes(200_000);
    const sealed = await through(new AgeEncryptStream({ passphrase: PASSPHRASE, logN: 14 }), plain);
    const file = path.join(dir, 'passphrase.age');
    await writeFile(file, sealed);
    const out = path.join(dir, 'passphrase.out');
    const cli = await ageDecryptWithPassphrase(file, PASSPHRASE, out);
    expect(cli.exitCode, cli.output).toBe(0);
    expect((await readFile(out)).equals(plain)).toBe(true);
    const decrypter = new Decrypter();
    decrypter.addPassphrase(PASSPHRASE);
    expect(Buffer.from(await decrypter.decrypt(sealed)).equals(plain)).toBe(true);

    const encrypter = new Encrypter();
    encrypter.setPassphrase(PASSPHRASE);
    encrypter.setScryptWorkFactor(12);
    const back = await through(new AgeDecryptStream({ identities: [], passphrase: PASSPHRASE }), Buffer.from(await encrypter.encrypt(plain)));
    expect(back.equals(plain)).toBe(true);
  });

  it('a wrong passphrase or key fails on the header', async () => {
    const sealed = await through(new AgeEncryptStream({ passphrase: PASSPHRASE, logN: 12 }), Buffer.from('secret rows'));
    await expect(through(new AgeDecryptStream({ identities: [], passphrase: 'not it' }), sealed)).rejects.toThrow(/incorrect passphrase|no identity matched/i);
    const other = await ageKeygen(dir, 'other.txt');
    const toOther = await through(new AgeEncryptStream({ recipients: [other.recipient] }), Buffer.from('secret rows'));
    await expect(through(new AgeDecryptStream({ identities: [identity] }), toOther)).rejects.toThrow(/no identity matched/);
  });
});

describe('a changed or cut payload fails', () => {
  let sealed: Buffer;
  let payloadStart: number;
  beforeAll(async () => {
    sealed = await through(new AgeEncryptStream({ recipients: [key.recipient] }), randomBytes(300_000));
    payloadStart = sealed.indexOf('\n--- ') + 1;
    payloadStart = sealed.indexOf('\n', payloadStart) + 1 + 16;
  });

  it('one byte changed in the second chunk', async () => {
    const tampered = Buffer.from(sealed);
    tampered[payloadStart + 65536 + 16 + 100]! ^= 1;
    await expect(through(new AgeDecryptStream({ identities: [identity] }), tampered)).rejects.toThrow(
      /does not authenticate at chunk 2: the file was changed or is damaged/,
    );
    const file = path.join(dir, 'tampered.age');
    await writeFile(file, tampered);
    expect((await execa('age', ['-d', '-i', key.identityFile, '-o', path.join(dir, 'tampered.out'), file], { reject: false })).exitCode).not.toBe(0);
  });

  it('the last chunk cut off, or two chunks swapped', async () => {
    const cut = sealed.subarray(0, payloadStart + 4 * (65536 + 16));
    await expect(through(new AgeDecryptStream({ identities: [identity] }), cut)).rejects.toThrow(/does not authenticate/);
    const chunk = 65536 + 16;
    const swapped = Buffer.concat([
      sealed.subarray(0, payloadStart),
      sealed.subarray(payloadStart + chunk, payloadStart + 2 * chunk),
      sealed.subarray(payloadStart, payloadStart + chunk),
      sealed.subarray(payloadStart + 2 * chunk),
    ]);
    await expect(through(new AgeDecryptStream({ identities: [identity] }), swapped)).rejects.toThrow(/at chunk 1/);
  });
});

it('a 2 GiB stream: written natively, read back by the age CLI, byte for byte (sha256)', async () => {
  const total = 2 * 1024 ** 3;
  const block = randomBytes(1 << 20);
  const sent = createHash('sha256');
  async function* generate(): AsyncGenerator<Buffer> {
    for (let at = 0, i = 0; at < total; at += block.length, i++) {
      // Each MiB differs (its first bytes carry its number), so a reordered chunk would show.
      const piece = Buffer.from(block);
      piece.writeUInt32BE(i, 0);
      sent.update(piece);
      yield piece;
    }
  }
  const file = path.join(dir, 'big.age');
  await pipeline(Readable.from(generate()), new AgeEncryptStream({ recipients: [key.recipient] }), createWriteStream(file));
  const age = execa('age', ['-d', '-i', key.identityFile, file], { encoding: 'buffer', buffer: false });
  const received = createHash('sha256');
  for await (const chunk of age.stdout!) received.update(chunk as Buffer);
  await age;
  const digest = received.digest('hex');
  expect(digest).toBe(sent.digest('hex'));
  // And natively, from the file.
  const back = createHash('sha256');
  await pipeline(createReadStream(file), new AgeDecryptStream({ identities: [identity] }), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) back.update(chunk);
  });
  expect(back.digest('hex')).toBe(digest);
  await rm(file);
}, 300_000);
