/**
 * Encryption of Storage files and their manifest (docs/storage-files.md). Files are age files like the
 * SQL backup. A passphrase is not used per file (age's scrypt costs about a second, per file): it is
 * stretched once per store, with a salt kept in the store, into an X25519 identity, and files are
 * encrypted to its public key; a restore with the passphrase derives the same identity.
 */
import { createHash, scryptSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { identityToRecipient } from 'age-encryption';
import { AgeEncryptStream } from '../streams/agestream.js';
import type { Encryption } from '../config.js';

export interface FileSealing {
  /** Public keys the blobs and the manifest are encrypted to. */
  recipients: string[];
  /** Names the key: blobs of an earlier backup are reused only when they were sealed for the same key. */
  fingerprint: string;
}

/** age's default scrypt work factor (what `age -p` uses): once per run, not per file. */
const PASSPHRASE_LOG_N = 18;

/** The X25519 identity (AGE-SECRET-KEY-1…) a passphrase stands for in a store with this salt. */
export function passphraseIdentity(passphrase: string, salt: Buffer): string {
  const N = 2 ** PASSPHRASE_LOG_N;
  const scalar = scryptSync(passphrase, Buffer.concat([Buffer.from('supabase-complete-backup/storage-files/'), salt]), 32, {
    N,
    r: 8,
    p: 1,
    maxmem: 128 * 8 * N + (32 << 20),
  });
  return bech32Encode('age-secret-key-', scalar).toUpperCase();
}

export async function fileSealing(encryption: Encryption, salt: () => Promise<Buffer>): Promise<FileSealing | null> {
  if (encryption.kind === 'none') return null;
  const recipients =
    encryption.kind === 'recipients'
      ? [...encryption.recipients].sort()
      : [await identityToRecipient(passphraseIdentity(encryption.passphrase, await salt()))];
  const fingerprint = `age:${createHash('sha256').update(recipients.join('\n')).digest('hex').slice(0, 32)}`;
  return { recipients, fingerprint };
}

/** Encrypts a file into another (age, to the sealing's recipients). */
export async function encryptFile(from: string, to: string, sealing: FileSealing): Promise<void> {
  await pipeline(createReadStream(from), new AgeEncryptStream({ recipients: sealing.recipients }), createWriteStream(to, { mode: 0o600 }));
}

const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function polymod(values: number[]): number {
  const generators = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let check = 1;
  for (const value of values) {
    const top = check >>> 25;
    check = ((check & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) check ^= generators[i]!;
  }
  return check >>> 0;
}

/** BIP-173 bech32, as age writes its keys. */
export function bech32Encode(hrp: string, data: Uint8Array): string {
  const words: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of data) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      words.push((acc >>> bits) & 31);
    }
  }
  if (bits > 0) words.push((acc << (5 - bits)) & 31);
  const expanded = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
  const check = polymod([...expanded, ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = Array.from({ length: 6 }, (_, i) => (check >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...words, ...checksum].map((w) => BECH32_ALPHABET[w]).join('')}`;
}
