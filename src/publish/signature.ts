/**
 * Authenticity of a backup: an Ed25519 signature (node:crypto) made with the owner's private key
 * (`signing-key`, a secret), written beside the backup as `<file>.sig` and stored with it by every
 * destination. `restore` and `verify` check it with the public key before anything else.
 *
 * The signature covers a small statement, not the file itself, so it can be checked as the file
 * streams: the file's name and the sha256 of its stored bytes (after gzip and age):
 *
 *   supabase-complete-backup signature 1
 *   file: full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql.gz.age
 *   sha256: 3fa9c1d2…(64 hex)
 *   ed25519: <base64 signature of the three lines above, newlines included>
 *
 * An age recipient key is public: anyone holding it can make an `.age` file the real key decrypts.
 * Only the signature says that the owner of the private key made the file.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const SIGNATURE_SUFFIX = '.sig';
const HEADER = 'supabase-complete-backup signature 1';

export class SignatureError extends Error {
  override name = 'SignatureError';
}

/** The private key from `signing-key` (PKCS#8 PEM); throws a message that never shows the key. */
export function parseSigningKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new SignatureError("'signing-key' is not a PEM private key: make one with `openssl genpkey -algorithm ed25519 -out signing-key.pem`");
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SignatureError(`'signing-key' is a ${key.asymmetricKeyType ?? 'unknown'} key; it must be an Ed25519 key (openssl genpkey -algorithm ed25519)`);
  }
  return key;
}

/** The public key to check signatures with (PEM: SPKI public key, or the private key itself). */
export function parsePublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new SignatureError('the public key is not a PEM public key (make it with `openssl pkey -in signing-key.pem -pubout -out signing-key.pub`)');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new SignatureError(`the public key is a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
  return key;
}

function statement(file: string, sha256: string): string {
  return `${HEADER}\nfile: ${file}\nsha256: ${sha256}\n`;
}

/** Writes `<backup>.sig` for the stored file `backupPath` whose bytes have `sha256`; returns its path. */
export async function writeSignature(backupPath: string, sha256: string, key: KeyObject): Promise<string> {
  const signed = statement(path.basename(backupPath), sha256);
  const signature = sign(null, Buffer.from(signed, 'utf8'), key).toString('base64');
  const sigPath = `${backupPath}${SIGNATURE_SUFFIX}`;
  await writeFile(sigPath, `${signed}ed25519: ${signature}\n`, { mode: 0o644 });
  return sigPath;
}

/**
 * Checks the signature `sigText` of a stored file named `name` whose bytes have `sha256`; throws a
 * SignatureError that says what is wrong.
 */
export function checkSignature(sigText: string, name: string, sha256: string, key: KeyObject): void {
  const match = /^supabase-complete-backup signature 1\nfile: ([^\n]+)\nsha256: ([0-9a-f]{64})\ned25519: ([A-Za-z0-9+/=]+)\n?$/.exec(sigText);
  if (!match) throw new SignatureError('its signature file is not a supabase-complete-backup signature');
  const [, file, signedSha, signature] = match;
  if (!verify(null, Buffer.from(statement(file!, signedSha!), 'utf8'), key, Buffer.from(signature!, 'base64'))) {
    throw new SignatureError('its signature was not made with the private key of this public key: it is not your backup');
  }
  if (file !== name) throw new SignatureError(`its signature is for another file (${file})`);
  if (signedSha !== sha256) throw new SignatureError('its bytes are not the bytes that were signed: it was changed after it was made');
}

/** Reads `<file>.sig` (or `sigPath`) and checks it; throws SignatureError when it is missing or wrong. */
export async function checkSignatureFile(file: string, sha256: string, key: KeyObject, sigPath = `${file}${SIGNATURE_SUFFIX}`, name = path.basename(file)): Promise<void> {
  let text: string;
  try {
    text = await readFile(sigPath, 'utf8');
  } catch {
    throw new SignatureError(`it has no signature (${path.basename(sigPath)} is missing), and a public key was given: only signed backups are accepted`);
  }
  checkSignature(text, name, sha256, key);
}
