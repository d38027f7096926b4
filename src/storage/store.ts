/**
 * The file store beside the SQL backups in the backup bucket (docs/storage-files.md):
 *
 *   <prefix>storage-files/blobs/<sha256>            plain: named by content (identical files stored once)
 *   <prefix>storage-files/blobs/<row key>.age       encrypted: named by row version, never by content
 *   <prefix>storage-files/manifests/<backup>.files.json[.age]   everything a restore needs
 *   <prefix>storage-files/indexes/<backup>.index.json           plain: what the next run and retention need
 *   <prefix>storage-files/passphrase-salt                        the salt a passphrase is stretched with
 */
import { randomBytes } from 'node:crypto';
import { AgeDecryptStream, AgeEncryptStream } from '../streams/agestream.js';
import { Readable } from 'node:stream';
import { parseIndex, parseManifest, indexOf, type FileIndex, type FileManifest } from './manifest.js';
import type { Remote } from './remote.js';
import type { FileSealing } from './sealing.js';

const ROOT = 'storage-files/';

export class FileStore {
  constructor(
    readonly remote: Remote,
    readonly bucket: string,
    /** '' or ending in '/'. */
    readonly prefix: string,
  ) {}

  blobKey(blob: string): string {
    return `${this.prefix}${ROOT}blobs/${blob}`;
  }

  manifestKey(backup: string, sealed: boolean): string {
    return `${this.prefix}${ROOT}manifests/${backup}.files.json${sealed ? '.age' : ''}`;
  }

  indexKey(backup: string): string {
    return `${this.prefix}${ROOT}indexes/${backup}.index.json`;
  }

  /** The store's passphrase salt, made on first use. */
  async passphraseSalt(create: boolean): Promise<Buffer> {
    const key = `${this.prefix}${ROOT}passphrase-salt`;
    if (await this.remote.exists(this.bucket, key)) return Buffer.from((await this.remote.getText(this.bucket, key)).trim(), 'base64');
    if (!create) throw new Error(`the file store has no ${key}: no passphrase-encrypted file was ever stored there`);
    const salt = randomBytes(16);
    await this.remote.putBytes(this.bucket, key, Buffer.from(salt.toString('base64')), 'text/plain');
    return salt;
  }

  /** The backups that have a file index, oldest first (backup names start with their UTC time). */
  async indexedBackups(): Promise<string[]> {
    const prefix = `${this.prefix}${ROOT}indexes/`;
    const names: string[] = [];
    for await (const item of this.remote.list(this.bucket, prefix)) {
      const name = item.key.slice(prefix.length);
      if (name.endsWith('.index.json')) names.push(name.slice(0, -'.index.json'.length));
    }
    return names.sort();
  }

  async readIndex(backup: string): Promise<FileIndex> {
    return parseIndex(await this.remote.getText(this.bucket, this.indexKey(backup)));
  }

  /** The newest index, or null when the store holds none yet (a first, full backup). */
  async latestIndex(): Promise<FileIndex | null> {
    const backups = await this.indexedBackups();
    const newest = backups.at(-1);
    return newest ? this.readIndex(newest) : null;
  }

  /** The manifest first, then the index: a backup is listed (indexedBackups) only once both are stored. */
  async writeManifest(manifest: FileManifest, sealing: FileSealing | null): Promise<void> {
    const json = Buffer.from(`${JSON.stringify(manifest)}\n`);
    const body = sealing ? await encryptBytes(json, sealing) : json;
    await this.remote.putBytes(this.bucket, this.manifestKey(manifest.backup, sealing !== null), body, sealing ? 'application/octet-stream' : 'application/json');
    const index = Buffer.from(`${JSON.stringify(indexOf(manifest))}\n`);
    await this.remote.putBytes(this.bucket, this.indexKey(manifest.backup), index, 'application/json');
  }

  /** A backup's manifest, decrypted with `identities` when it was stored encrypted. */
  async readManifest(backup: string, identities: string[]): Promise<FileManifest> {
    const plainKey = this.manifestKey(backup, false);
    if (await this.remote.exists(this.bucket, plainKey)) return parseManifest(await this.remote.getText(this.bucket, plainKey));
    const sealed = await this.remote.getBytes(this.bucket, this.manifestKey(backup, true));
    if (identities.length === 0) throw new Error(`the file manifest of ${backup} is encrypted: give the age identity or the passphrase`);
    return parseManifest((await decryptBytes(sealed, identities)).toString('utf8'));
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

export async function encryptBytes(bytes: Buffer, sealing: FileSealing): Promise<Buffer> {
  return collect(Readable.from([bytes]).pipe(new AgeEncryptStream({ recipients: sealing.recipients })));
}

export async function decryptBytes(bytes: Buffer, identities: string[]): Promise<Buffer> {
  const decrypt = new AgeDecryptStream({ identities });
  const [, plain] = await Promise.all([decrypt.ready, collect(Readable.from([bytes]).pipe(decrypt))]);
  return plain;
}
