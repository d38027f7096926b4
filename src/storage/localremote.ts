/**
 * The file store's keys as files under a directory: the store the artifact destination carries (and a
 * downloaded, unzipped artifact that `restore --files-from DIR` reads). Key `a/b/c` is `<root>/a/b/c`;
 * the bucket argument is ignored. A file is written under a temporary name and renamed, so a key either
 * holds all its bytes or does not exist. A missing key fails like S3 does: an error with status 404.
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ListedObject, PutOptions, Remote, RemoteObject } from './remote.js';

export class LocalRemote implements Remote {
  constructor(readonly root: string) {}

  /** The path of a key; a key that would leave the root (`..`, absolute) is refused. */
  pathOf(key: string): string {
    const parts = key.split('/');
    if (key.startsWith('/') || parts.some((part) => part === '..' || part === '.' || part.includes('\\'))) {
      throw new Error(`file store key '${key}' is not a plain relative path`);
    }
    return path.join(this.root, ...parts);
  }

  async get(_bucket: string, key: string, signal?: AbortSignal): Promise<RemoteObject> {
    const file = this.pathOf(key);
    const { size } = await stat(file).catch(notFound(key));
    return { body: createReadStream(file, signal ? { signal } : {}), eTag: undefined, size };
  }

  async getText(bucket: string, key: string): Promise<string> {
    return (await this.getBytes(bucket, key)).toString('utf8');
  }

  async getBytes(_bucket: string, key: string): Promise<Buffer> {
    return readFile(this.pathOf(key)).catch(notFound(key));
  }

  async putFile(_bucket: string, key: string, file: string, _size: number, _options?: PutOptions, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    await this.writeAtomically(key, (temp) => copyFile(file, temp));
  }

  async putBytes(_bucket: string, key: string, bytes: Buffer): Promise<void> {
    await this.writeAtomically(key, (temp) => writeFile(temp, bytes, { mode: 0o600 }));
  }

  async exists(_bucket: string, key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  async *list(_bucket: string, prefix: string, delimiter?: string): AsyncGenerator<ListedObject> {
    for (const key of (await this.keysUnder(prefix.slice(0, prefix.lastIndexOf('/') + 1))).sort()) {
      if (!key.startsWith(prefix)) continue;
      if (delimiter && key.slice(prefix.length).includes(delimiter)) continue;
      const info = await stat(this.pathOf(key));
      yield { key, size: info.size, lastModified: info.mtime };
    }
  }

  async deleteKeys(_bucket: string, keys: string[]): Promise<void> {
    for (const key of keys) await rm(this.pathOf(key), { force: true });
  }

  close(): void {}

  /** Every key in the folder `dir` ('' or ending in '/') and below it. */
  private async keysUnder(dir: string): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(dir ? this.pathOf(dir.slice(0, -1)) : this.root, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const keys: string[] = [];
    for (const entry of entries) {
      if (entry.isDirectory()) keys.push(...(await this.keysUnder(`${dir}${entry.name}/`)));
      else if (entry.isFile() && !entry.name.endsWith(PARTIAL)) keys.push(`${dir}${entry.name}`);
    }
    return keys;
  }

  private async writeAtomically(key: string, write: (temp: string) => Promise<void>): Promise<void> {
    const file = this.pathOf(key);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}${PARTIAL}`;
    try {
      await write(temp);
      await rename(temp, file);
    } finally {
      await rm(temp, { force: true });
    }
  }
}

const PARTIAL = '.partial';

function notFound(key: string): (error: unknown) => never {
  return (error) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw Object.assign(new Error(`${key}: not in the file store`), { status: 404 });
    }
    throw error;
  };
}

/** Every file under `root` with its size, as paths relative to it (the artifact's entries). */
export async function filesUnder(root: string): Promise<{ file: string; size: number }[]> {
  const remote = new LocalRemote(root);
  const found: { file: string; size: number }[] = [];
  for await (const item of remote.list('', '')) found.push({ file: remote.pathOf(item.key), size: item.size });
  return found;
}
