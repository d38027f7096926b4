/**
 * `compression: zstd` end to end on Node 24 (GitHub's runtime for the action; node:zlib has zstd from
 * 22.15): the action writes `.sql.zst` and `.sql.zst.age`, `zstd -d` and `age -d` read them, and the
 * `restore` command brings them back into fresh targets, table by table. On a Node.js without zstd the
 * action and the CLI say what to do instead.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasZstd } from '../../src/streams/pgzip.js';
import { ROOT, runAction } from '../helpers/action.js';
import { ageKeygen, type AgeKey } from '../helpers/age.js';
import { DURABLE_TABLES, tableRows } from '../helpers/compare.js';
import { node24, productEnv, SUITE_NODE } from '../helpers/runtimes.js';
import { startSupabaseCluster, type SupabaseCluster } from '../helpers/supabase.js';

const CLI = path.join(ROOT, 'bin/supabase-complete-backup.js');
const USER_TABLES = ['public.profiles', 'public.notes', 'public.tricky', 'private.settings'];

let supabase: SupabaseCluster;
let sourceUrl: string;
let work: string;
let key: AgeKey;

beforeAll(async () => {
  supabase = await startSupabaseCluster();
  sourceUrl = (await supabase.createSource('source')).url;
  work = await mkdtemp(path.join(tmpdir(), 'zstd-'));
  key = await ageKeygen(work);
});

afterAll(async () => {
  await supabase?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function cli(node: string, args: string[]): Promise<{ exitCode: number; output: string }> {
  const result = await execa(node, [CLI, ...args], { reject: false, all: true, env: productEnv(), extendEnv: false, stdin: 'ignore' });
  return { exitCode: result.exitCode ?? -1, output: String(result.all) };
}

async function expectSameAsSource(targetUrl: string): Promise<void> {
  for (const table of [...DURABLE_TABLES, ...USER_TABLES]) {
    expect(await tableRows(targetUrl, table), table).toEqual(await tableRows(sourceUrl, table));
  }
}

describe('compression: zstd on Node 24', () => {
  it('writes .sql.zst: zstd -d reads it, restore brings it back', async () => {
    const run = await runAction(
      { 'database-url': sourceUrl, destination: 'none', 'output-dir': path.join(work, 'plain'), compression: 'zstd' },
      { node: node24().node },
    );
    expect(run.exitCode, run.visible).toBe(0);
    const file = run.outputs['backup-path']!;
    expect(file).toMatch(/_[0-9a-f]{8}\.sql\.zst$/);
    expect(run.stdout).toContain('sealed: zstd (level 1)');
    const sql = (await execa('zstd', ['-d', '-c', file], { encoding: 'buffer' })).stdout;
    expect(Buffer.from(sql).toString('utf8').split('\n')[1]).toBe('-- COMPLETE DATABASE BACKUP');

    const target = await supabase.createTarget('t_zstd');
    const restored = await cli(node24().node, ['restore', '--file', file, '--database-url', target.url]);
    expect(restored.exitCode, restored.output).toBe(0);
    await expectSameAsSource(target.url);
  });

  it('writes .sql.zst.age with age: age -d | zstd -d reads it, restore --identity brings it back', async () => {
    const run = await runAction(
      {
        'database-url': sourceUrl,
        destination: 'none',
        'output-dir': path.join(work, 'sealed'),
        compression: 'zstd',
        'encryption-recipients': key.recipient,
      },
      { node: node24().node },
    );
    expect(run.exitCode, run.visible).toBe(0);
    const file = run.outputs['backup-path']!;
    expect(file).toMatch(/\.sql\.zst\.age$/);
    const decrypted = path.join(work, 'sealed.sql.zst');
    await execa('age', ['-d', '-i', key.identityFile, '-o', decrypted, file]);
    const sql = (await execa('zstd', ['-d', '-c', decrypted], { encoding: 'buffer' })).stdout;
    expect(Buffer.from(sql).toString('utf8')).toContain('-- END OF BACKUP');

    const target = await supabase.createTarget('t_zstd_age');
    const restored = await cli(node24().node, ['restore', '--file', file, '--identity', key.identityFile, '--database-url', target.url]);
    expect(restored.exitCode, restored.output).toBe(0);
    expect(restored.output).toContain('21 tables');
    await expectSameAsSource(target.url);
    const verified = await cli(node24().node, ['verify', '--file', file, '--identity', key.identityFile]);
    expect(verified.exitCode, verified.output).toBe(0);
    expect(verified.output).toContain('(decrypted, decompressed)');
    expect((await readFile(file)).subarray(0, 21).toString()).toBe('age-encryption.org/v1');
  });
});

describe.skipIf(hasZstd())(`compression: zstd on ${SUITE_NODE.name}, which has no zstd`, () => {
  it('the action refuses before connecting, and verify says what to do with a .zst file', async () => {
    const run = await runAction(
      { 'database-url': sourceUrl, destination: 'none', 'output-dir': path.join(work, 'old'), compression: 'zstd' },
      { node: SUITE_NODE.node },
    );
    expect(run.exitCode).not.toBe(0);
    expect(run.visible).toMatch(/compression: zstd needs Node\.js 22\.15 or newer .* use a newer Node\.js or compression: gzip/);
    expect(run.stdout).not.toContain('Connecting');

    const zst = path.join(work, 'empty.sql.zst');
    await execa('zstd', ['-q', '-o', zst], { input: '-- nothing\n' });
    const verified = await cli(SUITE_NODE.node, ['verify', '--file', zst]);
    expect(verified.exitCode).not.toBe(0);
    expect(verified.output).toMatch(/is zstd-compressed, and this Node\.js .* has no zstd .* 'zstd -d'/);
  });
});
