/**
 * Client lookup over directories of real-looking clients: small executables that print the version
 * line a real pg_dump prints. They are good for selection only, which is all that is tested here.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidateBinDirs, findPgTools, isWrapper, readClientVersion, requirePgTools, ToolsError } from '../../src/postgres/tools.js';

let root: string;

/** A bin directory holding a pg_dump and psql that report `version`; options drop psql or write a pg_wrapper. */
async function client(name: string, version: string, options: { psql?: boolean; wrapper?: boolean } = {}): Promise<string> {
  const dir = path.join(root, name, 'bin');
  await mkdir(dir, { recursive: true });
  const script = options.wrapper
    ? `#!/usr/bin/perl\n# Call a PostgreSQL client program with the version, cluster and default\nprint "pg_dump (PostgreSQL) ${version}\\n";\n`
    : `#!/bin/sh\necho "pg_dump (PostgreSQL) ${version}"\n`;
  await writeFile(path.join(dir, 'pg_dump'), script);
  await chmod(path.join(dir, 'pg_dump'), 0o755);
  if (options.psql !== false) {
    await writeFile(path.join(dir, 'psql'), `#!/bin/sh\necho "psql (PostgreSQL) ${version}"\n`);
    await chmod(path.join(dir, 'psql'), 0o755);
  }
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pg-clients-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readClientVersion', () => {
  it('reads major and minor from the version line', async () => {
    const dir = await client('read-17', '17.6');
    expect(await readClientVersion(path.join(dir, 'pg_dump'))).toEqual({ major: 17, version: '17.6' });
  });

  it('reads a version with a Debian suffix', async () => {
    const dir = await client('read-deb', '15.18 (Debian 15.18-0+deb12u1)');
    expect(await readClientVersion(path.join(dir, 'pg_dump'))).toEqual({ major: 15, version: '15.18' });
  });

  it('is null for a missing file or another program', async () => {
    expect(await readClientVersion(path.join(root, 'nowhere', 'pg_dump'))).toBeNull();
    expect(await readClientVersion('/bin/true')).toBeNull();
  });
});

describe('findPgTools', () => {
  it('takes the exact major over a newer one', async () => {
    const dirs = [await client('exact-18', '18.1'), await client('exact-17', '17.6')];
    const tools = await findPgTools(17, dirs);
    expect(tools).toEqual({
      binDir: dirs[1],
      pgDump: path.join(dirs[1]!, 'pg_dump'),
      psql: path.join(dirs[1]!, 'psql'),
      major: 17,
      version: '17.6',
    });
  });

  it('accepts a newer client when there is no exact one, the newest first', async () => {
    const dirs = [await client('newer-16', '16.4'), await client('newer-18', '18.1'), await client('newer-17', '17.6')];
    expect((await findPgTools(15, dirs))?.binDir).toBe(dirs[1]);
  });

  it('rejects an older client', async () => {
    expect(await findPgTools(17, [await client('older-16', '16.9'), await client('older-15', '15.13')])).toBeNull();
  });

  it('with exact, takes only the same major', async () => {
    const dirs = [await client('only-18', '18.1')];
    expect(await findPgTools(17, dirs, true)).toBeNull();
    expect((await findPgTools(18, dirs, true))?.version).toBe('18.1');
  });

  it('avoids the Debian pg_wrapper even when it would report a suitable version', async () => {
    const wrapper = await client('wrapper', '17.6', { wrapper: true });
    expect(await isWrapper(path.join(wrapper, 'pg_dump'))).toBe(true);
    // The wrapper runs and claims 17: only the wrapper check keeps it out.
    expect(await readClientVersion(path.join(wrapper, 'pg_dump'))).toEqual({ major: 17, version: '17.6' });
    expect(await findPgTools(17, [wrapper])).toBeNull();
    const real = await client('behind-wrapper', '17.2');
    expect((await findPgTools(17, [wrapper, real]))?.pgDump).toBe(path.join(real, 'pg_dump'));
  });

  it('skips a directory whose psql is missing', async () => {
    expect(await findPgTools(17, [await client('no-psql', '17.6', { psql: false })])).toBeNull();
  });

  it('never picks the real /usr/bin/pg_dump wrapper', async ({ skip }) => {
    skip(!(await isWrapper('/usr/bin/pg_dump')), '/usr/bin/pg_dump is not the pg_wrapper here');
    expect(await findPgTools(1, ['/usr/bin'])).toBeNull();
  });
});

describe('requirePgTools', () => {
  it('explains what to install when nothing fits', async () => {
    const dirs = [await client('req-16', '16.9')];
    await expect(requirePgTools(17, dirs)).rejects.toThrow(ToolsError);
    await expect(requirePgTools(17, dirs)).rejects.toThrow(/PostgreSQL 17 or newer.*postgresql-client-17/);
  });
});

describe('candidateBinDirs', () => {
  it('puts PG_BIN first and ends with PATH, without duplicates', async () => {
    const dirs = await candidateBinDirs({ PG_BIN: '/opt/pg/bin', PATH: ['/a/bin', '/opt/pg/bin', '/b/bin'].join(path.delimiter) });
    expect(dirs[0]).toBe('/opt/pg/bin');
    expect(dirs.slice(-2)).toEqual(['/a/bin', '/b/bin']);
    expect(new Set(dirs).size).toBe(dirs.length);
  });
});
