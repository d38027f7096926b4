/**
 * The public-repository guard: a backup holds every user's email, password hash and every row of the
 * database. Stored unencrypted as an artifact or on a branch of a PUBLIC repository, it is readable by
 * anyone, so the action refuses that before dumping anything, unless the user encrypts the file or says
 * `allow-unencrypted-public: true`.
 *
 * Visibility comes from the event payload GitHub writes to GITHUB_EVENT_PATH (`repository.visibility`,
 * else `repository.private`); when the payload does not tell, from the REST API (`GET /repos/{owner}/{repo}`
 * with the github-token). When neither tells, the guard warns and lets the run go on: it blocks only a
 * repository known to be public (see docs/security.md, "When visibility is unknown", for why).
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
      verdict.warnings.push(
        `could not tell whether ${repo} is public (${facts.source}), so the backup is published unencrypted ` +
          `${where(config)}. If the repository is or becomes public, anyone can read it: set 'encryption-recipients'`,
      );
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
  const repository = repositoryName(payload, env);
  const fromPayload = visibilityFromPayload(payload);
  if (fromPayload) return { repository, visibility: fromPayload, source: 'the event payload says so' };
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
      const visibility = visibilityFromPayload({ repository: await response.json() });
      if (visibility) return { repository, visibility, source: `the GitHub API says so` };
      reasons.push(`${api}/repos/${repository} did not give the visibility`);
    }
  } catch (error) {
    reasons.push(`${api}/repos/${repository} could not be asked: ${(error as Error).message}`);
  }
  return { repository, visibility: undefined, source: reasons.join('; ') };
}

/**
 * The guard as the action runs it, before anything is dumped: looks the repository up only when the
 * configuration would publish an unencrypted file, logs notes and warnings, throws GuardError to refuse.
 */
export async function enforcePublicGuard(
  config: BackupConfig,
  env: NodeJS.ProcessEnv,
  log: Logger,
  options: LookupOptions = {},
): Promise<GuardVerdict> {
  const empty: GuardVerdict = { refusal: undefined, warnings: [], notes: [] };
  if (!publishesUnencrypted(config)) return empty;
  const verdict = guardVerdict(config, await repositoryFacts(env, config.githubToken, options));
  verdict.notes.forEach((note) => log.info(note));
  verdict.warnings.forEach((warning) => log.warning(warning));
  if (verdict.refusal) throw new GuardError(verdict.refusal);
  return verdict;
}
