/**
 * The database URL: parsed once, its secrets registered for masking, checked for the mistakes users
 * make with Supabase (transaction pooler, IPv6-only direct host), then probed with one short connection.
 * The password never leaves this module except as PGPASSWORD in a child's environment.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import pg from 'pg';

export interface ConnectionInfo {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  sslmode: string | undefined;
}

/**
 * A database URL parsed once, at the edge (action/main.ts, cli/cli.ts): where to connect, and every
 * form of its password, to mask in the log and redact from messages. The stages receive this.
 */
export interface Database {
  conn: ConnectionInfo;
  /** urlSecretForms of the URL it came from. */
  secrets: string[];
}

export interface ServerInfo {
  /** e.g. 150018 */
  versionNum: number;
  major: number;
  /** e.g. "15.18" */
  version: string;
}

export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

/** Resolves a host name to its addresses (injectable so tests can stand in for public DNS). */
export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const defaultResolver: Resolver = (host) => dnsLookup(host, { all: true });

export function parseDatabaseUrl(url: string): ConnectionInfo {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectionError(
      "database-url is not a valid URL. Expected postgresql://USER:PASSWORD@HOST:5432/postgres; " +
        'percent-encode special characters in the password (@ as %40, : as %3A, / as %2F, # as %23, % as %25)',
    );
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new ConnectionError(
      `database-url must start with postgresql:// (it starts with ${parsed.protocol}//)`,
    );
  }
  if (!parsed.hostname) throw new ConnectionError('database-url has no host');
  // An unencoded '/', '?' or '#' in the password ends the URL's authority early, so part of the password
  // would be read as the host or port (and quoted in later messages): refuse, without quoting it.
  const rest = url.slice(url.indexOf('://') + 3);
  const authorityEnd = rest.search(/[/?#]/);
  if (authorityEnd >= 0 && !rest.slice(0, authorityEnd).includes('@') && rest.slice(authorityEnd).includes('@')) {
    throw new ConnectionError(
      "database-url looks like its password holds an unencoded '/', '?' or '#'; percent-encode them " +
        '(/ as %2F, ? as %3F, # as %23; also @ as %40, : as %3A, % as %25)',
    );
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decode(parsed.username) || 'postgres',
    password: decode(parsed.password),
    database: decode(parsed.pathname.replace(/^\//, '')) || 'postgres',
    sslmode: parsed.searchParams.get('sslmode') ?? undefined,
  };
}

/**
 * Parses a database URL into a Database (the errors are parseDatabaseUrl's, naming `input`: the
 * scratch database's URL is verify-database-url).
 */
export function parseDatabase(url: string, input = 'database-url'): Database {
  try {
    const conn = parseDatabaseUrl(url);
    return { conn, secrets: passwordForms(url, conn.password) };
  } catch (error) {
    throw namingInput(error, input);
  }
}

/** A connection error's message about `database-url`, said of another input. */
export function namingInput(error: unknown, input: string): unknown {
  if (input === 'database-url' || !(error instanceof ConnectionError)) return error;
  return new ConnectionError(error.message.replace(/(?<![\w-])database-url\b/g, input));
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ConnectionError(
      'database-url has a malformed %-escape in the user or password; write a literal % as %25',
    );
  }
}

/** Every form in which a secret may show up in text: raw, URL-encoded and URL-decoded. */
export function secretForms(secret: string): string[] {
  if (!secret) return [];
  const forms = new Set([secret, encodeURIComponent(secret)]);
  try {
    forms.add(decodeURIComponent(secret));
  } catch {
    // not decodable: the raw form is enough
  }
  return [...forms].filter((form) => form.length > 0);
}

/** Every secret form in a database URL (the password as written in the URL, encoded and decoded). */
export function urlSecretForms(url: string): string[] {
  let password = '';
  try {
    password = parseDatabaseUrl(url).password;
  } catch {
    // unparsable URL: mask what the regex found
  }
  return passwordForms(url, password);
}

/** The password as written in the URL and as parsed, in all their forms. */
function passwordForms(url: string, password: string): string[] {
  // Up to the LAST '@': a password with an unencoded '@', '/', '#'… (which the URL parser may refuse or
  // cut short) is still masked whole.
  const match = /^[a-z]+:\/\/[^:/@]*:(.*)@/is.exec(url);
  const written = match?.[1] ?? '';
  return [...new Set([...secretForms(written), ...secretForms(password)])];
}

/** Replaces every secret form in a message; used on every error that may quote a URL or a server message. */
export function redact(message: string, secrets: readonly string[]): string {
  let result = message;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 0) result = result.split(secret).join('***');
  }
  return result.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}

const SUPABASE_POOLER = /\.pooler\.supabase\.com$/i;
const SUPABASE_DIRECT = /^db\.([a-z0-9]+)\.supabase\.co$/i;

/** Environment for libpq programs (pg_dump, psql): the connection without anything on argv. */
export function libpqEnv(conn: ConnectionInfo, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    // Inherited PG* settings (a service file, another password) must not change what we connect to.
    if (!key.startsWith('PG')) env[key] = value;
  }
  Object.assign(env, {
    PGHOST: conn.host,
    PGPORT: String(conn.port),
    PGUSER: conn.user,
    PGPASSWORD: conn.password,
    PGDATABASE: conn.database,
    PGCONNECT_TIMEOUT: '15',
    PGAPPNAME: 'supabase-complete-backup',
    PGCLIENTENCODING: 'UTF8',
  });
  if (conn.sslmode) env.PGSSLMODE = conn.sslmode;
  else if (isSupabaseHost(conn.host)) env.PGSSLMODE = 'require';
  return env;
}

function isSupabaseHost(host: string): boolean {
  return /\.supabase\.(co|com)$/i.test(host);
}

/** Configuration for a `pg` client on the same connection. */
export function pgClientConfig(conn: ConnectionInfo, timeoutMs = 15_000): pg.ClientConfig {
  const sslmode = conn.sslmode ?? (isSupabaseHost(conn.host) ? 'require' : 'disable');
  const ssl =
    sslmode === 'disable' || sslmode === 'allow' || sslmode === 'prefer'
      ? false
      : { rejectUnauthorized: sslmode === 'verify-ca' || sslmode === 'verify-full' };
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    ssl,
    connectionTimeoutMillis: timeoutMs,
    application_name: 'supabase-complete-backup',
    // A dead peer (a network cut) is noticed by the kernel instead of waiting on the socket forever.
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_SECONDS * 1000,
  };
}

/** TCP keepalives: first probe after 30 s idle, then every 10 s, the peer declared dead after 6 missed probes. */
const KEEPALIVE_IDLE_SECONDS = 30;

/**
 * The keepalive settings for pg_dump and psql, as a conninfo string for `--dbname`. libpq has no
 * environment variable for keepalives (they are conninfo-only); a conninfo `--dbname` that names
 * nothing else leaves host, port, user, password and database to the PG* environment (libpqEnv), so
 * the connection still travels in the environment only.
 */
export const LIBPQ_KEEPALIVES = `keepalives=1 keepalives_idle=${KEEPALIVE_IDLE_SECONDS} keepalives_interval=10 keepalives_count=6`;

/**
 * What pg_dump sets for its own sessions, set on every session of the action too: a hosted project's
 * role-level `statement_timeout` or `idle_in_transaction_session_timeout` (the held snapshot is idle
 * in its transaction while the dumps run) must not cancel a backup, a check or a restore. A lock wait
 * is bounded (pg_dump's --lock-wait-timeout is 120 s too). idle_session_timeout exists from PostgreSQL 14.
 */
export const SESSION_SETTINGS: readonly [string, string][] = [
  ['statement_timeout', '0'],
  ['idle_in_transaction_session_timeout', '0'],
  ['idle_session_timeout', '0'],
  ['lock_timeout', '120s'],
];

/**
 * Ends a client without waiting on a peer that never answers: after `waitMs` (a cut network, a hung
 * proxy) the socket is dropped. Ending the connection rolls back its transaction on the server.
 */
export async function closeClient(client: pg.Client, waitMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
  });
  await Promise.race([client.end().catch(() => undefined), late]);
  clearTimeout(timer);
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** Applies SESSION_SETTINGS to a connected client (session-wide; call it outside a transaction). */
export async function applySessionSettings(client: pg.Client): Promise<void> {
  const values = SESSION_SETTINGS.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ');
  await client.query(
    `SELECT pg_catalog.set_config(s.name, s.value, false)
       FROM (VALUES ${values}) AS s(name, value)
      WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_settings p WHERE p.name = s.name)`,
    SESSION_SETTINGS.flat(),
  );
}

/**
 * A connected `pg` client with SESSION_SETTINGS applied and a dropped connection turned into a failed
 * query (never an unhandled 'error' event). Connection errors are thrown as they come (callers word them).
 */
export async function connectClient(conn: ConnectionInfo, timeoutMs = 15_000, applicationName?: string): Promise<pg.Client> {
  const client = new pg.Client({ ...pgClientConfig(conn, timeoutMs), ...(applicationName ? { application_name: applicationName } : {}) });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await applySessionSettings(client);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

/** Refuses URLs that can never give a consistent backup, before any network traffic. */
export function checkConnectionTarget(conn: ConnectionInfo): void {
  if (SUPABASE_POOLER.test(conn.host) && conn.port === 6543) {
    throw new ConnectionError(
      `port 6543 on ${conn.host} is Supabase's transaction pooler, which drops the session state and ` +
        'the snapshot pg_dump needs. Use the session pooler instead: the same URL with port 5432 ' +
        `(postgresql://${conn.user}:[PASSWORD]@${conn.host}:5432/${conn.database})`,
    );
  }
}

/** Fails fast with an actionable message when the host cannot be reached from a GitHub runner. */
export async function checkHostResolves(conn: ConnectionInfo, resolve: Resolver = defaultResolver): Promise<void> {
  if (/^[\d.]+$/.test(conn.host) || conn.host.includes(':') || conn.host.startsWith('/')) return;
  let addresses: { address: string; family: number }[];
  try {
    addresses = await resolve(conn.host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_AGAIN') {
      throw new ConnectionError(
        `unknown host '${conn.host}': check the host in database-url ` +
          "(Supabase Dashboard > Connect > Session pooler gives the right one)",
      );
    }
    throw error;
  }
  const direct = SUPABASE_DIRECT.exec(conn.host);
  if (direct && addresses.length > 0 && addresses.every((address) => address.family === 6)) {
    throw new ConnectionError(
      `${conn.host} resolves only to IPv6 addresses, and GitHub-hosted runners have no IPv6 ` +
        '("Network is unreachable"). Use the session pooler URL from Supabase Dashboard > Connect > ' +
        `Session pooler: postgresql://postgres.${direct[1]}:[PASSWORD]@aws-0-<region>.pooler.supabase.com:5432/postgres`,
    );
  }
}

/** One short connection: the server version, and a check that this is a Supabase database. */
export async function probeServer(conn: ConnectionInfo): Promise<ServerInfo> {
  let client: pg.Client | undefined;
  try {
    client = await connectClient(conn, 10_000);
    const { rows } = await client.query<{ num: string; version: string; has_auth: boolean }>(
      `select current_setting('server_version_num') as num,
              current_setting('server_version') as version,
              to_regnamespace('auth') is not null as has_auth`,
    );
    const row = rows[0]!;
    if (!row.has_auth) {
      throw new ConnectionError(
        `database '${conn.database}' on ${conn.host} has no 'auth' schema, so it is not a Supabase ` +
          'database. Point database-url at your Supabase project (Dashboard > Connect > Session pooler)',
      );
    }
    const versionNum = Number(row.num);
    return { versionNum, major: Math.floor(versionNum / 10000), version: row.version.split(' ')[0]! };
  } catch (error) {
    throw explainConnectionError(error, conn);
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/** Re-words a connection failure as what the user should do; never quotes the password. */
export function explainConnectionError(error: unknown, conn: ConnectionInfo): Error {
  if (error instanceof ConnectionError) return error;
  const err = error as NodeJS.ErrnoException & { code?: string };
  const where = `${conn.host}:${conn.port}`;
  const message = String(err?.message ?? error);
  const secrets = secretForms(conn.password);
  let text: string;
  switch (err?.code) {
    case '28P01':
    case '28000':
      text =
        `password authentication failed for user '${conn.user}' on ${where}: the password in ` +
        'database-url is wrong. Reset it in Supabase Dashboard > Project Settings > Database and update the secret';
      break;
    case '3D000':
      text = `database '${conn.database}' does not exist on ${where}: Supabase's database is named 'postgres'`;
      break;
    case 'ECONNREFUSED':
      text = `connection refused by ${where}: nothing accepts connections there. Check the host and port in database-url`;
      break;
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      text =
        `${where} is unreachable ("Network is unreachable"). If this is the direct host db.<ref>.supabase.co, ` +
        'it is IPv6-only and GitHub runners have no IPv6: use the session pooler URL (port 5432) instead';
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      text = `unknown host '${conn.host}': check the host in database-url`;
      break;
    default:
      if (/Tenant or user not found/i.test(message)) {
        text =
          `the Supabase pooler does not know user '${conn.user}' ("Tenant or user not found"). ` +
          'On the pooler the user is postgres.<project-ref>: copy the session pooler URL from Dashboard > Connect';
      } else if (/timeout|timed out/i.test(message)) {
        text = `no answer from ${where} within 10 s: check the host, the port and any firewall`;
      } else {
        text = `could not connect to ${where}: ${message}`;
      }
  }
  return new ConnectionError(redact(text, secrets));
}
