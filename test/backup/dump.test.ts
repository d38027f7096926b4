import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalescedReads, startPgDump, type DumpJob } from '../../src/backup/dump.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dump-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fakePgDump(name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

const job = (pgDump: string): DumpJob => ({ pgDump, env: { PATH: process.env.PATH }, snapshotId: 'x', secrets: ['s3cret'] });

describe('startPgDump', () => {
  it('streams stdout and resolves done on exit 0', async () => {
    const dump = startPgDump(job(await fakePgDump('ok', 'printf "line 1\\nline 2\\n"')), [], 'a part');
    const chunks: Buffer[] = [];
    for await (const chunk of dump.stdout) chunks.push(chunk as Buffer);
    await dump.done;
    expect(Buffer.concat(chunks).toString()).toBe('line 1\nline 2\n');
  });

  it('rejects with the last lines of stderr, secrets redacted, on failure', async () => {
    const script = await fakePgDump('fails', 'echo "partial output"; echo "pg_dump: error: password s3cret rejected" >&2; exit 1');
    const dump = startPgDump(job(script), [], 'the user schemas');
    for await (const _ of dump.stdout) void _;
    const error = await dump.done.catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(error!.name).toBe('DumpError');
    expect(error!.message).toBe('pg_dump of the user schemas failed: pg_dump: error: password *** rejected');
  });

  it('out of shared memory: names max_locks_per_transaction', async () => {
    const script = await fakePgDump(
      'locks',
      'echo "pg_dump: error: query failed: ERROR:  out of shared memory" >&2; echo "HINT:  You might need to increase max_locks_per_transaction." >&2; exit 1',
    );
    const dump = startPgDump(job(script), [], 'the user schemas');
    for await (const _ of dump.stdout) void _;
    const error = await dump.done.catch((e: unknown) => e as Error);
    expect(error!.message).toMatch(/out of shared memory[\s\S]*raise max_locks_per_transaction on the server/);
  });

  it('says so when pg_dump was killed, and kill() stops it', async () => {
    const dump = startPgDump(job(await fakePgDump('sleeps', 'echo started; exec sleep 30')), [], 'auth and storage data');
    dump.kill();
    await expect(dump.done).rejects.toThrow('pg_dump of auth and storage data failed: killed by SIGTERM');
  });
});

describe('coalescedReads', () => {
  it('passes every chunk through, in order', async () => {
    const chunks = Array.from({ length: 200 }, (_, i) => Buffer.alloc(1 + ((i * 7919) % 70_000), i % 256));
    const out: Buffer[] = [];
    for await (const chunk of coalescedReads(Readable.from(chunks))) out.push(chunk);
    expect(Buffer.concat(out).equals(Buffer.concat(chunks))).toBe(true);
  });
});
