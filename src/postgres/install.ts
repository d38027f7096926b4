/**
 * Getting a PostgreSQL client of the right major version onto the runner. What to run is decided by a
 * pure function of facts about the host (planInstall), so the exact command lines are testable; the
 * executor (runInstallPlan) runs them as argument arrays, never through a shell; resolvePgTools ties
 * lookup, installation and a second lookup together and says which binary it chose and why.
 */
import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { Logger } from '../log.js';
import { candidateBinDirs, findPgTools, ToolsError, type PgTools } from './tools.js';

/** Ships with postgresql-common; adds apt.postgresql.org (PGDG), which carries every supported major. */
export const PGDG_SCRIPT = '/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh';

export interface InstallStep {
  command: string;
  args: string[];
  why: string;
}

/** What planInstall needs to know about the host; readHostFacts reads it. */
export interface HostFacts {
  platform: NodeJS.Platform;
  /** ID then ID_LIKE from /etc/os-release, e.g. ['ubuntu', 'debian']; empty when unknown. */
  distro: string[];
  /** PRETTY_NAME from /etc/os-release, for messages. */
  distroName: string;
  /** Null where there are no uids (Windows). */
  uid: number | null;
  aptGet: boolean;
  sudo: boolean;
  /** Whether PGDG_SCRIPT exists (postgresql-common is installed). */
  pgdgScript: boolean;
  /** The candidate version of postgresql-client-<N> in the apt sources already configured, or null. */
  aptCandidate: string | null;
  /** Full path of brew, or null. */
  brew: string | null;
}

export type InstallPlan =
  | { possible: true; method: string; steps: InstallStep[]; binDir: string; manual: string }
  | { possible: false; reason: string };

/** How to provide a client by hand, for every error that cannot do it automatically. */
export function manualAdvice(major: number): string {
  return (
    `Install a PostgreSQL ${major} client (pg_dump and psql ${major} or newer) in an earlier step and put its bin ` +
    `directory on PATH or in PG_BIN; set postgres-version: ${major} to require exactly that major`
  );
}

export function planInstall(facts: HostFacts, major: number): InstallPlan {
  const pkg = `postgresql-client-${major}`;
  const manual = manualAdvice(major);
  if (facts.platform === 'linux' && facts.distro.some((id) => id === 'debian' || id === 'ubuntu')) {
    if (!facts.aptGet) {
      return { possible: false, reason: `cannot install ${pkg}: ${facts.distroName} has no apt-get. ${manual}` };
    }
    if (facts.uid !== 0 && !facts.sudo) {
      return {
        possible: false,
        reason:
          `cannot install ${pkg}: it needs root, this job runs as uid ${facts.uid} and sudo is not available. ` +
          `Run the job as root or with passwordless sudo, or: ${manual}`,
      };
    }
    // sudo -n: fail rather than wait for a password nobody will type.
    const step = ([command, ...args]: [string, ...string[]], why: string): InstallStep =>
      facts.uid === 0 ? { command, args, why } : { command: 'sudo', args: ['-n', command, ...args], why };
    const install = (packages: string[], why: string): InstallStep =>
      step(['apt-get', 'install', '-y', '--no-install-recommends', ...packages], why);
    const update = (why: string): InstallStep => step(['apt-get', 'update'], why);
    const binDir = `/usr/lib/postgresql/${major}/bin`;
    const distro = facts.distroName || 'the distribution';
    if (facts.aptCandidate) {
      return {
        possible: true,
        method: `apt-get from ${distro}'s archive (${pkg} ${facts.aptCandidate})`,
        steps: [update('refresh the package lists'), install([pkg], `the PostgreSQL ${major} client`)],
        binDir,
        manual,
      };
    }
    const steps: InstallStep[] = [];
    if (!facts.pgdgScript) {
      steps.push(update('refresh the package lists'));
      steps.push(install(['postgresql-common', 'ca-certificates'], `postgresql-common provides ${PGDG_SCRIPT}`));
    }
    steps.push(step([PGDG_SCRIPT, '-y'], `add apt.postgresql.org: ${distro}'s archive has no ${pkg}`));
    steps.push(install([pkg], `the PostgreSQL ${major} client`));
    return { possible: true, method: 'apt-get from apt.postgresql.org (PGDG)', steps, binDir, manual };
  }
  if (facts.platform === 'darwin') {
    if (!facts.brew) {
      return { possible: false, reason: `cannot install a PostgreSQL ${major} client: Homebrew not found. ${manual}` };
    }
    const formula = `postgresql@${major}`;
    return {
      possible: true,
      method: `Homebrew ${formula}`,
      steps: [{ command: facts.brew, args: ['install', formula], why: `the PostgreSQL ${major} client (keg-only, used by full path)` }],
      binDir: path.join(path.dirname(path.dirname(facts.brew)), 'opt', formula, 'bin'),
      manual,
    };
  }
  const where = facts.platform === 'linux' ? `${facts.distroName || 'this Linux'} (not Debian or Ubuntu)` : facts.platform;
  return {
    possible: false,
    reason: `no pg_dump of PostgreSQL ${major} or newer found, and installing one on ${where} is not automated. ${manual}`,
  };
}

/** Parses /etc/os-release (KEY=value, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) fields[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return fields;
}

async function isExecutable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(() => true, () => false);
}

/** Full path of `name` on PATH, or null. */
export async function onPath(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && (await isExecutable(path.join(dir, name)))) return path.join(dir, name);
  }
  return null;
}

/** The version apt would install for `pkg` from the sources already configured, or null. */
export async function aptCandidate(pkg: string): Promise<string | null> {
  const { stdout } = await execa('apt-cache', ['policy', pkg], { reject: false, env: { LC_ALL: 'C' } });
  const candidate = /^\s*Candidate:\s*(\S+)/m.exec(stdout)?.[1];
  return candidate && candidate !== '(none)' ? candidate : null;
}

export async function readHostFacts(major: number): Promise<HostFacts> {
  const os = parseOsRelease(await readFile('/etc/os-release', 'utf8').catch(() => ''));
  const aptGet = process.platform === 'linux' && (await onPath('apt-get')) !== null;
  let brew: string | null = null;
  if (process.platform === 'darwin') {
    brew = await onPath('brew');
    for (const known of ['/opt/homebrew/bin/brew', '/usr/local/bin/brew']) {
      if (!brew && (await isExecutable(known))) brew = known;
    }
  }
  return {
    platform: process.platform,
    distro: [os.ID ?? '', ...(os.ID_LIKE ?? '').split(/\s+/)].filter(Boolean),
    distroName: os.PRETTY_NAME ?? os.NAME ?? '',
    uid: process.getuid?.() ?? null,
    aptGet,
    sudo: (await onPath('sudo')) !== null,
    pgdgScript: await isExecutable(PGDG_SCRIPT),
    aptCandidate: aptGet ? await aptCandidate(`postgresql-client-${major}`) : null,
    brew,
  };
}

export function formatCommand(step: Pick<InstallStep, 'command' | 'args'>): string {
  return [step.command, ...step.args].map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : `'${part}'`)).join(' ');
}

export interface RunOptions {
  /** Added to the environment of every command (tests put stand-ins on PATH). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** Runs the steps in order, logging each command before it runs; the first failure stops with a ToolsError. */
export async function runInstallPlan(
  plan: Extract<InstallPlan, { possible: true }>,
  log: Logger,
  options: RunOptions = {},
): Promise<void> {
  for (const [index, step] of plan.steps.entries()) {
    log.info(`📦 [${index + 1}/${plan.steps.length}] ${formatCommand(step)}   # ${step.why}`);
    const result = await execa(step.command, step.args, {
      env: { DEBIAN_FRONTEND: 'noninteractive', ...options.env },
      stdin: 'ignore',
      all: true,
      reject: false,
      cancelSignal: options.signal,
    });
    if (result.failed) {
      const how = result.exitCode === undefined ? (result.originalMessage ?? 'did not run') : `exited with code ${result.exitCode}`;
      const tail = (result.all ?? '').trim().split('\n').slice(-15).join('\n');
      throw new ToolsError(
        `installing with ${plan.method} failed: \`${formatCommand(step)}\` ${how}` +
          `${tail ? `:\n${tail}\n` : '. '}${plan.manual}`,
      );
    }
  }
}

export interface ResolveOptions {
  serverMajor: number;
  /** The postgres-version input: auto takes the server's major (or a newer installed client); a number requires that major exactly. */
  requested: 'auto' | number;
  log: Logger;
  /** Install a client when none fits (the action: true; a CLI on someone's machine may prefer false). */
  install?: boolean;
  signal?: AbortSignal;
  /** Where to look for installed clients (default: candidateBinDirs()). */
  dirs?: () => Promise<string[]>;
  /** Facts about the host (default: readHostFacts). */
  facts?: (major: number) => Promise<HostFacts>;
  /** Added to the environment of install commands. */
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedTools extends PgTools {
  /** Why this client: what was required and where it came from. */
  why: string;
  /** The install method when it was installed just now. */
  installedWith?: string;
}

/** The client major to use: the server's for auto; a pinned one, never older than the server. */
export function requiredMajor(serverMajor: number, requested: 'auto' | number): number {
  if (requested === 'auto') return serverMajor;
  if (requested < serverMajor) {
    throw new ToolsError(
      `postgres-version ${requested} is older than the server (PostgreSQL ${serverMajor}); pg_dump refuses a newer ` +
        `server ("server version mismatch"): use auto or ${serverMajor} or newer`,
    );
  }
  return requested;
}

/** Finds a suitable installed client, else installs one; logs which binary and version it uses and why. */
export async function resolvePgTools(options: ResolveOptions): Promise<ResolvedTools> {
  const { serverMajor, requested, log } = options;
  const major = requiredMajor(serverMajor, requested);
  const exact = requested !== 'auto';
  const dirs = options.dirs ?? (() => candidateBinDirs());
  const need =
    requested === 'auto'
      ? `the server runs PostgreSQL ${serverMajor} (postgres-version: auto)`
      : `postgres-version: ${requested} (the server runs PostgreSQL ${serverMajor})`;
  const choose = (tools: PgTools, source: string, installedWith?: string): ResolvedTools => {
    const fit = tools.major === major ? `PostgreSQL ${major} client` : `PostgreSQL ${tools.major} client, newer than ${major}, which pg_dump supports`;
    const why = `${fit}; ${need}; ${source}`;
    log.info(`🧰 Using pg_dump ${tools.version} at ${tools.pgDump}: ${why}`);
    return { ...tools, why, ...(installedWith ? { installedWith } : {}) };
  };

  const found = await findPgTools(major, await dirs(), exact);
  if (found) return choose(found, 'already installed');
  const wanted = exact ? `PostgreSQL ${major}` : `PostgreSQL ${major} or newer`;
  if (options.install === false) {
    throw new ToolsError(`no pg_dump of ${wanted} found; ${need}. ${manualAdvice(major)}`);
  }
  const plan = planInstall(await (options.facts ?? readHostFacts)(major), major);
  if (!plan.possible) throw new ToolsError(plan.reason);
  log.info(`🧰 No pg_dump of ${wanted} installed; ${need}; installing postgresql-client-${major} with ${plan.method}`);
  await runInstallPlan(plan, log, { env: options.env, signal: options.signal });
  const installed = await findPgTools(major, [...new Set([plan.binDir, ...(await dirs())])], exact);
  if (!installed) {
    throw new ToolsError(`installed with ${plan.method}, but found no pg_dump of ${wanted} in ${plan.binDir}. ${plan.manual}`);
  }
  return choose(installed, `installed just now with ${plan.method}`, plan.method);
}
