/**
 * A throwaway PostgreSQL cluster for integration tests: initdb in a temp dir, a free TCP port on
 * 127.0.0.1 (scram-sha-256) plus a unix socket inside the temp dir (trust), pg_ctl start/stop.
 *
 * initdb refuses to run as root, so when the tests run as root every server program runs as the
 * `postgres` OS user and the temp dir is handed to that user.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

export const DEFAULT_PG_BIN = '/usr/lib/postgresql/15/bin';
/** Where scripts/install-postgres-17.sh puts the PostgreSQL 17 wrappers. */
export const DEFAULT_PG17_BIN = '/var/cache/supabase-complete-backup/pg17/pg/usr/lib/postgresql/17/bin';

/** The server majors the tests run against: hosted projects run 17 (new) or 15 (older). */
export const TEST_MAJORS = [15, 17] as const;
export type PgMajor = (typeof TEST_MAJORS)[number];

/**
 * The major a test's clusters run when it names none: 15, or 17 in the test project that runs the
 * restore-critical tests again on PostgreSQL 17 (TEST_PG_MAJOR=17, vitest.config.ts).
 */
export const DEFAULT_MAJOR: PgMajor = process.env.TEST_PG_MAJOR === '17' ? 17 : 15;

/**
 * bin dir of a major: 15 = $PG15_BIN or Debian's; 17 = $PG17_BIN or install-postgres-17.sh's. (PG_BIN
 * is the product's own: where the action and the CLI look for pg_dump and psql first.)
 */
export function pgBinDir(major: PgMajor = DEFAULT_MAJOR): string {
  if (major === 15) return process.env.PG15_BIN || DEFAULT_PG_BIN;
  const binDir = process.env.PG17_BIN || DEFAULT_PG17_BIN;
  if (!existsSync(join(binDir, 'initdb'))) {
    throw new Error(`PostgreSQL 17 not found in ${binDir}: run scripts/install-postgres-17.sh `
      + '(prints the bin dir; export it as PG17_BIN if not the default)');
  }
  return binDir;
}

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root, whether this module runs from test/helpers (vitest) or lib/test/helpers. */
const REPO_ROOT = [join(HERE, '..', '..'), join(HERE, '..', '..', '..')]
  .find((dir) => existsSync(join(dir, 'scripts', 'build-fixture-extension.sh'))) ?? join(HERE, '..', '..');
const supautilsLibraries = new Map<PgMajor, string>();

/**
 * Absolute path of the fixture's supautils emulation (test/fixture/supautils_emulation.c) built for
 * `major`, by scripts/build-fixture-extension.sh (cached by source hash: fast after the first build).
 */
export function supautilsEmulationLibrary(major: PgMajor = DEFAULT_MAJOR): string {
  let library = supautilsLibraries.get(major);
  if (library === undefined) {
    const script = join(REPO_ROOT, 'scripts', 'build-fixture-extension.sh');
    try {
      const out = execFileSync('bash', [script, String(major)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      library = out.trim().split('\n').at(-1) ?? '';
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`${script} ${major} failed: ${e.stderr || e.message}`);
    }
    supautilsLibraries.set(major, library);
  }
  return library;
}
const HOST = '127.0.0.1';

export interface ConnectOptions {
  db: string;
  /** Role to connect as; defaults to the cluster's bootstrap superuser. */
  user?: string;
}

export interface QueryOptions extends ConnectOptions {
  params?: readonly unknown[];
}

export interface PsqlOptions extends ConnectOptions {
  /** psql variables (`-v name=value`). */
  vars?: Readonly<Record<string, string>>;
}

export interface CreateDatabaseOptions {
  template?: string;
  owner?: string;
}

export interface Cluster {
  readonly port: number;
  readonly host: string;
  readonly socketDir: string;
  readonly superuser: string;
  /** Directory holding psql, pg_dump, ... of the server's version. */
  readonly binDir: string;
  /** Server major (15 or 17). */
  readonly major: PgMajor;
  /** postgres:// URL over TCP, with the role's (URL-encoded) password if one was set. */
  url(db: string, user?: string): string;
  /** Set a role's password and remember it for url(). */
  setPassword(role: string, password: string): Promise<void>;
  /** Run a SQL file with psql over the unix socket, ON_ERROR_STOP on. Returns stdout. */
  psqlFile(file: string, options: PsqlOptions): Promise<string>;
  /** Run one statement (or a parameterless multi-statement string) over the unix socket. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, options: QueryOptions): Promise<R[]>;
  createDatabase(name: string, options?: CreateDatabaseOptions): Promise<void>;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Bootstrap superuser name (initdb -U). Default `supabase_admin`. */
  superuser?: string;
  /** Bootstrap superuser password (initdb needs one for scram host auth). */
  superuserPassword?: string;
  /** Extra postgresql.conf lines. */
  settings?: Readonly<Record<string, string>>;
  /** Server major: 15 (default) or 17. */
  major?: PgMajor;
  /**
   * Preload the fixture's supautils emulation (shared_preload_libraries). Default false: a plain
   * cluster stands for a plain server (a CI service container); startSupabaseCluster turns it on.
   */
  supautils?: boolean;
}

const isRoot = (): boolean => process.getuid?.() === 0;

function postgresOsUser(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** argv to run a server program, as the postgres OS user when we are root. */
function serverCommand(binDir: string, program: string, args: string[]): [string, string[]] {
  const path = join(binDir, program);
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** The environment minus PG* variables, so a developer's PGHOST/PGOPTIONS/... cannot leak in. */
function envWithoutLibpqVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
}

export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
export const quoteLiteral = (value: string): string => pg.Client.prototype.escapeLiteral(value);

interface RunningCluster {
  dataDir: string;
  baseDir: string;
  binDir: string;
  watchdogPid?: number;
}

/** Every still-running cluster, stopped synchronously if the process exits without stop(). */
const running = new Set<RunningCluster>();
let exitHookInstalled = false;

const pgCtlStopArgs = (entry: RunningCluster): string[] => ['-D', entry.dataDir, '-m', 'immediate', '-w', 'stop'];

function stopSync(entry: RunningCluster): void {
  try {
    const [cmd, args] = serverCommand(entry.binDir, 'pg_ctl', pgCtlStopArgs(entry));
    execFileSync(cmd, args, { stdio: 'ignore', cwd: entry.baseDir });
  } catch {
    // already stopped
  }
  rmSync(entry.baseDir, { recursive: true, force: true });
  killWatchdog(entry);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const entry of running) stopSync(entry);
  });
}

/**
 * A detached shell that stops the cluster and deletes its directory once this process is gone,
 * even when it dies without running exit hooks (a test runner killing its worker, SIGKILL).
 */
function startWatchdog(entry: RunningCluster): void {
  const [cmd, args] = serverCommand(entry.binDir, 'pg_ctl', pgCtlStopArgs(entry));
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; dir="$2"; shift 2; "$@" >/dev/null 2>&1; rm -rf "$dir"';
  const watchdog = spawn('sh', ['-c', script, 'pg-test-watchdog', String(process.pid), entry.baseDir, cmd, ...args], {
    detached: true,
    stdio: 'ignore',
    cwd: entry.baseDir,
  });
  watchdog.unref();
  entry.watchdogPid = watchdog.pid;
}

function killWatchdog(entry: RunningCluster): void {
  if (entry.watchdogPid === undefined) return;
  try {
    process.kill(entry.watchdogPid);
  } catch {
    // already gone
  }
  entry.watchdogPid = undefined;
}

export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const major = options.major ?? DEFAULT_MAJOR;
  const binDir = pgBinDir(major);
  const preload = options.supautils ? [supautilsEmulationLibrary(major)] : [];
  const superuser = options.superuser ?? 'supabase_admin';
  const superuserPassword = options.superuserPassword ?? 'bootstrap-superuser-password';
  const baseDir = mkdtempSync(join(tmpdir(), 'sbpg-'));
  const dataDir = join(baseDir, 'data');
  const socketDir = baseDir;
  const pwFile = join(baseDir, 'pwfile');
  writeFileSync(pwFile, `${superuserPassword}\n`, { mode: 0o600 });
  if (isRoot()) {
    const { uid, gid } = postgresOsUser();
    chownSync(baseDir, uid, gid);
    chownSync(pwFile, uid, gid);
  }
  const entry: RunningCluster = { dataDir, baseDir, binDir };

  const runServerProgram = async (program: string, args: string[]): Promise<void> => {
    const [cmd, argv] = serverCommand(binDir, program, args);
    try {
      await execFileAsync(cmd, argv, { cwd: baseDir, env: { ...process.env, LC_ALL: 'C' } });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`${program} failed: ${e.stderr || e.message}`);
    }
  };

  try {
    await runServerProgram('initdb', [
      '-D', dataDir, '-U', superuser, `--pwfile=${pwFile}`,
      '--auth-local=trust', '--auth-host=scram-sha-256',
      '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions',
    ]);
    rmSync(pwFile);
    const port = await freePort();
    const settings: Record<string, string> = {
      listen_addresses: `'${HOST}'`,
      port: String(port),
      unix_socket_directories: `'${socketDir}'`,
      password_encryption: `'scram-sha-256'`,
      timezone: `'UTC'`,
      wal_level: 'logical',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '60',
      ...(preload.length ? { shared_preload_libraries: `'${preload.join(',')}'` } : {}),
      ...options.settings,
    };
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      `\n# test cluster\n${Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`,
    );
    running.add(entry);
    installExitHook();
    startWatchdog(entry);
    await runServerProgram('pg_ctl', ['-D', dataDir, '-l', join(baseDir, 'server.log'), '-w', '-t', '60', 'start']);
    return makeCluster({ port, socketDir, superuser, superuserPassword, binDir, major, entry });
  } catch (error) {
    running.delete(entry);
    stopSync(entry);
    throw error;
  }
}

function makeCluster(init: {
  port: number;
  socketDir: string;
  superuser: string;
  superuserPassword: string;
  binDir: string;
  major: PgMajor;
  entry: RunningCluster;
}): Cluster {
  const { port, socketDir, superuser, binDir, major, entry } = init;
  const passwords = new Map<string, string>([[superuser, init.superuserPassword]]);

  const query = async <R extends pg.QueryResultRow>(sql: string, options: QueryOptions): Promise<R[]> => {
    const client = new pg.Client({ host: socketDir, port, user: options.user ?? superuser, database: options.db });
    await client.connect();
    try {
      const result: unknown = await client.query<R>(sql, options.params ? [...options.params] : undefined);
      // A multi-statement string yields an array of results; return the last one's rows.
      const last = (Array.isArray(result) ? result.at(-1) : result) as pg.QueryResult<R> | undefined;
      return last?.rows ?? [];
    } finally {
      await client.end();
    }
  };

  return {
    port,
    host: HOST,
    socketDir,
    superuser,
    binDir,
    major,
    url(db, user = superuser) {
      const password = passwords.get(user);
      const auth = password === undefined
        ? encodeURIComponent(user)
        : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
      return `postgres://${auth}@${HOST}:${port}/${encodeURIComponent(db)}`;
    },
    async setPassword(role, password) {
      await query(`ALTER ROLE ${quoteIdent(role)} PASSWORD ${quoteLiteral(password)}`, { db: 'template1' });
      passwords.set(role, password);
    },
    async psqlFile(file, options) {
      const vars = Object.entries(options.vars ?? {}).flatMap(([k, v]) => ['-v', `${k}=${v}`]);
      const args = [
        '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...vars,
        '-h', socketDir, '-p', String(port), '-U', options.user ?? superuser, '-d', options.db, '-f', file,
      ];
      try {
        const { stdout } = await execFileAsync(join(binDir, 'psql'), args, {
          env: envWithoutLibpqVariables(),
          maxBuffer: 64 * 1024 * 1024,
        });
        return stdout;
      } catch (error) {
        const e = error as { stderr?: string; message: string };
        throw new Error(`psql -f ${file} (db ${options.db}) failed: ${e.stderr || e.message}`);
      }
    },
    query,
    async createDatabase(name, options = {}) {
      const template = options.template ? ` TEMPLATE ${quoteIdent(options.template)}` : '';
      const owner = options.owner ? ` OWNER ${quoteIdent(options.owner)}` : '';
      await query(`CREATE DATABASE ${quoteIdent(name)}${template}${owner}`, { db: 'template1' });
    },
    async stop() {
      if (!running.delete(entry)) return;
      const [cmd, args] = serverCommand(binDir, 'pg_ctl', pgCtlStopArgs(entry));
      await execFileAsync(cmd, args, { cwd: entry.baseDir }).catch(() => undefined);
      rmSync(entry.baseDir, { recursive: true, force: true });
      killWatchdog(entry);
    },
  };
}
