/**
 * The backups in a directory or on a backups branch, newest first, with their size and what their
 * manifests say (tables, rows, users). The manifest is the file's last lines: read from the tail of a
 * plain file, or streamed through (gzip, age with a key, git blobs) keeping only the manifest lines.
 */
import { createReadStream, type Dirent } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { MARKER, parseManifestName } from '../sql/sqlscan.js';
import { LineSplitter } from '../streams/lines.js';
import { peek, plainStream, sealingOf, type Keys, type Sealing } from './unseal.js';

/** `full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql[.gz|.zst][.age]` */
export const BACKUP_NAME = /^full_(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z_([0-9a-f]{8})\.sql(\.gz|\.zst)?(\.age)?$/;

export interface Manifest {
  /** Rows per table, as the manifest lists them. */
  rows: Map<string, number>;
  tables: number;
  total: number;
  authUsers: number;
}

export interface BackupEntry {
  name: string;
  time: Date;
  bytes: number;
  /** A path on disk, or `<ref>:<path>` on a branch. */
  location: string;
  sealing: Sealing;
  manifest: Manifest | null;
  /** Why there is no manifest (encrypted without a key, truncated, unreadable). */
  note?: string;
  /** For branch entries: the blob id. */
  blob?: string;
}

export class ListError extends Error {
  override name = 'ListError';
}

export function backupTime(name: string): Date | null {
  const m = BACKUP_NAME.exec(name);
  if (!m) return null;
  return new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
}

/** Keeps the manifest lines of the last END OF BACKUP block of a line stream. */
class ManifestReader {
  private rows: Map<string, number> | null = null;
  private complete = false;
  private static readonly ROW = /^-- rows (.+) (\d+)\s*$/;
  // Manifest lines are short: a longer line (a large value) is skipped, not kept.
  private readonly lines = new LineSplitter((line) => this.line(line.toString('utf8').replace(/\r?\n$/, '')), 1 << 20);

  push(chunk: Buffer): void {
    this.lines.push(chunk);
  }

  private line(line: string): void {
    if (line.startsWith(MARKER.end)) {
      this.rows = new Map();
      this.complete = false;
      return;
    }
    if (!this.rows) return;
    const row = ManifestReader.ROW.exec(line);
    if (row) this.rows.set(parseManifestName(row[1]!), Number(row[2]));
    else if (/^-- total \d+ tables, \d+ rows/.test(line)) this.complete = true;
  }

  finish(): Manifest | null {
    this.lines.finish();
    if (!this.rows || !this.complete) return null;
    const total = [...this.rows.values()].reduce((sum, n) => sum + n, 0);
    return { rows: this.rows, tables: this.rows.size, total, authUsers: this.rows.get('auth.users') ?? 0 };
  }
}

/** The manifest of a plain SQL stream (read through to its end). */
export async function manifestOfStream(stream: Readable): Promise<Manifest | null> {
  const reader = new ManifestReader();
  for await (const chunk of stream) reader.push(chunk as Buffer);
  return reader.finish();
}

/** The manifest of a plain SQL file: its tail only, unless the manifest is longer than the tail. */
export async function manifestOfPlainFile(file: string, bytes: number): Promise<Manifest | null> {
  const TAIL = 1 << 20;
  if (bytes > TAIL) {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(TAIL);
      await handle.read(buffer, 0, TAIL, bytes - TAIL);
      const text = buffer.toString('utf8');
      const at = text.lastIndexOf(`\n${MARKER.end}`);
      if (at >= 0) {
        const reader = new ManifestReader();
        reader.push(Buffer.from(text.slice(at + 1), 'utf8'));
        const manifest = reader.finish();
        if (manifest) return manifest;
      }
    } finally {
      await handle.close();
    }
  }
  return manifestOfStream(createReadStream(file));
}

/** Reads an entry's manifest from its bytes (any sealing; age needs a key). */
async function describe(raw: Readable, entry: Omit<BackupEntry, 'manifest' | 'sealing'>, keys: Keys): Promise<BackupEntry> {
  const { head, stream } = await peek(raw, 32);
  const sealing = sealingOf(head);
  if (sealing.age && keys.identities.length === 0 && !keys.passphrase) {
    stream.destroy();
    return { ...entry, sealing, manifest: null, note: 'encrypted (give --identity or --passphrase to read its manifest)' };
  }
  try {
    const plain = await plainStream(stream, entry.name, { ...keys, askPassphrase: undefined });
    const manifest = await manifestOfStream(plain.stream);
    return { ...entry, sealing: plain.sealing, manifest, ...(manifest ? {} : { note: 'no manifest: the file is incomplete' }) };
  } catch (error) {
    stream.destroy();
    return { ...entry, sealing, manifest: null, note: (error as Error).message };
  }
}

/**
 * The backups in a directory and its direct subdirectories (`gh run download` puts each artifact in a
 * folder of its own), newest first.
 */
export async function listDirectory(dir: string, keys: Keys = { identities: [] }): Promise<BackupEntry[]> {
  let top: Dirent[];
  try {
    top = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new ListError(`cannot read directory ${dir}: ${(error as Error).message}`);
  }
  const files: string[] = [];
  for (const entry of top) {
    if (entry.isFile()) files.push(path.join(dir, entry.name));
    else if (entry.isDirectory()) {
      const inner = await readdir(path.join(dir, entry.name), { withFileTypes: true }).catch(() => [] as Dirent[]);
      for (const file of inner) if (file.isFile()) files.push(path.join(dir, entry.name, file.name));
    }
  }
  const entries: BackupEntry[] = [];
  for (const location of files) {
    const name = path.basename(location);
    const time = backupTime(name);
    if (!time) continue;
    const info = await stat(location);
    const base = { name, time, bytes: info.size, location };
    if (!/\.(gz|zst|age)$/.test(name)) {
      const head = await open(location, 'r').then(async (h) => {
        const b = Buffer.alloc(32);
        const { bytesRead } = await h.read(b, 0, 32, 0);
        await h.close();
        return b.subarray(0, bytesRead);
      });
      const sealing = sealingOf(head);
      if (!sealing.age && !sealing.gzip && !sealing.zstd) {
        const manifest = await manifestOfPlainFile(location, info.size);
        entries.push({ ...base, sealing, manifest, ...(manifest ? {} : { note: 'no manifest: the file is incomplete' }) });
        continue;
      }
    }
    entries.push(await describe(createReadStream(location), base, keys));
  }
  return entries.sort((a, b) => b.time.getTime() - a.time.getTime() || b.name.localeCompare(a.name));
}

/** Resolves a branch name in a repository: the local branch, else the remote-tracking one of origin. */
export async function resolveBranch(repo: string, branch: string): Promise<string> {
  const candidates = branch.includes('/') ? [branch] : [branch, `origin/${branch}`];
  for (const ref of candidates) {
    const result = await execa('git', ['-C', repo, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { reject: false });
    if (result.exitCode === 0) return ref;
  }
  throw new ListError(
    `no branch '${branch}' in ${repo} (nor origin/${branch}). Fetch it first: git fetch origin ${branch.replace(/^origin\//, '')}`,
  );
}

/** The backups on a branch of a git repository (`backups/full_*.sql*`), newest first. */
export async function listBranch(repo: string, branch: string, keys: Keys = { identities: [] }): Promise<BackupEntry[]> {
  const ref = await resolveBranch(repo, branch);
  const tree = await execa('git', ['-C', repo, 'ls-tree', '-r', '-l', ref], { reject: false });
  if (tree.exitCode !== 0) throw new ListError(`git ls-tree ${ref} failed: ${String(tree.stderr).trim()}`);
  const entries: BackupEntry[] = [];
  for (const line of String(tree.stdout).split('\n')) {
    const match = /^\d+ blob ([0-9a-f]+)\s+(\d+)\t(.+)$/.exec(line);
    if (!match) continue;
    const [, blob, size, file] = match;
    const name = path.posix.basename(file!);
    const time = backupTime(name);
    if (!time) continue;
    const child = execa('git', ['-C', repo, 'cat-file', 'blob', blob!], { buffer: false, reject: false, stdout: 'pipe', stderr: 'ignore' });
    const entry = await describe(child.stdout, { name, time, bytes: Number(size), location: `${ref}:${file}`, blob: blob! }, keys);
    child.kill();
    await child.catch(() => undefined);
    entries.push(entry);
  }
  return entries.sort((a, b) => b.time.getTime() - a.time.getTime() || b.name.localeCompare(a.name));
}

/** Writes a blob of a repository to a file (a backup taken from a branch, to restore or verify). */
export async function extractBlob(repo: string, blob: string, file: string): Promise<void> {
  const result = await execa('git', ['-C', repo, 'cat-file', 'blob', blob], { stdout: { file }, reject: false, stderr: 'pipe' });
  if (result.exitCode !== 0) throw new ListError(`git cat-file blob ${blob} failed: ${String(result.stderr).trim()}`);
}
