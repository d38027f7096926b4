/**
 * A Supabase-shaped PostgreSQL 15 or 17 cluster for tests (supabase-reference.md), built from the
 * project's own fixture SQL in test/fixture:
 *   - roles.sql once per cluster;
 *   - template `tpl_target` = managed.sql (a fresh project, §11);
 *   - template `tpl_source` = managed.sql + user-objects.sql + seed.sql (a used project, §9-§10).
 * createSource()/createTarget() copy a template into a new database owned by `postgres`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, type Cluster, type StartClusterOptions } from './cluster.js';

export { TEST_MAJORS, type PgMajor } from './cluster.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** test/fixture, whether this module runs from test/helpers (vitest) or lib/test/helpers (demo, bench). */
export const FIXTURE_DIR = existsSync(join(HERE, '..', 'fixture'))
  ? join(HERE, '..', 'fixture')
  : join(HERE, '..', '..', '..', 'test', 'fixture');
export const fixtureFile = (name: string): string => join(FIXTURE_DIR, name);

/**
 * Password of `postgres`, deliberately hostile to URL and shell handling: `@ : / % # ? '` `\`,
 * a space, a literal `%25` (breaks double decoding) and a non-ASCII character (é, SASLprep-stable).
 */
export const POSTGRES_PASSWORD = "p@ss:w/rd %25#?'\\é";

/** Passwords of every LOGIN role the tests connect as (all reachable over TCP with scram). */
export const ROLE_PASSWORDS = {
  postgres: POSTGRES_PASSWORD,
  supabase_admin: 'admin p@ss:/#?%é',
  supabase_auth_admin: 'auth p@ss:/#?%é',
  supabase_storage_admin: 'storage p@ss:/#?%é',
  authenticator: 'authenticator p@ss:/#?%é',
  supabase_read_only_user: 'read-only p@ss:/#?%é',
} as const satisfies Readonly<Record<string, string>>;

/** The five seeded auth.users (supabase-reference.md §10, users (a)-(e)). */
export const USER_IDS = {
  /** (a) alice@example.test, email confirmed; owns 2 notes, the MFA factor, sessions, private objects. */
  confirmedEmail: '11111111-1111-4111-8111-111111111111',
  /** (b) bob@example.test, unconfirmed (pending confirmation_token); owns 1 note. */
  unconfirmedEmail: '22222222-2222-4222-8222-222222222222',
  /** (c) phone-only user 15551234567; confirmed_at comes from phone_confirmed_at. */
  phoneOnly: '33333333-3333-4333-8333-333333333333',
  /** (d) anonymous user: no email, no phone, no identity. */
  anonymous: '44444444-4444-4444-8444-444444444444',
  /** (e) SSO user with the same email as (a). */
  sso: '55555555-5555-4555-8555-555555555555',
} as const;

export const SSO_PROVIDER_ID = '66666666-6666-4666-8666-666666666666';
export const SOURCE_TEMPLATE = 'tpl_source';
export const TARGET_TEMPLATE = 'tpl_target';

export interface SupabaseDatabase {
  name: string;
  /** postgres:// URL for role `postgres` over TCP (scram, URL-encoded password). */
  url: string;
}

export interface SupabaseCluster {
  cluster: Cluster;
  /** A new "used" project database (managed + user objects + seed) named `name`. */
  createSource(name: string): Promise<SupabaseDatabase>;
  /** A new "fresh" project database (managed only) named `name`. */
  createTarget(name: string): Promise<SupabaseDatabase>;
  urlFor(db: string, user?: string): string;
  stop(): Promise<void>;
}

/**
 * `settings`: extra postgresql.conf lines (the benchmark tunes memory with them); `major`: 15
 * (default) or 17. The supautils emulation (test/fixture/supautils_emulation.c) is always preloaded.
 */
export async function startSupabaseCluster(
  options: Pick<StartClusterOptions, 'settings' | 'major'> = {},
): Promise<SupabaseCluster> {
  const cluster = await startCluster({
    superuser: 'supabase_admin',
    superuserPassword: ROLE_PASSWORDS.supabase_admin,
    settings: options.settings,
    major: options.major,
    supautils: true,
  });
  try {
    await cluster.psqlFile(fixtureFile('roles.sql'), { db: 'template1' });
    for (const [role, password] of Object.entries(ROLE_PASSWORDS)) await cluster.setPassword(role, password);
    // Free the name `postgres` (initdb's database, owned by supabase_admin) for a test that wants
    // its project database to be called `postgres` like on hosted projects.
    await cluster.query('DROP DATABASE postgres', { db: 'template1' });

    await cluster.createDatabase(TARGET_TEMPLATE, { template: 'template0', owner: 'postgres' });
    await cluster.psqlFile(fixtureFile('managed.sql'), { db: TARGET_TEMPLATE });
    await copyProjectDatabase(cluster, TARGET_TEMPLATE, SOURCE_TEMPLATE);
    await cluster.psqlFile(fixtureFile('user-objects.sql'), { db: SOURCE_TEMPLATE });
    await cluster.psqlFile(fixtureFile('seed.sql'), { db: SOURCE_TEMPLATE });
  } catch (error) {
    await cluster.stop();
    throw error;
  }

  const urlFor = (db: string, user = 'postgres'): string => cluster.url(db, user);
  const create = async (template: string, name: string): Promise<SupabaseDatabase> => {
    await copyProjectDatabase(cluster, template, name);
    return { name, url: urlFor(name) };
  };
  return {
    cluster,
    createSource: (name) => create(SOURCE_TEMPLATE, name),
    createTarget: (name) => create(TARGET_TEMPLATE, name),
    urlFor,
    stop: () => cluster.stop(),
  };
}

/** CREATE DATABASE ... TEMPLATE ... OWNER postgres, then the ON DATABASE grants with the real name. */
async function copyProjectDatabase(cluster: Cluster, template: string, name: string): Promise<void> {
  await cluster.createDatabase(name, { template, owner: 'postgres' });
  await cluster.psqlFile(fixtureFile('database-grants.sql'), { db: name });
}
