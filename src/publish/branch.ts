/**
 * Destination `branch`: the backup file committed to a branch (default `backups`) of the repository.
 *
 * All git work happens in a temporary repository of its own, never in the user's checkout: it fetches
 * the branch tip (depth 1), or starts an orphan branch with a short README when the branch does not
 * exist, adds `backups/<file>`, removes the oldest backups beyond `keep` in the same commit, and pushes.
 * When another run pushed first, it fetches the new tip, applies the same change on top of it (so
 * `keep` counts the other run's file too) and pushes again, with jittered backoff.
 *
 * The token reaches git as an `http.<origin>/.extraheader` entry in GIT_CONFIG_COUNT/KEY/VALUE
 * environment variables, the way actions/checkout authenticates: never in argv, a remote URL, a
 * file, a log line or an error message.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { BackupConfig } from '../config.js';
import { formatBytes, type Logger } from '../log.js';
import { PublishError } from './error.js';

/** GitHub refuses a pushed file over 100 MiB and warns over 50 MiB. */
export const GITHUB_FILE_LIMIT = 100 * 1024 * 1024;
export const GITHUB_FILE_WARNING = 50 * 1024 * 1024;
/** The folder on the branch that holds the backups. */
export const BRANCH_DIR = 'backups';

const BOT_NAME = 'github-actions[bot]';
const BOT_EMAIL = '41898282+github-actions[bot]@users.noreply.github.com';
/** `full_2026-11-29T23-45-00-000Z_3fa9c1d2.sql[.gz|.zst][.age]`; group 1 is the time. */
const BACKUP_FILE = /^full_(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)_[0-9a-f]{8}\.sql(?:\.gz|\.zst)?(?:\.age)?$/;
/** Variables that would point git at another repository (the user's checkout, say). */
const REPOSITORY_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
  'GIT_QUARANTINE_PATH',
];

export interface BackupFacts {
  path: string;
  file: string;
  /** `<path>.sig` when the backup is signed: pushed beside the file. */
  signaturePath?: string;
  sha256: string;
  authUsers: number;
  tables: number;
  rows: number;
}

export interface BranchRemote {
  /** What git fetches from and pushes to (never holds the token). */
  url: string;
  /** `acme/app`, or the explicit remote (credentials hidden), for messages. */
  label: string;
  /** `https://github.com/acme/app` when the remote is a GitHub repository, for links. */
  webUrl: string | undefined;
  /** The extra header git sends to URLs under `urlPrefix`. */
  auth: { urlPrefix: string; header: string } | undefined;
  /** Values to mask and to keep out of messages. */
  secrets: string[];
}

export interface BranchOptions {
  /** A remote to use instead of the workflow's repository (tests, mirrors); also env BACKUP_REMOTE_URL. */
  remoteUrl?: string;
  /** Push attempts before giving up when other runs keep pushing first (default 5). */
  attempts?: number;
  /** First backoff between attempts, in ms; doubled each time, with ±50 % jitter (default 1000). */
  backoffMs?: number;
  /** Where the temporary repository goes (default RUNNER_TEMP, else the OS temp dir). */
  tempDir?: string;
  /** Called before each push with the attempt number (tests use it to make another run push first). */
  beforePush?: (attempt: number) => Promise<void>;
}

export interface BranchPublish {
  branch: string;
  commitSha: string;
  /** `backups/<file>` */
  pathOnBranch: string;
  /** The branch did not exist and was created. */
  created: boolean;
  /** Older backups this commit removed (paths on the branch). */
  removed: string[];
  /** Link to the file at that commit, when the remote is on GitHub. */
  fileUrl: string | undefined;
  label: string;
}

/** Refuses a file GitHub would refuse, before any commit is made. */
export function checkBranchFileSize(bytes: number, file: string): void {
  if (bytes > GITHUB_FILE_LIMIT) {
    throw new PublishError(
      `${file} is ${formatBytes(bytes)}, over GitHub's limit of 100 MB for a file in a repository, so it cannot ` +
        "go on a branch. Use 'compression: gzip' (SQL shrinks several times), or 'destination: artifact', which " +
        'has no such limit',
    );
  }
}

/** Where the branch lives: an explicit remote, or the workflow's own repository on its GitHub server. */
export function resolveBranchRemote(config: BackupConfig, env: NodeJS.ProcessEnv, explicitUrl?: string): BranchRemote {
  const token = config.githubToken;
  const explicit = explicitUrl ?? env.BACKUP_REMOTE_URL;
  let url: string;
  let label: string;
  let webUrl: string | undefined;
  if (explicit) {
    url = explicit;
    label = hideUserInfo(explicit);
    webUrl = undefined;
  } else {
    const repository = env.GITHUB_REPOSITORY;
    if (!repository) {
      throw new PublishError(
        "destination 'branch' needs to know the repository: GITHUB_REPOSITORY is not set (it is in GitHub Actions). " +
          'Outside Actions, set BACKUP_REMOTE_URL to the git remote to push to',
      );
    }
    const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
    url = `${server}/${repository}.git`;
    label = repository;
    webUrl = `${server}/${repository}`;
    if (!token) {
      throw new PublishError(
        "destination 'branch' needs 'github-token' to push (the default is ${{ github.token }}), and the job needs " +
          '`permissions: contents: write`',
      );
    }
  }
  if (!token || !/^https?:\/\//i.test(url)) return { url, label, webUrl, auth: undefined, secrets: [] };
  const basic = Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64');
  return {
    url,
    label,
    webUrl,
    auth: { urlPrefix: `${new URL(url).origin}/`, header: `AUTHORIZATION: basic ${basic}` },
    secrets: [token, basic],
  };
}

function hideUserInfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}

/**
 * The environment git runs with: the caller's, minus anything that points at another repository,
 * never prompting, committing as github-actions[bot], and with the auth header as config entries.
 */
function gitEnvironment(env: NodeJS.ProcessEnv, remote: BranchRemote): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !REPOSITORY_VARIABLES.includes(name)) out[name] = value;
  }
  Object.assign(out, {
    GIT_TERMINAL_PROMPT: '0',
    GCM_INTERACTIVE: 'never',
    GIT_AUTHOR_NAME: BOT_NAME,
    GIT_AUTHOR_EMAIL: BOT_EMAIL,
    GIT_COMMITTER_NAME: BOT_NAME,
    GIT_COMMITTER_EMAIL: BOT_EMAIL,
    LC_ALL: 'C',
  });
  if (remote.auth) {
    // Keep entries the caller passed the same way. An empty value first clears any extraheader that
    // applies to this URL from other config (actions/checkout's persisted credentials, a global
    // setting), so the server sees one Authorization header: ours.
    const count = Number.parseInt(env.GIT_CONFIG_COUNT ?? '', 10);
    const first = Number.isInteger(count) && count > 0 ? count : 0;
    const key = `http.${remote.auth.urlPrefix}.extraheader`;
    out[`GIT_CONFIG_KEY_${first}`] = key;
    out[`GIT_CONFIG_VALUE_${first}`] = '';
    out[`GIT_CONFIG_KEY_${first + 1}`] = key;
    out[`GIT_CONFIG_VALUE_${first + 1}`] = remote.auth.header;
    out.GIT_CONFIG_COUNT = String(first + 2);
  }
  return out;
}

interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

type Git = (args: string[], options?: { input?: string; allowFailure?: boolean }) => Promise<GitResult>;

function gitRunner(cwd: string, environment: Record<string, string>, redact: (text: string) => string): Git {
  return async (args, options = {}) => {
    const result = await execa('git', ['-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null', ...args], {
      cwd,
      env: environment,
      extendEnv: false,
      input: options.input,
      reject: false,
    });
    const out: GitResult = {
      exitCode: result.exitCode ?? 1,
      stdout: String(result.stdout ?? ''),
      stderr: redact(String(result.stderr ?? '') || result.message || ''),
    };
    if (out.exitCode !== 0 && !options.allowFailure) {
      throw new PublishError(`git ${args[0]} failed: ${out.stderr.trim() || `exit code ${out.exitCode}`}`);
    }
    return out;
  };
}

/** Adds what the user can do to a git failure. */
function explainGitFailure(what: string, stderr: string, remote: BranchRemote, branch: string): PublishError {
  const hints: string[] = [];
  if (/GH006|protected branch/i.test(stderr)) {
    hints.push(`branch '${branch}' is protected: let github-actions push to it, or set 'branch' to another branch`);
  } else if (/GH001|exceeds GitHub's file size limit|large files detected/i.test(stderr)) {
    hints.push("GitHub refused the file size: use 'compression: gzip' or 'destination: artifact'");
  } else if (/\b403\b|permission to .* denied|write access .* not granted/i.test(stderr)) {
    hints.push(
      'the token may read but not push: give the job `permissions: contents: write` (the default GITHUB_TOKEN is ' +
        "read-only in many repositories), or pass a token that can push as 'github-token'",
    );
  } else if (/\b401\b|could not read username|authentication failed|terminal prompts disabled|invalid username or password/i.test(stderr)) {
    hints.push(`${remote.label} asked for credentials: 'github-token' is missing or not valid for it`);
  } else if (/repository not found|not found|does not appear to be a git repository/i.test(stderr)) {
    hints.push(`check that ${remote.label} exists and that the token has access to it`);
  }
  const detail = stderr.trim() || 'no message from git';
  return new PublishError(`${what} failed for ${remote.label}: ${detail}${hints.length > 0 ? `\n→ ${hints.join('\n→ ')}` : ''}`);
}

const README = (branch: string): string => `# Database backups

This branch is written by the **supabase-complete-backup** GitHub Action. It holds no source code.

- \`${BRANCH_DIR}/full_<UTC time>_<first 8 hex of its sha256>.sql\` is one complete backup (\`.gz\` when
  compressed, \`.age\` when encrypted). Each commit adds one and names its time and size.
- Only the newest backups are kept in the tree (the action's \`keep\` input); older ones are removed by
  the commit that adds a new one, but **stay in the branch's history** until the branch is rewritten.
- Anyone who can read this repository can read this branch: in a public repository that is everyone.
  Encrypt the backups (\`encryption-recipients\`) unless the repository is private.

Restore into a fresh project (one transaction; nothing changes if anything fails):

\`\`\`sh
git fetch origin ${branch} && git checkout origin/${branch} -- ${BRANCH_DIR}/full_….sql
psql "$DATABASE_URL" -f ${BRANCH_DIR}/full_….sql
# .sql.gz:      gunzip -k ${BRANCH_DIR}/full_….sql.gz, then psql -f the .sql
# .sql.age:     age -d -i key.txt -o full_….sql ${BRANCH_DIR}/full_….sql.age, then psql -f
# .sql.gz.age:  set -o pipefail; age -d -i key.txt ${BRANCH_DIR}/full_….sql.gz.age | gunzip | psql "$DATABASE_URL"
#               (passphrase-encrypted: age -d asks for it; see the action's docs/security.md)
\`\`\`
`;

/** The time in a backup's name as an ISO string, or undefined for another name. */
function backupTime(file: string): string | undefined {
  const stamp = BACKUP_FILE.exec(file)?.[1];
  return stamp?.replace(/T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z$/, 'T$1:$2:$3.$4Z');
}

function commitMessage(backup: BackupFacts, bytes: number, kept: { count: number; bytes: number }, removed: string[], keep: number, env: NodeJS.ProcessEnv): string {
  const when = (backupTime(backup.file) ?? new Date().toISOString()).replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
  const run =
    env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${(env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '')}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  return [
    `Backup ${when}: ${formatBytes(bytes)}`,
    '',
    `Added:   ${BRANCH_DIR}/${backup.file} (${formatBytes(bytes)}, ${bytes} bytes)`,
    `SHA-256: ${backup.sha256}`,
    `Data:    ${backup.authUsers} auth users, ${backup.tables} tables, ${backup.rows} rows`,
    `Branch:  ${kept.count} backup(s), ${formatBytes(kept.bytes)} in total`,
    ...(removed.length > 0 ? [`Removed: ${removed.length} older backup(s) beyond keep ${keep}:`, ...removed.map((file) => `  ${file}`)] : []),
    ...(run ? [`Run:     ${run}`] : []),
    '',
  ].join('\n');
}

async function remoteTip(git: Git, branch: string, remote: BranchRemote): Promise<string | undefined> {
  const result = await git(['ls-remote', 'origin', `refs/heads/${branch}`], { allowFailure: true });
  if (result.exitCode !== 0) throw explainGitFailure(`reading branch '${branch}'`, result.stderr, remote, branch);
  return result.stdout.split(/\s/)[0] || undefined;
}

/**
 * Commits the backup to the branch and pushes it; returns the commit. Nothing is pushed unless the
 * whole change (file, README, pruning) is in the one commit; a failure leaves the remote as it was.
 */
export async function publishToBranch(
  backup: BackupFacts,
  config: BackupConfig,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
  options: BranchOptions = {},
): Promise<BranchPublish> {
  const { branch, keep } = config;
  const bytes = (await stat(backup.path)).size;
  checkBranchFileSize(bytes, backup.file);
  if (bytes > GITHUB_FILE_WARNING) {
    log.warning(
      `${backup.file} is ${formatBytes(bytes)}: GitHub warns about files over 50 MB and refuses them over 100 MB. ` +
        "Consider 'compression: gzip' or 'destination: artifact' before the database grows further",
    );
  }
  const remote = resolveBranchRemote(config, env, options.remoteUrl);
  remote.secrets.forEach((secret) => log.secret(secret));
  const redact = (text: string): string => remote.secrets.reduce((out, secret) => out.split(secret).join('***'), hideUserInfo(text));
  const attempts = Math.max(1, options.attempts ?? 5);
  const backoffMs = options.backoffMs ?? 1000;
  const pathOnBranch = `${BRANCH_DIR}/${backup.file}`;
  log.info(`🌿 Committing ${pathOnBranch} to branch '${branch}' of ${remote.label}...`);

  const work = await mkdtemp(path.join(options.tempDir || env.RUNNER_TEMP || tmpdir(), 'supabase-backup-branch-'));
  try {
    const repo = path.join(work, 'repo');
    const environment = gitEnvironment(env, remote);
    await gitRunner(work, environment, redact)(['init', '-q', repo]);
    const git = gitRunner(repo, environment, redact);
    await git(['remote', 'add', 'origin', remote.url]);

    for (let attempt = 1; ; attempt++) {
      // Start from the branch as it is now on the remote (or from nothing).
      const base = await remoteTip(git, branch, remote);
      if (base) {
        const fetched = await git(['fetch', '-q', '--depth', '1', '--no-tags', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`], { allowFailure: true });
        if (fetched.exitCode !== 0) throw explainGitFailure(`fetching branch '${branch}'`, fetched.stderr, remote, branch);
        await git(['checkout', '-q', '-f', '-B', branch, `refs/remotes/origin/${branch}`]);
      } else {
        await git(['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
        await git(['update-ref', '-d', `refs/heads/${branch}`], { allowFailure: true });
        await git(['read-tree', '--empty']);
      }
      await git(['clean', '-q', '-f', '-d', '-x']);

      // The change: the file, the README of a new branch, and the oldest backups beyond `keep` removed.
      if (!base) await writeFile(path.join(repo, 'README.md'), README(branch));
      await mkdir(path.join(repo, BRANCH_DIR), { recursive: true });
      await copyFile(backup.path, path.join(repo, pathOnBranch));
      // The signature goes beside the file, and leaves with it when the file is pruned.
      if (backup.signaturePath) await copyFile(backup.signaturePath, path.join(repo, `${pathOnBranch}.sig`));
      const backups = (await readdir(path.join(repo, BRANCH_DIR))).filter((file) => BACKUP_FILE.test(file));
      // The time comes right after the fixed `full_` prefix, so name order is time order.
      const others = backups.filter((file) => file !== backup.file).sort();
      const removed = keep > 0 ? others.slice(0, Math.max(0, backups.length - keep)).map((file) => `${BRANCH_DIR}/${file}`) : [];
      for (const file of removed) {
        await rm(path.join(repo, file));
        await rm(path.join(repo, `${file}.sig`), { force: true });
      }
      await git(['add', '-A']);
      if (base && (await git(['diff', '--cached', '--quiet'], { allowFailure: true })).exitCode === 0) {
        log.info(`✅ ${pathOnBranch} is already on branch '${branch}' (commit ${base.slice(0, 7)}); nothing to push`);
        return { branch, commitSha: base, pathOnBranch, created: false, removed: [], fileUrl: fileLink(remote, base, pathOnBranch), label: remote.label };
      }
      let keptBytes = 0;
      for (const file of backups.filter((file) => !removed.includes(`${BRANCH_DIR}/${file}`))) {
        keptBytes += (await stat(path.join(repo, BRANCH_DIR, file))).size;
      }
      const message = commitMessage(backup, bytes, { count: backups.length - removed.length, bytes: keptBytes }, removed, keep, env);
      await git(['commit', '-q', '--no-verify', '-F', '-'], { input: message });

      await options.beforePush?.(attempt);
      const pushed = await git(['push', '-q', 'origin', `HEAD:refs/heads/${branch}`], { allowFailure: true });
      if (pushed.exitCode === 0) {
        const commitSha = (await git(['rev-parse', 'HEAD'])).stdout.trim();
        const url = fileLink(remote, commitSha, pathOnBranch);
        const pruned = removed.length > 0 ? `, removed ${removed.length} older backup(s) beyond keep ${keep}` : '';
        log.info(`✅ Pushed ${commitSha.slice(0, 7)} to branch '${branch}'${base ? '' : ' (new orphan branch)'}${pruned}${url ? `: ${url}` : ''}`);
        return { branch, commitSha, pathOnBranch, created: !base, removed, fileUrl: url, label: remote.label };
      }

      // Rejected: if another run moved the branch (or holds its lock), start again from the new tip.
      const moved = (await remoteTip(git, branch, remote)) !== base;
      const raced = moved || /\[rejected\]|non-fast-forward|fetch first|cannot lock ref|failed to update ref|unable to create .*\.lock|incorrect old value/i.test(pushed.stderr);
      if (!raced) throw explainGitFailure(`pushing to branch '${branch}'`, pushed.stderr, remote, branch);
      if (attempt >= attempts) {
        throw new PublishError(
          `pushing to branch '${branch}' of ${remote.label} failed ${attempts} times because other pushes kept landing first; ` +
            `nothing was pushed. Re-run the job, or keep backup workflows from running at the same time (a workflow \`concurrency:\` group). Last error: ${pushed.stderr.trim()}`,
        );
      }
      const delay = Math.round(backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
      log.info(`↻ Branch '${branch}' moved while pushing (attempt ${attempt}/${attempts}); applying the backup on the new tip in ${delay} ms...`);
      await sleep(delay);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function fileLink(remote: BranchRemote, commitSha: string, pathOnBranch: string): string | undefined {
  return remote.webUrl ? `${remote.webUrl}/blob/${commitSha}/${pathOnBranch}` : undefined;
}
