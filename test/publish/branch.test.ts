/**
 * Destination `branch` against a local bare repository as `origin` (and, for the token, the same
 * repository served over HTTP by `git http-backend` behind a github.com-like auth check).
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GITHUB_FILE_LIMIT, GITHUB_FILE_WARNING, publishToBranch, resolveBranchRemote, type BranchOptions } from '../../src/publish/branch.js';
import { startGitHttp, type GitHttpServer } from '../helpers/git-http.js';
import { publishConfig, recordingLogger, writeBackup, type RecordingLogger } from '../helpers/publish.js';

let root: string;
let origin: string;
let files: string;
let temp: string;
/** A hermetic environment: no system or user git config, so nothing here depends on the machine's. */
let env: NodeJS.ProcessEnv;

async function git(args: string[], cwd = root, extra: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await execa('git', args, { cwd, env: { ...env, ...extra }, extendEnv: false });
  return stdout;
}
const originGit = (args: string[]): Promise<string> => git(['--git-dir', origin, ...args]);

/** The files of `branch` on origin. */
async function tree(branch = 'backups'): Promise<string[]> {
  return (await originGit(['ls-tree', '-r', '--name-only', branch])).split('\n').filter(Boolean);
}

const at = (minute: number): Date => new Date(Date.UTC(2026, 10, 29, 23, minute, 0, 0));

async function backupAt(minute: number, extra = ''): Promise<Awaited<ReturnType<typeof writeBackup>>> {
  return writeBackup(files, { at: at(minute), content: Buffer.from(`-- backup made at minute ${minute}${extra}\nBEGIN;\nCOMMIT;\n`) });
}

function publish(
  backup: Awaited<ReturnType<typeof writeBackup>>,
  options: { keep?: number; log?: RecordingLogger; env?: NodeJS.ProcessEnv; branch?: BranchOptions; token?: string } = {},
): ReturnType<typeof publishToBranch> {
  const config = publishConfig({ destinations: { artifact: false, branch: true, s3: false }, keep: options.keep ?? 30, githubToken: options.token });
  return publishToBranch(backup, config, options.log ?? recordingLogger(), options.env ?? env, {
    remoteUrl: origin,
    backoffMs: 5,
    tempDir: temp,
    ...options.branch,
  });
}

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'publish-branch-'));
  origin = path.join(root, 'origin.git');
  files = path.join(root, 'files');
  temp = path.join(root, 'tmp');
  await Promise.all([mkdir(files), mkdir(temp)]);
  const emptyConfig = path.join(root, 'gitconfig');
  await writeFile(emptyConfig, '');
  env = { PATH: process.env.PATH, HOME: root, GIT_CONFIG_GLOBAL: emptyConfig, GIT_CONFIG_NOSYSTEM: '1' };

  // The user's repository: `main` with one commit, as on GitHub.
  await git(['init', '-q', '--bare', '-b', 'main', origin]);
  const seed = path.join(root, 'seed');
  await git(['clone', '-q', origin, seed]);
  await writeFile(path.join(seed, 'app.ts'), 'export {};\n');
  const id = { GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@example.com', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@example.com' };
  await git(['add', '.'], seed);
  await git(['commit', '-q', '-m', 'app'], seed, id);
  await git(['push', '-q', 'origin', 'HEAD:main'], seed);
});

afterEach(async () => {
  // No temporary clone is left behind by any run.
  expect(await readdir(temp)).toEqual([]);
  await rm(root, { recursive: true, force: true });
});

describe('branch destination, local bare origin', () => {
  it('creates the orphan branch with a README on the first run', async () => {
    const mainBefore = await originGit(['rev-parse', 'main']);
    const backup = await backupAt(0);
    const log = recordingLogger();
    const pushed = await publish(backup, { log });

    expect(pushed).toMatchObject({ branch: 'backups', created: true, removed: [], pathOnBranch: `backups/${backup.file}` });
    expect(pushed.commitSha).toBe(await originGit(['rev-parse', 'backups']));
    expect(await tree()).toEqual(['README.md', `backups/${backup.file}`]);
    // An orphan: one commit, no parent, nothing from main.
    expect((await originGit(['rev-list', '--parents', 'backups'])).split('\n')).toEqual([pushed.commitSha]);
    expect(await originGit(['show', `backups:backups/${backup.file}`])).toBe((await readFile(backup.path, 'utf8')).trimEnd());
    expect(await originGit(['show', 'backups:README.md'])).toContain('supabase-complete-backup');
    expect(await originGit(['rev-parse', 'main'])).toBe(mainBefore);

    const author = await originGit(['log', '-1', '--format=%an <%ae>|%cn', 'backups']);
    expect(author).toBe('github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>|github-actions[bot]');
    const message = await originGit(['log', '-1', '--format=%B', 'backups']);
    expect(message).toMatch(new RegExp(`^Backup 2026-11-29 23:00:00 UTC: ${backup.bytes} B\n`));
    expect(message).toContain(`(${backup.bytes} B, ${backup.bytes} bytes)`);
    expect(message).toContain(`SHA-256: ${backup.sha256}`);
    expect(message).toContain('3 auth users, 12 tables, 345 rows');
    expect(log.infos.join('\n')).toMatch(/Pushed [0-9a-f]{7} to branch 'backups' \(new orphan branch\)/);
  });

  it('pushes the signature beside a signed backup, and prunes it with its file', async () => {
    const signed = async (minute: number) => {
      const backup = await backupAt(minute);
      await writeFile(`${backup.path}.sig`, `signature of ${backup.file}\n`);
      return { ...backup, signaturePath: `${backup.path}.sig` };
    };
    const first = await signed(0);
    await publish(first, { keep: 1 });
    expect(await tree()).toEqual(['README.md', `backups/${first.file}`, `backups/${first.file}.sig`]);
    expect(await originGit(['show', `backups:backups/${first.file}.sig`])).toBe(`signature of ${first.file}`);
    const second = await signed(1);
    await publish(second, { keep: 1 });
    expect(await tree()).toEqual(['README.md', `backups/${second.file}`, `backups/${second.file}.sig`]);
  });

  it('adds a file on later runs, on top of the last commit', async () => {
    const first = await publish(await backupAt(0));
    const readme = await originGit(['show', 'backups:README.md']);
    const second = await publish(await backupAt(1));
    expect(second.created).toBe(false);
    expect(await originGit(['rev-list', '--parents', '-n', '1', 'backups'])).toBe(`${second.commitSha} ${first.commitSha}`);
    expect(await tree()).toEqual(['README.md', first.pathOnBranch, second.pathOnBranch]);
    expect(await originGit(['show', 'backups:README.md'])).toBe(readme);
  });

  it('keep 3 after five runs leaves exactly the three newest, and other files alone', async () => {
    const made = [];
    for (let minute = 0; minute < 5; minute++) {
      const backup = await backupAt(minute);
      made.push(backup.file);
      await publish(backup, { keep: 3 });
      if (minute === 0) {
        // Someone adds a note to the branch by hand; pruning must not touch it.
        const clone = path.join(root, 'hand');
        await git(['clone', '-q', '--branch', 'backups', origin, clone]);
        await writeFile(path.join(clone, 'backups', 'NOTES.md'), 'restore drills: monthly\n');
        await git(['add', '.'], clone);
        await git(['commit', '-q', '-m', 'notes'], clone, { GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'd@e', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'd@e' });
        await git(['push', '-q', 'origin', 'backups'], clone);
      }
    }
    expect(await tree()).toEqual(['README.md', 'backups/NOTES.md', ...made.slice(2).map((file) => `backups/${file}`)]);
    const last = await originGit(['log', '-1', '--format=%B', 'backups']);
    expect(last).toContain(`Removed: 1 older backup(s) beyond keep 3:\n  backups/${made[1]}`);
    expect(last).toContain('Branch:  3 backup(s)');
  });

  it('keep 0 keeps every backup', async () => {
    for (let minute = 0; minute < 4; minute++) await publish(await backupAt(minute), { keep: 0 });
    expect((await tree()).filter((file) => file.startsWith('backups/full_'))).toHaveLength(4);
  });

  it('two runs pushing at the same time both land (existing branch)', async () => {
    await publish(await backupAt(0));
    const [a, b] = await Promise.all([publish(await backupAt(1)), publish(await backupAt(2))]);
    const files = await tree();
    expect(files).toHaveLength(4);
    expect(files).toContain(a.pathOnBranch);
    expect(files).toContain(b.pathOnBranch);
    // Linear history: the later of the two commits sits on the other one.
    const chain = (await originGit(['rev-list', '--parents', 'backups'])).split('\n').map((line) => line.split(' '));
    expect(chain).toHaveLength(3);
    expect(chain.every((commit) => commit.length <= 2)).toBe(true);
    expect(new Set(chain.slice(0, 2).map((commit) => commit[0]))).toEqual(new Set([a.commitSha, b.commitSha]));
  });

  it('two runs pushing at the same time both land (both creating the branch)', async () => {
    const [a, b] = await Promise.all([publish(await backupAt(1)), publish(await backupAt(2))]);
    expect(await tree()).toEqual(['README.md', a.pathOnBranch, b.pathOnBranch].sort());
    expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
    expect((await originGit(['rev-list', 'backups'])).split('\n')).toHaveLength(2);
  });

  it('a run that loses the race applies its backup on the new tip, with keep counted there', async () => {
    await publish(await backupAt(0));
    const log = recordingLogger();
    let other: Awaited<ReturnType<typeof publish>> | undefined;
    const mine = await publish(await backupAt(2), {
      keep: 2,
      log,
      branch: {
        beforePush: async (attempt) => {
          if (attempt === 1) other = await publish(await backupAt(1), { keep: 2 });
        },
      },
    });
    expect(log.infos.join('\n')).toMatch(/Branch 'backups' moved while pushing \(attempt 1\/5\)/);
    expect(await tree()).toEqual(['README.md', other!.pathOnBranch, mine.pathOnBranch]);
    expect(mine.removed).toEqual([`backups/${(await backupAt(0)).file}`]);
    expect(await originGit(['rev-parse', 'backups^'])).toBe(other!.commitSha);
  });

  it('gives up with a clear error when other pushes keep landing first, having pushed nothing', async () => {
    await publish(await backupAt(0));
    const mine = await backupAt(9);
    let minute = 10;
    await expect(
      publish(mine, {
        branch: {
          attempts: 2,
          beforePush: async () => void (await publish(await backupAt(minute++))),
        },
      }),
    ).rejects.toThrow(/failed 2 times because other pushes kept landing first; nothing was pushed.*concurrency/s);
    expect(await tree()).not.toContain(`backups/${mine.file}`);
  });

  it('refuses a file over 100 MB before committing anything, suggesting gzip or the artifact', async () => {
    const backup = await backupAt(0);
    await truncate(backup.path, GITHUB_FILE_LIMIT + 1); // sparse: the size is real, the disk cost is not
    await expect(publish(backup)).rejects.toThrow(/over GitHub's limit of 100 MB.*'compression: gzip'.*'destination: artifact'/s);
    expect(await originGit(['for-each-ref', '--format=%(refname)'])).toBe('refs/heads/main');
  });

  it('warns about a file over 50 MB and still pushes it', async () => {
    const backup = await backupAt(0);
    await truncate(backup.path, GITHUB_FILE_WARNING + 1);
    const log = recordingLogger();
    await publish(backup, { log });
    expect(log.warnings.join('\n')).toMatch(/GitHub warns about files over 50 MB/);
    expect(await originGit(['cat-file', '-s', `backups:backups/${backup.file}`])).toBe(String(GITHUB_FILE_WARNING + 1));
  });

  it('says why a refused push failed and leaves the branch as it was', async () => {
    const first = await publish(await backupAt(0));
    const hook = path.join(origin, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "remote: error: GH006: Protected branch update failed for refs/heads/backups." >&2\nexit 1\n');
    await chmod(hook, 0o755);
    await expect(publish(await backupAt(1))).rejects.toThrow(/pushing to branch 'backups' failed .*GH006.*\n→ branch 'backups' is protected/s);
    expect(await originGit(['rev-parse', 'backups'])).toBe(first.commitSha);
  });

  it("leaves the user's checkout, branch, index and work tree exactly as they were", async () => {
    // The user's checkout: on main, with a staged change, an unstaged change and an untracked file;
    // the backup file is written inside it (output-dir: backups), and GIT_DIR points at it.
    const user = path.join(root, 'user');
    await git(['clone', '-q', origin, user]);
    await writeFile(path.join(user, 'app.ts'), 'export const staged = 1;\n');
    await git(['add', 'app.ts'], user);
    await writeFile(path.join(user, 'app.ts'), 'export const unstaged = 2;\n');
    await writeFile(path.join(user, 'scratch.txt'), 'mine\n');
    await mkdir(path.join(user, 'backups'));
    const backup = await writeBackup(path.join(user, 'backups'), { at: at(0) });

    const snapshot = async (): Promise<string> =>
      [
        await git(['status', '--porcelain=v2', '--branch', '--untracked-files=all'], user),
        await git(['for-each-ref'], user),
        await git(['rev-parse', 'HEAD'], user),
        await git(['config', '--local', '--list'], user),
        await git(['stash', 'list'], user),
        createHash('sha256').update(await readFile(path.join(user, '.git', 'index'))).digest('hex'),
        await readFile(path.join(user, 'app.ts'), 'utf8'),
      ].join('\n---\n');
    const before = await snapshot();

    const cwd = process.cwd();
    process.chdir(user);
    try {
      await publish(backup, { env: { ...env, GIT_DIR: path.join(user, '.git'), GIT_WORK_TREE: user, GIT_INDEX_FILE: path.join(user, '.git', 'index') } });
    } finally {
      process.chdir(cwd);
    }

    expect(await snapshot()).toBe(before);
    expect(await tree()).toEqual(['README.md', `backups/${backup.file}`]);
    expect(await readFile(backup.path, 'utf8')).toContain('COMPLETE DATABASE BACKUP');
  });
});

describe('branch destination over HTTP with github-token', () => {
  const TOKEN = 'ghs_writeToken0123456789abcdefABCDEF';
  const READ_ONLY = 'ghs_readOnly0123456789abcdefABCDEF01';
  let server: GitHttpServer;
  let argvLog: string;

  beforeEach(async () => {
    // The repository as GitHub serves it: <server>/acme/app.git.
    await mkdir(path.join(root, 'acme'));
    await git(['clone', '-q', '--bare', origin, path.join(root, 'acme', 'app.git')]);
    server = await startGitHttp(root, { write: TOKEN, read: READ_ONLY });
    // A git on PATH that records its arguments, then runs the real git.
    const realGit = (await execa('sh', ['-c', 'command -v git'])).stdout.trim();
    const bin = path.join(root, 'bin');
    argvLog = path.join(root, 'argv.log');
    await mkdir(bin);
    await writeFile(path.join(bin, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${realGit}' "$@"\n`);
    await chmod(path.join(bin, 'git'), 0o755);
    env = {
      ...env,
      PATH: `${bin}${path.delimiter}${env.PATH}`,
      GITHUB_SERVER_URL: server.url.replace(/\/$/, ''),
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_RUN_ID: '4242',
    };
  });

  afterEach(async () => {
    await server.close();
  });

  const viaGitHub = (backup: Awaited<ReturnType<typeof writeBackup>>, token: string | undefined, log = recordingLogger()): ReturnType<typeof publish> =>
    publish(backup, { token, log, branch: { remoteUrl: undefined } });
  const secretForms = (token: string): string[] => [token, Buffer.from(`x-access-token:${token}`).toString('base64')];

  it('pushes to the workflow repository with the token as one Authorization header, never in argv or the log', async () => {
    const log = recordingLogger();
    const backup = await backupAt(0);
    const pushed = await viaGitHub(backup, TOKEN, log);

    expect(await git(['--git-dir', path.join(root, 'acme', 'app.git'), 'ls-tree', '-r', '--name-only', 'backups'])).toContain(`backups/${backup.file}`);
    expect(pushed.fileUrl).toBe(`${server.url}acme/app/blob/${pushed.commitSha}/backups/${backup.file}`);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((request) => request.authorizations === 1 && request.status === 200)).toBe(true);
    expect(log.secrets).toEqual(expect.arrayContaining(secretForms(TOKEN)));

    const argv = await readFile(argvLog, 'utf8');
    expect(argv).toMatch(/push/);
    for (const secret of secretForms(TOKEN)) {
      expect(argv).not.toContain(secret);
      expect(log.all()).not.toContain(secret);
    }
    const message = await git(['--git-dir', path.join(root, 'acme', 'app.git'), 'log', '-1', '--format=%B', 'backups']);
    expect(message).toContain(`Run:     ${server.url}acme/app/actions/runs/4242`);
  });

  it("works beside actions/checkout's persisted credentials (no duplicate Authorization header)", async () => {
    // What checkout's persist-credentials leaves in git config for the server, here with a stale token.
    const stale = Buffer.from('x-access-token:ghs_staleStaleStale').toString('base64');
    await writeFile(env.GIT_CONFIG_GLOBAL!, `[http "${server.url}"]\n\textraheader = AUTHORIZATION: basic ${stale}\n`);
    // Control: that header is in effect for this server (alone, the server refuses it).
    await expect(git(['ls-remote', `${server.url}acme/app.git`], root, { GIT_TERMINAL_PROMPT: '0' })).rejects.toThrow(/could not read Username/);
    server.requests.length = 0;

    await viaGitHub(await backupAt(0), TOKEN);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((request) => request.authorizations === 1 && request.status === 200)).toBe(true);
  });

  it('a read-only token fails with the permissions it needs, without showing the token', async () => {
    const error = await viaGitHub(await backupAt(0), READ_ONLY).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/pushing to branch 'backups' failed for acme\/app: .*403/s);
    expect(error?.message).toMatch(/permissions: contents: write/);
    for (const secret of secretForms(READ_ONLY)) expect(error?.message).not.toContain(secret);
    expect(await git(['--git-dir', path.join(root, 'acme', 'app.git'), 'for-each-ref', '--format=%(refname)'])).toBe('refs/heads/main');
  });

  it('a wrong token says the remote asked for credentials', async () => {
    await expect(viaGitHub(await backupAt(0), 'ghs_wrong')).rejects.toThrow(/reading branch 'backups' failed for acme\/app: .*\n→ acme\/app asked for credentials: 'github-token' is missing or not valid/s);
  });

  it('needs a token and a repository to push to', () => {
    const config = publishConfig({ destinations: { artifact: false, branch: true, s3: false } });
    expect(() => resolveBranchRemote(config, env)).toThrow(/needs 'github-token' to push.*permissions: contents: write/s);
    expect(() => resolveBranchRemote({ ...config, githubToken: TOKEN }, { PATH: env.PATH })).toThrow(/GITHUB_REPOSITORY is not set.*BACKUP_REMOTE_URL/s);
  });
});
