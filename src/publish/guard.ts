/**
 * The public-repository guard: a backup holds every user's email, password hash and every row of the
 * database. Stored unencrypted as an artifact or on a branch of a PUBLIC repository, it is readable by
 * anyone, so the action refuses that before dumping anything, unless the user encrypts the file or says
 * `allow-unencrypted-public: true`.
 *
 * Visibility comes from the event payload GitHub writes to GITHUB_EVENT_PATH (`repository.visibility`,
 * else `repository.private`); when the payload does not tell, from the REST API (`GET /repos/{owner}/{repo}`
 * with the github-token). When neither tells, the guard fails closed: it refuses an unencrypted artifact
 * or branch unless `allow-unencrypted-public: true` (see docs/security.md).
 *
 * The repository checked is the one the backup goes to: the workflow's own for an artifact and for the
 * branch, or the repository of BACKUP_REMOTE_URL when the branch is pushed there instead (a GitHub URL is
 * looked up; any other remote's visibility is unknown). The branch must not be the repository's default
 * branch.
 */
import { readFile } from 'node:fs/promises';
import type { BackupConfig } from '../config.js';
import type { Logger } from '../log.js';

export type Visibility = 'public' | 'private' | 'internal';

export class GuardError extends Error {
  override name = 'GuardError';
}

/** What is known about the repository the backup would be published in. */
export interface RepositoryFacts {
  /** owner/name, when known. */
  repository: string | undefined;
  visibility: Visibility | undefined;
  /** Where the visibility came from ("the event payload"), or why it is unknown. */
  source: string;
  /** The repository's default branch, when known. */
  defaultBranch?: string;
}

export interface GuardVerdict {
  /** Set when the run must stop: the message for the user. */
  refusal: string | undefined;
  warnings: string[];
  notes: string[];
}

/** Does this configuration store an unencrypted file where others may read it? */
export function publishesUnencrypted(config: Pick<BackupConfig, 'destinations' | 'encryption'>): boolean {
  return config.encryption.kind === 'none' && (config.destinations.artifact || config.destinations.branch);
}

/** The repository's visibility as the event payload states it (pure). */
export function visibilityFromPayload(payload: unknown): Visibility | undefined {
  const repository = (payload as { repository?: unknown } | null | undefined)?.repository;
  if (!repository || typeof repository !== 'object') return undefined;
  const { visibility, private: isPrivate } = repository as { visibility?: unknown; private?: unknown };
  if (visibility === 'public' || visibility === 'private' || visibility === 'internal') return visibility;
  if (typeof isPrivate === 'boolean') return isPrivate ? 'private' : 'public';
  return undefined;
}

/** The default branch the payload or the API names, when it does. */
export function defaultBranchFrom(payload: unknown): string | undefined {
  const branch = (payload as { repository?: { default_branch?: unknown } } | null | undefined)?.repository?.default_branch;
  return typeof branch === 'string' && branch ? branch : undefined;
}

/**
 * owner/name of a GitHub repository URL on `server` (https://github.com/acme/app.git, git@github.com:acme/app),
 * or undefined for any other remote (a path, another host).
 */
export function githubRepositoryOf(url: string, server = 'https://github.com'): string | undefined {
  const host = new URL(server).host.toLowerCase();
  const https = /^https?:\/\/(?:[^/@]*@)?([^/]+)\/([^/]+\/[^/]+?)(?:\.git)?\/?$/i.exec(url);
  if (https && https[1]!.toLowerCase() === host) return https[2];
  const scp = /^(?:ssh:\/\/)?git@([^:/]+)[:/]([^/]+\/[^/]+?)(?:\.git)?\/?$/i.exec(url);
  if (scp && scp[1]!.toLowerCase() === host) return scp[2];
  return undefined;
}

/** owner/name from the payload, else from GITHUB_REPOSITORY. */
export function repositoryName(payload: unknown, env: NodeJS.ProcessEnv): string | undefined {
  const fullName = (payload as { repository?: { full_name?: unknown } } | null | undefined)?.repository?.full_name;
  return typeof fullName === 'string' && fullName ? fullName : env.GITHUB_REPOSITORY || undefined;
}

function where(config: Pick<BackupConfig, 'destinations' | 'branch'>): string {
  const places: string[] = [];
  if (config.destinations.artifact) places.push('as a workflow artifact (downloadable by anyone signed in to GitHub)');
  if (config.destinations.branch) places.push(`on branch '${config.branch}' (readable and clonable by anyone, history included)`);
  return places.join(' and ');
}

/**
 * The decision (pure): refuse a known-public repository that would get an unencrypted backup, unless
 * allow-unencrypted-public; warn when the visibility is unknown.
 */
export function guardVerdict(
  config: Pick<BackupConfig, 'destinations' | 'encryption' | 'allowUnencryptedPublic' | 'branch'>,
  facts: RepositoryFacts,
): GuardVerdict {
  const verdict: GuardVerdict = { refusal: undefined, warnings: [], notes: [] };
  if (!publishesUnencrypted(config)) return verdict;
  const repo = facts.repository ? `'${facts.repository}'` : 'this repository';
  switch (facts.visibility) {
    case 'public':
      if (config.allowUnencryptedPublic) {
        verdict.warnings.push(
          `${repo} is PUBLIC and the backup is stored UNENCRYPTED ${where(config)}, because ` +
            "allow-unencrypted-public is true: anyone can read every user's email and password hash and all your data",
        );
        return verdict;
      }
      verdict.refusal =
        `refusing to publish an unencrypted backup: ${repo} is a public repository (${facts.source}), and the ` +
        `backup would be stored ${where(config)}. It holds every user's email, phone and password hash and ` +
        'every row of your tables. Nothing was dumped. Either:\n' +
        '  1. encrypt it (recommended): create a key pair with `age-keygen -o key.txt`, keep key.txt private ' +
        '(a password manager, not this repository) and set `encryption-recipients: age1…` to the public key it ' +
        'prints; or `encryption-passphrase: ${{ secrets.BACKUP_PASSPHRASE }}`. See docs/security.md; or\n' +
        '  2. if you really mean to make the database public, set `allow-unencrypted-public: true`.';
      return verdict;
    case 'private':
    case 'internal':
      verdict.notes.push(
        `🔒 ${repo} is ${facts.visibility}: the unencrypted backup is readable by everyone with read access to it` +
          `${facts.visibility === 'internal' ? ' (every member of the enterprise)' : ''}`,
      );
      return verdict;
    default:
      if (config.allowUnencryptedPublic) {
        verdict.warnings.push(
          `could not tell whether ${repo} is public (${facts.source}); the backup is published unencrypted ` +
            `${where(config)} because allow-unencrypted-public is true. If the repository is or becomes public, anyone can read it`,
        );
        return verdict;
      }
      verdict.refusal =
        `refusing to publish an unencrypted backup: could not tell whether ${repo} is public (${facts.source}), and ` +
        `the backup would be stored ${where(config)}. Nothing was dumped. Either:\n` +
        "  1. encrypt it (recommended): set `encryption-recipients: age1…` (see docs/security.md); or\n" +
        '  2. give the job what it needs to tell (`github-token` with read access to the repository), or set ' +
        '`allow-unencrypted-public: true` if an unencrypted backup there is what you want.';
      return verdict;
  }
}

export interface LookupOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Reads the event payload, then (if it does not tell) asks the REST API. Never throws. */
export async function repositoryFacts(
  env: NodeJS.ProcessEnv,
  token: string | undefined,
  options: LookupOptions = {},
): Promise<RepositoryFacts> {
  const reasons: string[] = [];
  let payload: unknown;
  if (env.GITHUB_EVENT_PATH) {
    try {
      payload = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, 'utf8'));
    } catch (error) {
      reasons.push(`the event payload ${env.GITHUB_EVENT_PATH} could not be read: ${(error as Error).message}`);
    }
  } else {
    reasons.push('GITHUB_EVENT_PATH is not set');
  }
  return lookUp(repositoryName(payload, env), payload, reasons, env, token, options);
}

/** The facts of another repository than the workflow's (a remote override): the API only. */
export async function otherRepositoryFacts(
  repository: string,
  env: NodeJS.ProcessEnv,
  token: string | undefined,
  options: LookupOptions = {},
): Promise<RepositoryFacts> {
  return lookUp(repository, undefined, [], env, token, options);
}

async function lookUp(
  repository: string | undefined,
  payload: unknown,
  reasons: string[],
  env: NodeJS.ProcessEnv,
  token: string | undefined,
  options: LookupOptions,
): Promise<RepositoryFacts> {
  const fromPayload = visibilityFromPayload(payload);
  const defaultBranch = defaultBranchFrom(payload);
  if (fromPayload) return { repository, visibility: fromPayload, source: 'the event payload says so', defaultBranch };
  if (payload !== undefined) reasons.push('the event payload does not give the repository visibility');

  if (!repository) {
    reasons.push('GITHUB_REPOSITORY is not set');
    return { repository, visibility: undefined, source: reasons.join('; ') };
  }
  const api = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  try {
    const response = await (options.fetch ?? fetch)(`${api}/repos/${repository}`, {
      headers: {
        accept: 'application/vnd.github+json',
        'user-agent': 'supabase-complete-backup',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    if (!response.ok) {
      reasons.push(`${api}/repos/${repository} answered ${response.status}`);
    } else {
      const body = { repository: await response.json() };
      const visibility = visibilityFromPayload(body);
      if (visibility) return { repository, visibility, source: `the GitHub API says so`, defaultBranch: defaultBranchFrom(body) };
      reasons.push(`${api}/repos/${repository} did not give the visibility`);
    }
  } catch (error) {
    reasons.push(`${api}/repos/${repository} could not be asked: ${(error as Error).message}`);
  }
  return { repository, visibility: undefined, source: reasons.join('; '), defaultBranch };
}

/**
 * The guard as the action runs it, before anything is dumped: the repository each destination writes
 * to (the workflow's own, or BACKUP_REMOTE_URL's for the branch) must not be public, or not known to be
 * private, for an unencrypted file; the branch must not be the repository's default branch. Logs notes
 * and warnings, throws GuardError to refuse.
 */
export async function enforcePublicGuard(
  config: BackupConfig,
  env: NodeJS.ProcessEnv,
  log: Logger,
  options: LookupOptions = {},
): Promise<GuardVerdict> {
  const verdict: GuardVerdict = { refusal: undefined, warnings: [], notes: [] };
  const unencrypted = publishesUnencrypted(config);
  if (!unencrypted && !config.destinations.branch) return verdict;
  const own = await repositoryFacts(env, config.githubToken, options);
  const remote = env.BACKUP_REMOTE_URL;
  let branchFacts = own;
  if (config.destinations.branch && remote) {
    const repository = githubRepositoryOf(remote, env.GITHUB_SERVER_URL || 'https://github.com');
    branchFacts = repository
      ? await otherRepositoryFacts(repository, env, config.githubToken, options)
      : { repository: hideUserInfo(remote), visibility: undefined, source: 'BACKUP_REMOTE_URL is not a repository on this GitHub server' };
  }
  if (config.destinations.branch && branchFacts.defaultBranch && branchFacts.defaultBranch === config.branch) {
    throw new GuardError(
      `refusing to push backups to branch '${config.branch}': it is the default branch of ${branchFacts.repository ?? 'the repository'}. ` +
        "Backups go on a branch of their own (the default is 'backups'); set 'branch' to another name. Nothing was dumped.",
    );
  }
  if (!unencrypted) return verdict;
  const checks: [Pick<BackupConfig, 'destinations'>['destinations'], RepositoryFacts][] = [];
  if (branchFacts === own) {
    checks.push([config.destinations, own]);
  } else {
    if (config.destinations.artifact) checks.push([{ artifact: true, branch: false, s3: false }, own]);
    checks.push([{ artifact: false, branch: true, s3: false }, branchFacts]);
  }
  for (const [destinations, facts] of checks) {
    const one = guardVerdict({ ...config, destinations }, facts);
    one.notes.forEach((note) => log.info(note));
    one.warnings.forEach((warning) => log.warning(warning));
    verdict.notes.push(...one.notes);
    verdict.warnings.push(...one.warnings);
    if (one.refusal) throw new GuardError(one.refusal);
  }
  return verdict;
}

function hideUserInfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}
