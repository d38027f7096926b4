/**
 * Proves the fixture's supautils emulation (test/fixture/supautils_emulation.c, preloaded by the
 * harness) against supabase-reference.md §8, on every PostgreSQL major hosted runs (15 and 17):
 * each §8.3 refusal run as `postgres` fails with the hosted error text, each §8.2 allowance
 * succeeds, the §8.4 locks are taken, and the superuser `supabase_admin` bypasses the refusals.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from './helpers/compare.js';
import { TEST_MAJORS, startSupabaseCluster, type SupabaseCluster, type SupabaseDatabase } from './helpers/supabase.js';

const RESERVED_MEMBERSHIPS = [
  'pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program',
  'supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin', 'supabase_read_only_user',
  'supabase_realtime_admin', 'supabase_replication_admin', 'supabase_etl_admin', 'dashboard_user', 'pgbouncer',
  'authenticator',
] as const;

const membershipReserved = (role: string): string =>
  `"${role}" role memberships are reserved, only superusers can grant them`;
const roleReserved = (role: string): string => `"${role}" is a reserved role, only superusers can modify it`;

/** A statement refused to `postgres`, and the hosted error message. */
const RESERVED_ROLE_STATEMENTS: readonly (readonly [sql: string, message: string])[] = [
  // CREATE: exact names (supabase_functions_admin is absent from the fixture) and the prefixes
  ['CREATE ROLE supabase_functions_admin', roleReserved('supabase_functions_admin')],
  ['CREATE ROLE service_role_2', roleReserved('service_role_2')],
  ['CREATE ROLE authenticator_pool LOGIN', roleReserved('authenticator_pool')],
  ['CREATE USER authenticated_users', roleReserved('authenticated_users')],
  ['CREATE ROLE anonymous', roleReserved('anonymous')],
  // ALTER: attributes, password, settings, rename
  ['ALTER ROLE anon LOGIN', roleReserved('anon')],
  ['ALTER ROLE authenticated NOINHERIT', roleReserved('authenticated')],
  ['ALTER ROLE service_role NOBYPASSRLS', roleReserved('service_role')],
  [`ALTER ROLE authenticator PASSWORD 'x'`, roleReserved('authenticator')],
  [`ALTER ROLE supabase_auth_admin VALID UNTIL 'infinity'`, roleReserved('supabase_auth_admin')],
  ['ALTER ROLE supabase_storage_admin NOCREATEROLE', roleReserved('supabase_storage_admin')],
  [`ALTER ROLE anon SET statement_timeout = '1min'`, roleReserved('anon')],
  ['ALTER ROLE authenticated RESET ALL', roleReserved('authenticated')],
  [`ALTER ROLE supabase_read_only_user IN DATABASE postgres SET work_mem = '64MB'`, roleReserved('supabase_read_only_user')],
  ['ALTER ROLE service_role RENAME TO service', roleReserved('service_role')],
  ['ALTER ROLE dashboard_user RENAME TO dashboard', roleReserved('dashboard_user')],
  ['ALTER GROUP pgbouncer ADD USER postgres', roleReserved('pgbouncer')],
  // DROP
  ['DROP ROLE supabase_admin', roleReserved('supabase_admin')],
  ['DROP ROLE supabase_replication_admin', roleReserved('supabase_replication_admin')],
  ['DROP ROLE IF EXISTS supabase_etl_admin', roleReserved('supabase_etl_admin')],
  ['DROP ROLE IF EXISTS anon_old', roleReserved('anon_old')],
  ['DROP USER pgbouncer', roleReserved('pgbouncer')],
];

/** `pg_dump --clean --if-exists` style: drop the policy, then the table, then create it. */
const OLD_FILE = (withDropPolicy: boolean): string => [
  '\\set ON_ERROR_STOP on',
  'BEGIN;',
  ...(withDropPolicy ? ['DROP POLICY IF EXISTS "own notes" ON public.notes;'] : []),
  'DROP TABLE IF EXISTS public.notes;',
  'CREATE TABLE public.notes (id bigint PRIMARY KEY, body text);',
  'COMMIT;',
  '',
].join('\n');

describe.each(TEST_MAJORS)('supautils emulation on PostgreSQL %i', (major) => {
  let supabase: SupabaseCluster;
  let source: SupabaseDatabase;
  let target: SupabaseDatabase;
  let scratch: string;

  beforeAll(async () => {
    supabase = await startSupabaseCluster({ major });
    source = await supabase.createSource('source');
    target = await supabase.createTarget('postgres');
    scratch = mkdtempSync(join(tmpdir(), 'fixture-supautils-'));
  });

  afterAll(async () => {
    await supabase?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Run `use` over TCP as `role` (default postgres) inside a transaction that is rolled back. */
  const inRolledBackTransaction = <T>(db: SupabaseDatabase, use: (client: pg.Client) => Promise<T>, role = 'postgres') =>
    withClient(supabase.urlFor(db.name, role), async (client) => {
      await client.query('BEGIN');
      try {
        return await use(client);
      } finally {
        await client.query('ROLLBACK');
      }
    });

  /** The error `sql` fails with when run as `postgres` (rolled back either way). */
  const refusal = (db: SupabaseDatabase, sql: string): Promise<unknown> =>
    inRolledBackTransaction(db, (client) => client.query(sql));

  it('runs the major it was asked for, with the module preloaded, as a non-superuser postgres', async () => {
    await withClient(target.url, async (client) => {
      const { rows } = await client.query<{ num: string; preload: string; su: string; user: string }>(
        `SELECT current_setting('server_version_num') AS num, current_setting('shared_preload_libraries') AS preload,
                current_setting('is_superuser') AS su, current_user AS user`);
      expect(Math.floor(Number(rows[0]!.num) / 10000)).toBe(major);
      expect(rows[0]!.preload).toMatch(new RegExp(`/pg${major}/supautils_emulation\\.so$`));
      expect(rows[0]).toMatchObject({ su: 'off', user: 'postgres' });
    });
  });

  describe('§8.3.1 DROP POLICY / DROP TRIGGER on a missing table fail, IF EXISTS or not', () => {
    it.each([
      ['DROP POLICY IF EXISTS "own notes" ON public.notes', 'relation "public.notes" does not exist'],
      ['DROP POLICY "own notes" ON public.notes', 'relation "public.notes" does not exist'],
      ['DROP POLICY IF EXISTS p ON notes', 'relation "notes" does not exist'],
      ['DROP TRIGGER IF EXISTS t ON public.profiles', 'relation "public.profiles" does not exist'],
      ['DROP TRIGGER t ON public.profiles', 'relation "public.profiles" does not exist'],
      ['DROP POLICY IF EXISTS p ON auth.no_such_table', 'relation "auth.no_such_table" does not exist'],
      ['DROP TRIGGER IF EXISTS t ON storage.no_such_table', 'relation "storage.no_such_table" does not exist'],
      ['DROP POLICY IF EXISTS p ON private.settings', 'schema "private" does not exist'],
    ])('%s', async (sql, message) => {
      await expect(refusal(target, sql)).rejects.toMatchObject({ message, code: expect.stringMatching(/^(3F000|42P01)$/) });
    });

    it('but a missing policy or trigger on an existing table is skipped with a notice', async () => {
      await inRolledBackTransaction(source, async (client) => {
        await client.query('DROP POLICY IF EXISTS nope ON public.notes');
        await client.query('DROP TRIGGER IF EXISTS nope ON public.notes');
        await client.query('DROP POLICY IF EXISTS nope ON storage.objects');
        await client.query('DROP TRIGGER IF EXISTS nope ON auth.users');
      });
    });

    it('plain PostgreSQL behaviour for supabase_admin (superusers bypass): NOTICE … skipping', async () => {
      await inRolledBackTransaction(target, async (client) => {
        const notices: string[] = [];
        client.on('notice', (n) => notices.push(n.message ?? ''));
        await client.query('DROP POLICY IF EXISTS "own notes" ON public.notes');
        await client.query('DROP TRIGGER IF EXISTS t ON public.notes');
        expect(notices).toEqual([
          'relation "public.notes" does not exist, skipping',
          'relation "public.notes" does not exist, skipping',
        ]);
      }, 'supabase_admin');
    });
  });

  describe('§8.3.2-3 managed tables outside the grant lists stay the owner\'s', () => {
    it.each(['auth.schema_migrations', 'storage.migrations', 'auth.webauthn_credentials', 'storage.buckets_vectors'])(
      'CREATE POLICY on %s: must be owner', async (table) => {
        await expect(refusal(target, `CREATE POLICY p ON ${table} USING (true)`))
          .rejects.toMatchObject({ message: `must be owner of table ${table.split('.')[1]}` });
      });

    it('ALTER TABLE auth.users DISABLE TRIGGER, DDL in auth, ledger writes: refused as on plain PostgreSQL', async () => {
      await expect(refusal(source, 'ALTER TABLE auth.users DISABLE TRIGGER on_auth_user_created'))
        .rejects.toMatchObject({ message: 'must be owner of table users' });
      await expect(refusal(target, 'CREATE TABLE auth.mine (id int)'))
        .rejects.toMatchObject({ message: 'permission denied for schema auth' });
      await expect(refusal(target, `INSERT INTO auth.schema_migrations VALUES ('29990101000000')`))
        .rejects.toMatchObject({ message: 'permission denied for table schema_migrations' });
    });
  });

  describe('§8.3.4 reserved memberships cannot be granted', () => {
    it.each(RESERVED_MEMBERSHIPS)('GRANT %s TO postgres', async (role) => {
      await expect(refusal(target, `GRANT ${role} TO postgres`)).rejects.toMatchObject({
        message: membershipReserved(role), code: '42501' });
    });

    it('nor through CREATE ROLE … IN ROLE, nor to another role', async () => {
      await expect(refusal(target, 'CREATE ROLE app IN ROLE supabase_storage_admin'))
        .rejects.toMatchObject({ message: membershipReserved('supabase_storage_admin') });
      await expect(refusal(target, 'GRANT anon, authenticator TO pgbouncer'))
        .rejects.toMatchObject({ message: membershipReserved('authenticator') });
    });

    it('while the API roles can be granted to a role of the user', async () => {
      await inRolledBackTransaction(target, async (client) => {
        await client.query('CREATE ROLE app_reader NOLOGIN');
        await client.query('GRANT anon, authenticated, service_role TO app_reader');
      });
    });
  });

  describe('§8.3.5 reserved roles cannot be created, altered or dropped', () => {
    it.each(RESERVED_ROLE_STATEMENTS)('%s', async (sql, message) => {
      await expect(refusal(target, sql)).rejects.toMatchObject({ message, code: '42501' });
    });

    it('ALTER ROLE … RENAME TO a reserved name', async () => {
      await inRolledBackTransaction(target, async (client) => {
        await client.query('CREATE ROLE app_role NOLOGIN');
        await expect(client.query('ALTER ROLE app_role RENAME TO anon_2')).rejects.toMatchObject({
          message: roleReserved('anon_2') });
      });
    });

    it('while postgres manages its own roles', async () => {
      await inRolledBackTransaction(target, async (client) => {
        await client.query(`CREATE ROLE app_user LOGIN PASSWORD 'x'`);
        await client.query('ALTER ROLE app_user NOLOGIN');
        await client.query(`ALTER ROLE app_user SET statement_timeout = '5s'`);
        await client.query('ALTER ROLE app_user RENAME TO app_user2');
        await client.query('DROP ROLE app_user2');
      });
    });
  });

  describe('§8.3.6 CREATE EXTENSION of an untrusted extension', () => {
    it('is refused as on plain PostgreSQL', async () => {
      await expect(refusal(target, 'CREATE EXTENSION file_fdw'))
        .rejects.toMatchObject({ message: expect.stringContaining('permission denied to create extension "file_fdw"') });
    });
  });

  describe('§8.2 allowed to postgres', () => {
    it('SET session_replication_role (any value)', async () => {
      await inRolledBackTransaction(target, async (client) => {
        for (const value of ['replica', 'local', 'origin']) {
          await client.query(`SET session_replication_role = ${value}`);
          expect((await client.query('SHOW session_replication_role')).rows[0]).toEqual({ session_replication_role: value });
        }
      });
    });

    it('CREATE, ALTER, COMMENT ON and DROP POLICY on storage.objects and auth.users, also in replica mode', async () => {
      await inRolledBackTransaction(target, async (client) => {
        await client.query('SET LOCAL session_replication_role = replica');
        await client.query(`CREATE POLICY "read avatars" ON storage.objects FOR SELECT USING (bucket_id = 'avatars')`);
        await client.query(`CREATE POLICY self ON auth.users FOR SELECT TO authenticated USING (id = auth.uid())`);
        await client.query(`ALTER POLICY "read avatars" ON storage.objects TO anon, authenticated`);
        await client.query(`ALTER POLICY self ON auth.users RENAME TO myself`);
        await client.query(`COMMENT ON POLICY myself ON auth.users IS 'mine'`);
        await client.query(`DROP POLICY IF EXISTS "read avatars" ON storage.objects`);
        await client.query(`DROP POLICY myself ON auth.users`);
        const { rows } = await client.query(`SELECT current_user AS u, pg_has_role('postgres', 'supabase_auth_admin', 'MEMBER') AS m`);
        expect(rows[0]).toEqual({ u: 'postgres', m: false });
      });
    });

    it('CREATE, CREATE OR REPLACE and DROP TRIGGER on auth.users', async () => {
      await inRolledBackTransaction(target, async (client) => {
        await client.query(`CREATE FUNCTION public.on_signup() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$`);
        await client.query(`CREATE TRIGGER on_signup AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.on_signup()`);
        await client.query(`CREATE OR REPLACE TRIGGER on_signup AFTER INSERT OR UPDATE ON auth.users
                            FOR EACH ROW EXECUTE FUNCTION public.on_signup()`);
        await client.query('DROP TRIGGER on_signup ON auth.users');
        await client.query('DROP TRIGGER IF EXISTS on_signup ON auth.users');
      });
    });

    it('DROP TRIGGER of the user\'s trigger on auth.users in a used project', async () => {
      await inRolledBackTransaction(source, async (client) => {
        await client.query('DROP TRIGGER on_auth_user_created ON auth.users');
      });
    });

    it('CREATE EXTENSION of a trusted extension (citext, pg_trgm, hstore)', async () => {
      const db = await supabase.createTarget('ext');
      await supabase.cluster.query('DROP EXTENSION citext', { db: db.name });
      await inRolledBackTransaction(db, async (client) => {
        await client.query('CREATE EXTENSION citext WITH SCHEMA extensions');
        await client.query('CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA extensions');
        await client.query('CREATE EXTENSION pg_trgm WITH SCHEMA extensions');
        await client.query('CREATE EXTENSION hstore WITH SCHEMA public');
      });
    });
  });

  describe('§8.4 side effect', () => {
    it('CREATE POLICY by postgres, on any table, locks the grant-list tables to the end of the transaction', async () => {
      await inRolledBackTransaction(target, async (client) => {
        await client.query('CREATE TABLE public.t (id int)');
        await client.query('CREATE POLICY p ON public.t USING (true)');
        const { rows } = await client.query<{ rel: string }>(
          `SELECT relation::regclass::text AS rel FROM pg_locks
           WHERE pid = pg_backend_pid() AND mode = 'AccessExclusiveLock' AND relation IS NOT NULL`);
        const locked = rows.map((r) => r.rel);
        expect(locked).toEqual(expect.arrayContaining(['auth.users', 'storage.objects', 'auth.identities', 'storage.buckets']));
        expect(locked).not.toContain('auth.schema_migrations');
      });
    });
  });

  describe('superusers bypass §8.3', () => {
    it('supabase_admin may grant reserved memberships and alter reserved roles', async () => {
      await inRolledBackTransaction(target, async (client) => {
        await client.query('GRANT supabase_storage_admin TO postgres');
        await client.query(`ALTER ROLE anon SET statement_timeout = '1min'`);
        await client.query('CREATE ROLE anon_2');
        await client.query('DROP ROLE anon_2');
        await client.query('DROP POLICY IF EXISTS p ON public.missing');
      }, 'supabase_admin');
    });
  });

  describe('the fixture fails the old file (pg_dump --clean --if-exists)', () => {
    it(`psql -f as postgres into a fresh project: relation "public.notes" does not exist`, async () => {
      const db = await supabase.createTarget('old_file');
      const file = join(scratch, 'old.sql');
      writeFileSync(file, OLD_FILE(true));
      await expect(supabase.cluster.psqlFile(file, { db: db.name, user: 'postgres' }))
        .rejects.toThrow('ERROR:  relation "public.notes" does not exist');
    });

    it('the same file without the DROP POLICY line restores', async () => {
      const db = await supabase.createTarget('old_file_fixed');
      const file = join(scratch, 'fixed.sql');
      writeFileSync(file, OLD_FILE(false));
      await supabase.cluster.psqlFile(file, { db: db.name, user: 'postgres' });
      const rows = await supabase.cluster.query(`SELECT pg_get_userbyid(relowner) AS owner FROM pg_class
                                                  WHERE oid = 'public.notes'::regclass`, { db: db.name });
      expect(rows).toEqual([{ owner: 'postgres' }]);
    });
  });
});
