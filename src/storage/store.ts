/**
 * The file store beside the SQL backups in the backup bucket (docs/storage-files.md):
 *
 *   <prefix>storage-files/blobs/<sha256>            plain: named by content (identical files stored once)
 *   <prefix>storage-files/blobs/<row key>.age       encrypted: named by row version, never by content
 *   <prefix>storage-files/manifests/<backup>.files.json[.age]   everything a restore needs
 *   <prefix>storage-files/indexes/<backup>.index.json           plain: what the next run and retention need
 *   <prefix>storage-files/indexes/partial/<backup>.<part>.index.json   checkpoints of a run not finished
 *   <prefix>storage-files/passphrase-salt                        the salt a passphrase is stretched with
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AgeDecryptStream, AgeEncryptStream } from '../streams/agestream.js';
import { JsonLinesFile, readJsonParts, type FlushedLines, type JsonPart } from './jsonfiles.js';
import { checkFormat, type FileEntry, type IndexEntry, type IndexHead, type ManifestHead, type SkippedFile } from './manifest.js';
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

  /** The checkpoints of a run: part 1, 2, … each holds the index lines since the one before. */
  checkpointKey(backup: string, part: number): string {
    return `${this.prefix}${ROOT}indexes/partial/${backup}.${String(part).padStart(6, '0')}.index.json`;
  }

  /** Every checkpoint part a run wrote (and the single checkpoint an earlier version wrote). */
  private async checkpointKeysOf(backup: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const item of this.remote.list(this.bucket, `${this.prefix}${ROOT}indexes/partial/${backup}.`)) keys.push(item.key);
    return keys;
  }

  /** The checkpoints of runs that stopped before their index was written, with when they were written. */
  async checkpoints(): Promise<{ key: string; lastModified: Date | undefined }[]> {
    const found: { key: string; lastModified: Date | undefined }[] = [];
    for await (const item of this.remote.list(this.bucket, `${this.prefix}${ROOT}indexes/partial/`)) {
      if (item.key.endsWith('.index.json')) found.push({ key: item.key, lastModified: item.lastModified });
    }
    return found;
  }

  /**
   * The entries of a stored index or checkpoint (`key`), handed to `onEntry` one at a time as they are
   * read from the bucket; returns the index's other fields.
   */
  async readIndexEntries(key: string, onEntry: (entry: IndexEntry) => void | Promise<void>): Promise<IndexHead> {
    const answer = await this.remote.get(this.bucket, key);
    const head: Record<string, unknown> = {};
    await readJsonParts(answer.body as AsyncIterable<Buffer>, (part) => {
      if (part.kind === 'field') {
        head[part.key] = part.value;
        if (part.key === 'format') checkFormat(part.value, 'index');
        return undefined;
      }
      return part.list === 'entries' ? onEntry(part.value as IndexEntry) : undefined;
    });
    checkFormat(head.format, 'index');
    return head as unknown as IndexHead;
  }

  /**
   * What a run has stored since its last checkpoint (`entries`: its index lines, from byte `from`), so
   * that a rerun after a failure does not fetch it again. Returns where the next part starts.
   */
  async writeCheckpoint(head: IndexHead, entries: JsonLinesFile, from: number, part: number, dir: string): Promise<number> {
    const flushed = await entries.flush();
    if (flushed.bytes === from) return from;
    const file = path.join(dir, 'checkpoint.json');
    await writeJsonFile(file, head, { entries: { lines: () => flushed.lines(from) } }, null);
    await this.putSmallFile(this.checkpointKey(head.backup, part), file, 'application/json');
    return flushed.bytes;
  }

  /**
   * The manifest first, then the index: a backup is listed (indexedBackups) only once both are stored.
   * Both are composed from the run's JSON-lines files into files in `dir` (through age when sealed), an
   * entry at a time, then uploaded.
   */
  async writeManifest(head: ManifestHead, lists: ManifestLists, sealing: FileSealing | null, dir: string): Promise<void> {
    const manifestFile = path.join(dir, 'manifest.json');
    await writeJsonFile(manifestFile, head, { files: await lists.files.flush(), skipped: await lists.skipped.flush() }, sealing);
    await this.putSmallFile(this.manifestKey(head.backup, sealing !== null), manifestFile, sealing ? 'application/octet-stream' : 'application/json');
    const indexHead: IndexHead = { format: head.format, backup: head.backup, createdAt: head.createdAt, blobNaming: head.blobNaming, encryption: head.encryption };
    const indexFile = path.join(dir, 'index.json');
    await writeJsonFile(indexFile, indexHead, { entries: await lists.index.flush() }, null);
    await this.putSmallFile(this.indexKey(head.backup), indexFile, 'application/json');
    await this.remote.deleteKeys(this.bucket, await this.checkpointKeysOf(head.backup));
  }

  private async putSmallFile(key: string, file: string, contentType: string): Promise<void> {
    const { size } = await stat(file);
    await this.remote.putFile(this.bucket, key, file, size, { contentType });
    await rm(file, { force: true });
  }

  /**
   * A backup's manifest, decrypted with `identities` when it was stored encrypted, brought into `dir` as
   * two JSON-lines files (its files and its skipped rows) that a restore reads as often as it needs.
   */
  async openManifest(backup: string, identities: string[], dir: string): Promise<ManifestFile> {
    const plainKey = this.manifestKey(backup, false);
    const sealed = !(await this.remote.exists(this.bucket, plainKey));
    if (sealed && identities.length === 0 && (await this.remote.exists(this.bucket, this.manifestKey(backup, true)))) {
      throw new Error(`the file manifest of ${backup} is encrypted: give the age identity or the passphrase`);
    }
    const answer = await this.remote.get(this.bucket, sealed ? this.manifestKey(backup, true) : plainKey);
    const files = await JsonLinesFile.create(path.join(dir, 'manifest-files.jsonl'));
    const skipped = await JsonLinesFile.create(path.join(dir, 'manifest-skipped.jsonl'));
    const head: Record<string, unknown> = {};
    const onPart = (part: JsonPart): Promise<void> | undefined => {
      if (part.kind === 'field') {
        head[part.key] = part.value;
        if (part.key === 'format') checkFormat(part.value, 'manifest');
        return undefined;
      }
      if (part.list === 'files') return files.append(part.value);
      return part.list === 'skipped' ? skipped.append(part.value) : undefined;
    };
    try {
      if (sealed) {
        const decrypt = new AgeDecryptStream({ identities });
        await Promise.all([decrypt.ready, pipeline(answer.body, decrypt, (plain: AsyncIterable<Buffer>) => readJsonParts(plain, onPart))]);
      } else await readJsonParts(answer.body as AsyncIterable<Buffer>, onPart);
      checkFormat(head.format, 'manifest');
    } finally {
      await files.close();
      await skipped.close();
    }
    return new ManifestFile(head as unknown as ManifestHead, files, skipped);
  }
}

/** The run's lists a manifest and its index are composed from. */
export interface ManifestLists {
  files: JsonLinesFile;
  skipped: JsonLinesFile;
  index: JsonLinesFile;
}

/** A stored manifest brought to local disk: its head in memory, its lists read one entry at a time. */
export class ManifestFile {
  constructor(
    readonly head: ManifestHead,
    private readonly fileList: JsonLinesFile,
    private readonly skippedList: JsonLinesFile,
  ) {}

  /** Files the backup holds. */
  get fileCount(): number {
    return this.fileList.count;
  }

  get skippedCount(): number {
    return this.skippedList.count;
  }

  async *files(): AsyncGenerator<FileEntry> {
    for await (const line of this.fileList.lines()) yield JSON.parse(line) as FileEntry;
  }

  async *skipped(): AsyncGenerator<SkippedFile> {
    for await (const line of this.skippedList.lines()) yield JSON.parse(line) as SkippedFile;
  }
}

/** `{...head, "<list>": [line, line, …], …}` from JSON-lines files (each line a JSON text), through age when sealed. */
async function writeJsonFile(file: string, head: object, lists: Record<string, Pick<FlushedLines, 'lines'>>, sealing: FileSealing | null): Promise<void> {
  async function* json(): AsyncGenerator<string> {
    yield JSON.stringify(head).slice(0, -1);
    for (const [name, list] of Object.entries(lists)) {
      yield `,${JSON.stringify(name)}:[`;
      let first = true;
      for await (const line of list.lines()) {
        yield `${first ? '' : ','}\n${line}`;
        first = false;
      }
      yield ']';
    }
    yield '}\n';
  }
  const stages = [Readable.from(json()), ...(sealing ? [new AgeEncryptStream({ recipients: sealing.recipients })] : []), createWriteStream(file, { mode: 0o600 })];
  await pipeline(stages as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream]);
}
