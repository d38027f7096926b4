/**
 * LocalRemote: the file store's keys as files under a directory (the artifact's file store), answering
 * as the S3 remote does: a missing key is a 404, list is in key order and honours the delimiter, a key
 * cannot leave the directory, and a FileStore over it keeps its manifest and index where a bucket would.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalRemote } from '../../src/storage/localremote.js';
import { statusOf } from '../../src/storage/transfer.js';

let root: string;
let remote: LocalRemote;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'localremote-'));
  remote = new LocalRemote(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const keysOf = async (prefix: string, delimiter?: string): Promise<string[]> => {
  const keys: string[] = [];
  for await (const item of remote.list('', prefix, delimiter)) keys.push(item.key);
  return keys;
};

describe('LocalRemote', () => {
  it('puts bytes and files under their keys and reads them back', async () => {
    await remote.putBytes('', 'storage-files/passphrase-salt', Buffer.from('c2FsdA=='));
    const source = path.join(root, 'source.bin');
    await writeFile(source, 'blob bytes');
    await remote.putFile('', 'storage-files/blobs/abc', source, 10);
    expect(await remote.getText('', 'storage-files/passphrase-salt')).toBe('c2FsdA==');
    const answer = await remote.get('', 'storage-files/blobs/abc');
    expect(answer.size).toBe(10);
    const chunks: Buffer[] = [];
    for await (const chunk of answer.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('blob bytes');
    expect(await remote.exists('', 'storage-files/blobs/abc')).toBe(true);
    // No temporary file is left beside a key.
    expect(await readdir(path.join(root, 'storage-files/blobs'))).toEqual(['abc']);
  });

  it('answers a missing key with 404, as S3 does', async () => {
    expect(await remote.exists('', 'storage-files/blobs/none')).toBe(false);
    expect(statusOf(await remote.getBytes('', 'storage-files/blobs/none').catch((e: unknown) => e))).toBe(404);
    expect(statusOf(await remote.get('', 'nothing/here').catch((e: unknown) => e))).toBe(404);
  });

  it('lists in key order under a prefix, with the delimiter only the keys directly under it', async () => {
    for (const key of ['storage-files/indexes/b.index.json', 'storage-files/indexes/a.index.json', 'storage-files/indexes/partial/c.index.json', 'full_x.sql']) {
      await remote.putBytes('', key, Buffer.from('{}'));
    }
    expect(await keysOf('storage-files/indexes/')).toEqual([
      'storage-files/indexes/a.index.json',
      'storage-files/indexes/b.index.json',
      'storage-files/indexes/partial/c.index.json',
    ]);
    expect(await keysOf('', '/')).toEqual(['full_x.sql']);
    expect(await keysOf('storage-files/blobs/')).toEqual([]);
    await remote.deleteKeys('', ['storage-files/indexes/a.index.json', 'storage-files/indexes/gone.json']);
    expect(await keysOf('storage-files/indexes/', '/')).toEqual(['storage-files/indexes/b.index.json']);
  });

  it('refuses a key that would leave its directory', async () => {
    for (const key of ['../escape', 'storage-files/../../escape', '/etc/passwd', 'a/./b']) {
      await expect(remote.putBytes('', key, Buffer.from('x')), key).rejects.toThrow(/not a plain relative path/);
    }
  });
});
