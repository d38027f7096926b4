/**
 * Finding a pg_dump and psql whose major version is at least the server's. A client is always called by
 * its full path: /usr/bin/pg_dump on Debian/Ubuntu is a wrapper that may pick another cluster's version.
 */
import { access, readFile, readdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

export interface PgTools {
  binDir: string;
  pgDump: string;
  psql: string;
  major: number;
  /** e.g. "15.18" */
  version: string;
}

export class ToolsError extends Error {
  override name = 'ToolsError';
}

/** Directories that may hold a PostgreSQL client, most specific first. */
export async function candidateBinDirs(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const dirs: string[] = [];
  if (env.PG_BIN) dirs.push(env.PG_BIN);
  // Debian/Ubuntu: /usr/lib/postgresql/<N>/bin; RHEL-family PGDG RPMs: /usr/pgsql-<N>/bin.
  const byMajor = (names: string[]) => names.sort((a, b) => Number(b.replace(/\D/g, '')) - Number(a.replace(/\D/g, '')));
  const debian = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  for (const major of byMajor(debian.filter((name) => /^\d+$/.test(name)))) dirs.push(path.join('/usr/lib/postgresql', major, 'bin'));
  const rpm = await readdir('/usr').catch(() => [] as string[]);
  for (const name of byMajor(rpm.filter((name) => /^pgsql-\d+$/.test(name)))) dirs.push(path.join('/usr', name, 'bin'));
  for (const brew of ['/opt/homebrew/opt', '/usr/local/opt']) {
    const formulas = await readdir(brew).catch(() => [] as string[]);
    for (const formula of formulas.filter((f) => /^postgresql@\d+$|^libpq$/.test(f)).sort().reverse()) {
      dirs.push(path.join(brew, formula, 'bin'));
    }
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir) dirs.push(dir);
  }
  return [...new Set(dirs)];
}

/** Reads `pg_dump --version`; null when the file is missing or is not a pg_dump. */
export async function readClientVersion(pgDump: string): Promise<{ major: number; version: string } | null> {
  try {
    await access(pgDump, constants.X_OK);
    const { stdout } = await execa(pgDump, ['--version'], { timeout: 10_000 });
    const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(stdout);
    if (!match) return null;
    return { major: Number(match[1]), version: match[2] === undefined ? match[1]! : `${match[1]}.${match[2]}` };
  } catch {
    return null;
  }
}

/** Is this the Debian/Ubuntu pg_wrapper (a Perl script) rather than a real pg_dump binary? */
export async function isWrapper(file: string): Promise<boolean> {
  const head = await readFile(file).then((b) => b.subarray(0, 64).toString('latin1')).catch(() => '');
  return head.startsWith('#!') && /perl/.test(head);
}

/**
 * The best installed client for a server of `requiredMajor`: the same major when there is one (its
 * output matches the server best), else the newest newer one; with `exact`, only the same major.
 * Null when none fits.
 */
export async function findPgTools(requiredMajor: number, dirs?: string[], exact = false): Promise<PgTools | null> {
  const exe = process.platform === 'win32' ? '.exe' : '';
  const found: PgTools[] = [];
  for (const binDir of dirs ?? (await candidateBinDirs())) {
    const pgDump = path.join(binDir, `pg_dump${exe}`);
    const psql = path.join(binDir, `psql${exe}`);
    if (await isWrapper(pgDump)) continue;
    const version = await readClientVersion(pgDump);
    if (!version || version.major < requiredMajor || (exact && version.major !== requiredMajor)) continue;
    if (!(await access(psql, constants.X_OK).then(() => true, () => false))) continue;
    found.push({ binDir, pgDump, psql, ...version });
  }
  const match = found.find((tools) => tools.major === requiredMajor);
  return match ?? found.sort((a, b) => b.major - a.major)[0] ?? null;
}

export async function requirePgTools(requiredMajor: number, dirs?: string[]): Promise<PgTools> {
  const tools = await findPgTools(requiredMajor, dirs);
  if (!tools) {
    throw new ToolsError(
      `no pg_dump of PostgreSQL ${requiredMajor} or newer found (the server runs ${requiredMajor}; an older ` +
        `pg_dump refuses with "server version mismatch"). Install postgresql-client-${requiredMajor}, or put its ` +
        'bin directory on PATH or in PG_BIN',
    );
  }
  return tools;
}
