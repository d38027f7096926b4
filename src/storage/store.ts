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
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
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
      if (name.endsWith('.index.json') && !name.includes('/')) names.push(name.slice(0, -'.index.json'.length));
    }
    return names.sort();
  }

  checkpointKey(backup: string): string {
    return `${this.prefix}${ROOT}indexes/partial/${backup}.index.json`;
  }

  /** The checkpoints of runs that stopped before their index was written, with when they were written. */
  async checkpoints(): Promise<{ key: string; lastModified: Date | undefined }[]> {
    const found: { key: string; lastModified: Date | undefined }[] = [];
    for await (const item of this.remote.list(this.bucket, `${this.prefix}${ROOT}indexes/partial/`)) {
      if (item.key.endsWith('.index.json')) found.push({ key: item.key, lastModified: item.lastModified });
    }
    return found;
  }

  async readCheckpoint(key: string): Promise<FileIndex> {
    return parseIndex(await this.remote.getText(this.bucket, key));
  }

  /** What a run has stored so far, so that a rerun after a failure does not fetch it again. */
  async writeCheckpoint(manifest: FileManifest, dir: string): Promise<void> {
    const { entries, ...head } = indexOf(manifest);
    const file = path.join(dir, 'checkpoint.json');
    await writeJsonFile(file, head, { entries }, null);
    await this.putSmallFile(this.checkpointKey(manifest.backup), file, 'application/json');
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

  /**
   * The manifest first, then the index: a backup is listed (indexedBackups) only once both are stored.
   * Both are written to files in `dir` an entry at a time (never one string of the whole), then uploaded.
   */
  async writeManifest(manifest: FileManifest, sealing: FileSealing | null, dir: string): Promise<void> {
    const { files, skipped, ...head } = manifest;
    const manifestFile = path.join(dir, 'manifest.json');
    await writeJsonFile(manifestFile, head, { files, skipped }, sealing);
    await this.putSmallFile(this.manifestKey(manifest.backup, sealing !== null), manifestFile, sealing ? 'application/octet-stream' : 'application/json');
    const { entries, ...indexHead } = indexOf(manifest);
    const indexFile = path.join(dir, 'index.json');
    await writeJsonFile(indexFile, indexHead, { entries }, null);
    await this.putSmallFile(this.indexKey(manifest.backup), indexFile, 'application/json');
    await this.remote.deleteKeys(this.bucket, [this.checkpointKey(manifest.backup)]);
  }

  private async putSmallFile(key: string, file: string, contentType: string): Promise<void> {
    const { size } = await stat(file);
    await this.remote.putFile(this.bucket, key, file, size, { contentType });
    await rm(file, { force: true });
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

/** `{...head, "<list>": [item, item, …], …}` as a stream of small strings, through age when sealed. */
async function writeJsonFile(file: string, head: object, lists: Record<string, readonly unknown[]>, sealing: FileSealing | null): Promise<void> {
  async function* json(): AsyncGenerator<string> {
    yield JSON.stringify(head).slice(0, -1);
    for (const [name, items] of Object.entries(lists)) {
      yield `,${JSON.stringify(name)}:[`;
      for (let i = 0; i < items.length; i++) yield `${i === 0 ? '' : ','}\n${JSON.stringify(items[i])}`;
      yield ']';
    }
    yield '}\n';
  }
  const stages = [Readable.from(json()), ...(sealing ? [new AgeEncryptStream({ recipients: sealing.recipients })] : []), createWriteStream(file, { mode: 0o600 })];
  await pipeline(stages as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream]);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

export async function decryptBytes(bytes: Buffer, identities: string[]): Promise<Buffer> {
  const decrypt = new AgeDecryptStream({ identities });
  const [, plain] = await Promise.all([decrypt.ready, collect(Readable.from([bytes]).pipe(decrypt))]);
  return plain;
}
