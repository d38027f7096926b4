/**
 * publishBackup: the destinations together — artifact (local artifact service stand-in) and branch
 * (local bare repository) — checked before anything is stored, and nothing left half-done.
 */
import { chmod, mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BackupConfig } from '../../src/config.js';
import { GITHUB_FILE_LIMIT } from '../../src/publish/branch.js';
import { publishBackup } from '../../src/publish/index.js';
import { readZip, startArtifactService, type ArtifactService } from '../helpers/artifact-service.js';
import { publishConfig, recordingLogger, writeBackup } from '../helpers/publish.js';

let root: string;
let origin: string;
let service: ArtifactService;

const git = async (args: string[]): Promise<string> => (await execa('git', args)).stdout;
const both = (overrides: Partial<BackupConfig> = {}): BackupConfig =>
  publishConfig({ destinations: { artifact: true, branch: true, s3: false }, githubToken: 'ghs_token_for_checks', ...overrides });
const fast = { branch: { backoffMs: 5 } };

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'publish-index-'));
  origin = path.join(root, 'origin.git');
  await execa('git', ['init', '-q', '--bare', '-b', 'main', origin]);
  service = await startArtifactService();
  const gitconfig = path.join(root, 'gitconfig');
  await writeFile(gitconfig, '');
  // @actions/artifact reads the runtime variables from process.env, so the stage gets process.env.
  for (const [name, value] of Object.entries(service.env)) vi.stubEnv(name, value);
  vi.stubEnv('GITHUB_RETENTION_DAYS', undefined);
  vi.stubEnv('BACKUP_REMOTE_URL', origin);
  vi.stubEnv('GIT_CONFIG_GLOBAL', gitconfig);
  vi.stubEnv('GIT_CONFIG_NOSYSTEM', '1');
  vi.stubEnv('RUNNER_TEMP', root);
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await service.close();
  await rm(root, { recursive: true, force: true });
});

describe('publishBackup', () => {
  it('artifact,branch stores the file in both and reports where it went', async () => {
    const backup = await writeBackup(root);
    const published = await publishBackup(backup, both({ retentionDays: 5 }), recordingLogger(), process.env, fast);

    const name = backup.file.replace(/\.sql$/, '');
    const stored = service.artifacts.get(name);
    expect(stored?.finalized).toBe(true);
    expect((await readZip(stored!.blob!)).get(backup.file)?.length).toBe(backup.bytes);
    expect(published.artifactId).toBe(String(stored!.id));
    expect(published.artifactUrl).toBe(`https://github.com/acme/app/actions/runs/4242/artifacts/${stored!.id}`);
    expect(published.commitSha).toBe(await git(['--git-dir', origin, 'rev-parse', 'backups']));

    expect(published.destinations.map((d) => d.kind)).toEqual(['artifact', 'branch', 'local']);
    expect(published.destinations[0]).toMatchObject({ description: expect.stringContaining(`\`${name}\``), url: published.artifactUrl });
    expect(published.destinations[0]!.description).toContain('kept 5 days');
    expect(published.destinations[1]!.description).toContain(`\`backups/${backup.file}\` on branch \`backups\``);
    expect(published.destinations[2]!.description).toContain(backup.path);
  });

  it('artifact alone uses artifact-name and leaves the repository alone', async () => {
    const backup = await writeBackup(root);
    const published = await publishBackup(backup, both({ destinations: { artifact: true, branch: false, s3: false }, artifactName: 'db-nightly' }), recordingLogger());
    expect(service.artifacts.get('db-nightly')?.finalized).toBe(true);
    expect(published.commitSha).toBeUndefined();
    expect(await git(['--git-dir', origin, 'for-each-ref'])).toBe('');
  });

  it('none keeps the file in output-dir only', async () => {
    const backup = await writeBackup(root);
    const published = await publishBackup(backup, both({ destinations: { artifact: false, branch: false, s3: false } }), recordingLogger());
    expect(published).toEqual({ destinations: [{ kind: 'local', description: expect.stringContaining('Kept only on the runner') }] });
    expect(service.requests).toHaveLength(0);
    expect(await git(['--git-dir', origin, 'for-each-ref'])).toBe('');
  });

  it('checks the branch before uploading: a file over 100 MB stores nothing anywhere', async () => {
    const backup = await writeBackup(root);
    await truncate(backup.path, GITHUB_FILE_LIMIT + 1);
    await expect(publishBackup(backup, both(), recordingLogger())).rejects.toThrow(/over GitHub's limit of 100 MB/);
    expect(service.requests).toHaveLength(0);
  });

  it('checks the artifact runtime before pushing: nothing is committed when it is missing', async () => {
    vi.stubEnv('ACTIONS_RUNTIME_TOKEN', undefined);
    const backup = await writeBackup(root);
    await expect(publishBackup(backup, both(), recordingLogger())).rejects.toThrow(/needs the GitHub Actions runtime/);
    expect(await git(['--git-dir', origin, 'for-each-ref'])).toBe('');
  });

  it('deletes the uploaded artifact again when the branch push fails', async () => {
    const hook = path.join(origin, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "push refused by policy" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const backup = await writeBackup(root);
    const log = recordingLogger();
    await expect(publishBackup(backup, both(), log, process.env, fast)).rejects.toThrow(
      /pushing to branch 'backups' failed .*push refused by policy.*artifact '.*' uploaded before was deleted again/s,
    );
    expect(service.requests.map((r) => r.call)).toEqual(expect.arrayContaining(['FinalizeArtifact', 'ListArtifacts', 'DeleteArtifact']));
    expect(service.artifacts.size).toBe(0);
    expect(await git(['--git-dir', origin, 'for-each-ref'])).toBe('');
  });

  it('says so when the artifact cannot be deleted after a failed push', async () => {
    await mkdir(path.join(origin, 'hooks'), { recursive: true });
    const hook = path.join(origin, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\nexit 1\n');
    await chmod(hook, 0o755);
    service.fail('DeleteArtifact', { status: 403, code: 'permission_denied', msg: 'not allowed' });
    const backup = await writeBackup(root);
    await expect(publishBackup(backup, both(), recordingLogger(), process.env, fast)).rejects.toThrow(
      /could not be deleted again: .*not allowed.*delete it from the run's page https:\/\/github\.com\/acme\/app\/actions\/runs\/4242\/artifacts\//s,
    );
  });
});
