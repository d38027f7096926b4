/** Ed25519 signatures of backups (src/publish/signature.ts) and the `signing-key` input's checks. */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { checkSignatureFile, parsePublicKey, parseSigningKey, writeSignature } from '../../src/publish/signature.js';

const pair = () => generateKeyPairSync('ed25519');
const pem = (k: ReturnType<typeof pair>) => ({
  priv: k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  pub: k.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
});
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'signature-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('signatures', () => {
  it('sign, then check: the right key passes; another key, another file, changed bytes, no .sig are refused', async () => {
    const owner = pem(pair());
    const other = pem(pair());
    const bytes = Buffer.from('-- a backup\n');
    const file = path.join(dir, `full_2026-11-29T23-45-00-000Z_${sha(bytes).slice(0, 8)}.sql.age`);
    await writeFile(file, bytes);
    const sig = await writeSignature(file, sha(bytes), parseSigningKey(owner.priv));
    expect(sig).toBe(`${file}.sig`);
    expect(await readFile(sig, 'utf8')).toMatch(/^supabase-complete-backup signature 1\nfile: full_\S+\.sql\.age\nsha256: [0-9a-f]{64}\ned25519: \S+\n$/);
    await expect(checkSignatureFile(file, sha(bytes), parsePublicKey(owner.pub))).resolves.toBeUndefined();
    // the private key also gives its public key
    await expect(checkSignatureFile(file, sha(bytes), parsePublicKey(owner.priv))).resolves.toBeUndefined();
    await expect(checkSignatureFile(file, sha(bytes), parsePublicKey(other.pub))).rejects.toThrow(/not made with the private key of this public key/);
    await expect(checkSignatureFile(file, sha(Buffer.from('other')), parsePublicKey(owner.pub))).rejects.toThrow(/not the bytes that were signed/);
    await expect(checkSignatureFile(file, sha(bytes), parsePublicKey(owner.pub), sig, 'full_other.sql')).rejects.toThrow(/for another file/);
    await rm(sig);
    await expect(checkSignatureFile(file, sha(bytes), parsePublicKey(owner.pub))).rejects.toThrow(/has no signature/);
  });

  it("'signing-key' must be an Ed25519 PEM private key, and is never shown in the error", () => {
    const get = (key: string) => () => parseConfig((name) => ({ 'database-url': 'postgresql://postgres:x@db.example.com:5432/postgres', 'signing-key': key })[name] ?? '');
    expect(get(pem(pair()).priv)().signingKey).toContain('BEGIN PRIVATE KEY');
    expect(get('not a key')).toThrow(/'signing-key' is not a PEM private key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(get(rsa)).toThrow(/'signing-key' is a rsa key; it must be an Ed25519 key/);
    try {
      get(rsa)();
    } catch (error) {
      expect((error as Error).message).not.toContain(rsa.split('\n')[1]);
    }
  });
});
