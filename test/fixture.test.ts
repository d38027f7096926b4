/**
 * Proves the Supabase fixture (test/fixture/*.sql, test/helpers/supabase.ts) is faithful to
 * supabase-reference.md: roles, privileges, the supautils emulation as seen by `postgres`,
 * ledgers, TARGET emptiness, SOURCE content, generated columns, storage helpers and RLS.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DURABLE_TABLES, LEDGER_TABLES, NON_PORTABLE_TABLES, OPTIONAL_LOG_TABLES, TRANSIENT_TABLES,
  listPolicies, listTriggers, relationAcls, rowCount, tableRows, withClient,
} from './helpers/compare.js';
import {
  POSTGRES_PASSWORD, SOURCE_TEMPLATE, TARGET_TEMPLATE, TEST_MAJORS, USER_IDS, startSupabaseCluster,
  type SupabaseCluster, type SupabaseDatabase,
} from './helpers/supabase.js';

/** Run `use` as `postgres` (over TCP, with the hostile password) inside a transaction rolled back. */
async function inRolledBackTransaction<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(url, async (client) => {
    await client.query('BEGIN');
    try {
      return await use(client);
    } finally {
      await client.query('ROLLBACK');
    }
  });
}

async function scalar<T>(client: pg.Client, sql: string, params: unknown[] = []): Promise<T> {
  const { rows } = await client.query<{ value: T }>(sql, params);
  return rows[0]!.value;
}

const isPostgresMemberOf = (client: pg.Client, role: string): Promise<boolean> =>
  scalar<boolean>(client, `SELECT pg_has_role('postgres', $1, 'MEMBER') AS value`, [role]);

async function managedTables(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      `SELECT format('%s.%s', schemaname, tablename) AS name FROM pg_tables
       WHERE schemaname IN ('auth', 'storage') ORDER BY 1`);
    return rows.map((r) => r.name);
  });
}

describe.each(TEST_MAJORS)('Supabase fixture on PostgreSQL %i', (major) => {
  let supabase: SupabaseCluster;
  let source: SupabaseDatabase;
  let target: SupabaseDatabase;

  beforeAll(async () => {
    supabase = await startSupabaseCluster({ major });
    source = await supabase.createSource('source');
    target = await supabase.createTarget('target');
  });

  afterAll(async () => {
    await supabase?.stop();
  });

  describe('roles (cluster-wide)', () => {
    it('have the hosted attributes', async () => {
      const rows = await supabase.cluster.query<{
        rolname: string; rolsuper: boolean; rolinherit: boolean; rolcreaterole: boolean; rolcreatedb: boolean;
        rolcanlogin: boolean; rolreplication: boolean; rolbypassrls: boolean;
      }>(`SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls
          FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%'`, { db: TARGET_TEMPLATE });
      const role = (name: string) => rows.find((r) => r.rolname === name);
      expect(role('postgres')).toMatchObject({
        rolsuper: false, rolinherit: true, rolcreaterole: true, rolcreatedb: true, rolcanlogin: true,
        rolreplication: true, rolbypassrls: true,
      });
      expect(role('supabase_admin')).toMatchObject({ rolsuper: true, rolcanlogin: true, rolbypassrls: true });
      expect(role('anon')).toMatchObject({ rolcanlogin: false, rolinherit: true, rolbypassrls: false });
      expect(role('authenticated')).toMatchObject({ rolcanlogin: false, rolinherit: true });
      expect(role('service_role')).toMatchObject({ rolcanlogin: false, rolbypassrls: true });
      expect(role('authenticator')).toMatchObject({ rolcanlogin: true, rolinherit: false });
      expect(role('supabase_auth_admin')).toMatchObject({ rolcanlogin: true, rolinherit: false, rolcreaterole: false });
      expect(role('supabase_storage_admin')).toMatchObject({ rolcanlogin: true, rolinherit: false, rolcreaterole: true });
      expect(role('supabase_realtime_admin')).toMatchObject({ rolinherit: false, rolreplication: true });
      expect(role('supabase_read_only_user')).toMatchObject({ rolcanlogin: true, rolbypassrls: true });
      for (const name of ['dashboard_user', 'pgbouncer', 'supabase_superuser', 'supabase_replication_admin',
        'supabase_etl_admin']) expect(role(name), name).toBeDefined();
    });

    it('give postgres the hosted memberships but not the service owners', async () => {
      await withClient(target.url, async (client) => {
        for (const role of ['anon', 'authenticated', 'service_role', 'pg_read_all_data', 'pg_monitor',
          'pg_signal_backend', 'supabase_superuser', 'authenticator', 'supabase_realtime_admin']) {
          expect(await isPostgresMemberOf(client, role), role).toBe(true);
        }
        expect(await isPostgresMemberOf(client, 'supabase_auth_admin')).toBe(false);
        expect(await isPostgresMemberOf(client, 'supabase_storage_admin')).toBe(false);
      });
    });

    it('carry the per-role settings', async () => {
      const rows = await supabase.cluster.query<{ role: string; settings: string[] }>(
        `SELECT r.rolname AS role, s.setconfig AS settings FROM pg_db_role_setting s
         JOIN pg_roles r ON r.oid = s.setrole WHERE s.setdatabase = 0`, { db: TARGET_TEMPLATE });
      const settings = Object.fromEntries(rows.map((r) => [r.role, r.settings]));
      expect(settings.anon).toEqual(['statement_timeout=3s']);
      expect(settings.authenticated).toEqual(['statement_timeout=8s']);
      expect(settings.postgres).toEqual(['search_path="$user", public, extensions']);
      expect(settings.supabase_auth_admin).toContain('search_path=auth');
    });

    it('let postgres log in over TCP with the URL-encoded hostile password, as a non-superuser', async () => {
      expect(source.url).not.toContain(POSTGRES_PASSWORD);
      await withClient(source.url, async (client) => {
        expect(await scalar(client, 'SELECT current_user AS value')).toBe('postgres');
        expect(await scalar(client, `SELECT current_setting('is_superuser') AS value`)).toBe('off');
      });
    });
  });

  describe('what postgres may and may not do (supautils emulation, faithful profile)', () => {
    it('may SET session_replication_role = replica', async () => {
      await withClient(target.url, async (client) => {
        await client.query('SET session_replication_role = replica');
        const { rows } = await client.query<{ session_replication_role: string }>('SHOW session_replication_role');
        expect(rows[0]?.session_replication_role).toBe('replica');
      });
    });

    it('may CREATE, ALTER and DROP POLICY on the listed auth/storage tables, even in replica mode', async () => {
      await inRolledBackTransaction(target.url, async (client) => {
        await client.query('SET LOCAL session_replication_role = replica');
        await client.query(`CREATE POLICY "read avatars" ON storage.objects FOR SELECT USING (bucket_id = 'avatars')`);
        await client.query(`CREATE POLICY "self" ON auth.users FOR SELECT TO authenticated USING (id = auth.uid())`);
        expect(await isPostgresMemberOf(client, 'supabase_storage_admin')).toBe(false);
        expect(await isPostgresMemberOf(client, 'supabase_auth_admin')).toBe(false);
        await client.query(`ALTER POLICY "read avatars" ON storage.objects RENAME TO "read avatars v2"`);
        await client.query(`ALTER POLICY "read avatars v2" ON storage.objects TO anon, authenticated`);
        await client.query(`DROP POLICY "read avatars v2" ON storage.objects`);
        expect(await scalar<string>(client, `SELECT count(*)::int AS value FROM pg_policies`)).toBe(1);
        expect(await isPostgresMemberOf(client, 'supabase_storage_admin')).toBe(false);
      });
    });

    it('keeps a committed policy and no leftover membership', async () => {
      const db = await supabase.createTarget('policy_commit');
      await withClient(db.url, async (client) => {
        await client.query(`CREATE POLICY "bucket read" ON storage.buckets FOR SELECT USING (true)`);
        expect(await isPostgresMemberOf(client, 'supabase_storage_admin')).toBe(false);
      });
      expect((await listPolicies(db.url)).map((p) => `${p.schema}.${p.table}:${p.name}`))
        .toEqual(['storage.buckets:bucket read']);
    });

    it('may not create policies on managed tables outside the list', async () => {
      for (const table of ['auth.webauthn_credentials', 'auth.schema_migrations', 'storage.buckets_vectors']) {
        const name = table.split('.')[1]!;
        await expect(withClient(target.url, (c) => c.query(`CREATE POLICY p ON ${table} USING (true)`)), table)
          .rejects.toThrow(`must be owner of table ${name}`);
      }
      await withClient(target.url, async (client) => {
        expect(await isPostgresMemberOf(client, 'supabase_auth_admin')).toBe(false);
      });
    });

    it('may not alter or drop a policy on a managed table outside the list', async () => {
      const db = await supabase.createTarget('policy_foreign');
      await supabase.cluster.query(`CREATE POLICY admin_only ON auth.webauthn_credentials USING (false)`, { db: db.name });
      await expect(withClient(db.url, (c) => c.query(`DROP POLICY admin_only ON auth.webauthn_credentials`)))
        .rejects.toThrow('must be owner of relation webauthn_credentials');
      await expect(withClient(db.url, (c) => c.query(`ALTER POLICY admin_only ON auth.webauthn_credentials RENAME TO x`)))
        .rejects.toThrow('must be owner of table webauthn_credentials');
      await expect(withClient(db.url, (c) => c.query(`ALTER POLICY admin_only ON auth.webauthn_credentials USING (true)`)))
        .rejects.toThrow('must be owner of table webauthn_credentials');
      expect((await listPolicies(db.url)).map((p) => p.name)).toEqual(['admin_only']);
    });

    it('may read but not write the migration ledgers', async () => {
      await withClient(target.url, async (client) => {
        expect(await scalar(client, 'SELECT count(*)::int AS value FROM auth.schema_migrations')).toBe(77);
        await expect(client.query(`INSERT INTO auth.schema_migrations VALUES ('29990101000000')`))
          .rejects.toThrow('permission denied for table schema_migrations');
        await expect(client.query(`INSERT INTO storage.migrations (id, name, hash) VALUES (99, 'x', 'y')`))
          .rejects.toThrow('permission denied for table migrations');
        await expect(client.query(`DELETE FROM storage.migrations`)).rejects.toThrow('permission denied');
      });
    });

    it('may drop but not disable triggers on auth.users, nor alter managed tables', async () => {
      await inRolledBackTransaction(source.url, async (client) => {
        await client.query('DROP TRIGGER on_auth_user_created ON auth.users');
      });
      await withClient(source.url, async (client) => {
        await expect(client.query('ALTER TABLE auth.users DISABLE TRIGGER on_auth_user_created'))
          .rejects.toThrow('must be owner of table users');
        await expect(client.query('ALTER TABLE storage.objects DISABLE ROW LEVEL SECURITY'))
          .rejects.toThrow('must be owner of table objects');
        await expect(client.query('CREATE TABLE auth.mine (id int)')).rejects.toThrow('permission denied for schema auth');
        await expect(client.query('CREATE TABLE storage.mine (id int)')).rejects.toThrow('permission denied for schema storage');
      });
    });

    it('may create (or replace) a trigger on auth.users', async () => {
      await inRolledBackTransaction(source.url, async (client) => {
        await client.query(`CREATE OR REPLACE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
                            FOR EACH ROW EXECUTE FUNCTION public.handle_new_user()`);
      });
    });

    it('may not DELETE FROM storage.objects unless storage.allow_delete_query is set', async () => {
      await inRolledBackTransaction(source.url, async (client) => {
        await expect(client.query('DELETE FROM storage.objects'))
          .rejects.toThrow('Direct deletion from storage tables is not allowed. Use the Storage API instead.');
      });
      await inRolledBackTransaction(source.url, async (client) => {
        await client.query(`SET LOCAL storage.allow_delete_query = 'true'`);
        expect((await client.query('DELETE FROM storage.objects')).rowCount).toBe(3);
      });
    });
  });

  describe('managed schema shape', () => {
    it('has the managed ledgers filled (77 / 64) in both templates and their copies', async () => {
      for (const db of [SOURCE_TEMPLATE, TARGET_TEMPLATE, source.name, target.name]) {
        const [counts] = await supabase.cluster.query<{ auth: number; storage: number; newest: string; last: string }>(
          `SELECT (SELECT count(*)::int FROM auth.schema_migrations) AS auth,
                  (SELECT count(*)::int FROM storage.migrations) AS storage,
                  (SELECT max(version) FROM auth.schema_migrations) AS newest,
                  (SELECT name FROM storage.migrations WHERE id = 63) AS last`, { db });
        expect(counts, db).toEqual({ auth: 77, storage: 64, newest: '20260625000000', last: 'fix-search-name-relative-to-prefix' });
      }
      expect(await tableRows(source.url, 'storage.migrations')).toEqual(await tableRows(target.url, 'storage.migrations'));
      expect(await tableRows(source.url, 'auth.schema_migrations'))
        .toEqual(await tableRows(target.url, 'auth.schema_migrations'));
    });

    it('has every auth/storage table owned by its service, with RLS enabled', async () => {
      const rows = await supabase.cluster.query<{ name: string; owner: string; rls: boolean }>(
        `SELECT format('%s.%s', schemaname, tablename) AS name, tableowner AS owner, rowsecurity AS rls
         FROM pg_tables WHERE schemaname IN ('auth', 'storage')`, { db: target.name });
      expect(rows).toHaveLength(23 + 10);
      for (const row of rows) {
        expect(row.owner, row.name).toBe(row.name.startsWith('auth.') ? 'supabase_auth_admin' : 'supabase_storage_admin');
        expect(row.rls, row.name).toBe(true);
      }
      const classified = [...DURABLE_TABLES, ...TRANSIENT_TABLES, ...OPTIONAL_LOG_TABLES, ...NON_PORTABLE_TABLES,
        ...LEDGER_TABLES].sort();
      expect(rows.map((r) => r.name).sort()).toEqual(classified);
    });

    it('keeps the physical column order, with the dropped column 13 gap on storage.objects', async () => {
      const rows = await supabase.cluster.query<{ attname: string; attnum: number; attisdropped: boolean }>(
        `SELECT attname, attnum, attisdropped FROM pg_attribute
         WHERE attrelid = 'storage.objects'::regclass AND attnum > 0 ORDER BY attnum`, { db: target.name });
      expect(rows.filter((r) => !r.attisdropped).map((r) => r.attname)).toEqual([
        'id', 'bucket_id', 'name', 'owner', 'created_at', 'updated_at', 'last_accessed_at', 'metadata', 'path_tokens',
        'version', 'owner_id', 'user_metadata', 'archived_at', 'is_delete_marker', 'is_versioned']);
      expect(rows.find((r) => r.attnum === 13)?.attisdropped).toBe(true);
      const users = await supabase.cluster.query<{ attname: string }>(
        `SELECT attname FROM pg_attribute WHERE attrelid = 'auth.users'::regclass AND attnum > 0 ORDER BY attnum`,
        { db: target.name });
      expect(users).toHaveLength(35);
      expect(users[26]?.attname).toBe('confirmed_at');
    });

    it('grants what the reference says on auth, storage and public', async () => {
      await withClient(target.url, async (client) => {
        const check = (sql: string) => scalar<boolean>(client, `SELECT ${sql} AS value`);
        expect(await check(`has_schema_privilege('postgres', 'auth', 'CREATE')`)).toBe(false);
        expect(await check(`has_schema_privilege('postgres', 'storage', 'CREATE')`)).toBe(false);
        expect(await check(`has_schema_privilege('postgres', 'public', 'CREATE')`)).toBe(true);
        expect(await check(`has_table_privilege('postgres', 'auth.users', 'INSERT, UPDATE, DELETE, TRIGGER')`)).toBe(true);
        expect(await check(`has_table_privilege('anon', 'auth.users', 'SELECT')`)).toBe(false);
        expect(await check(`has_table_privilege('service_role', 'auth.users', 'SELECT')`)).toBe(false);
        expect(await check(`has_table_privilege('anon', 'storage.objects', 'SELECT, INSERT')`)).toBe(true);
        expect(await check(`has_table_privilege('anon', 'storage.s3_multipart_uploads', 'INSERT')`)).toBe(false);
        expect(await check(`has_sequence_privilege('postgres', 'auth.refresh_tokens_id_seq', 'USAGE, SELECT, UPDATE')`))
          .toBe(true);
        expect(await check(`has_function_privilege('anon', 'auth.uid()', 'EXECUTE')`)).toBe(true);
        expect(await check(`has_database_privilege('supabase_auth_admin', current_database(), 'CREATE')`)).toBe(true);
        expect(await scalar(client, `SELECT pg_get_userbyid(datdba) AS value FROM pg_database
                                     WHERE datname = current_database()`)).toBe('postgres');
      });
      const acls = await relationAcls(target.url, ['auth', 'storage']);
      // PostgreSQL 17 adds MAINTAIN (`m`) to ALL.
      const [m, mStar] = major >= 17 ? ['m', 'm*'] : ['', ''];
      expect(acls.get('auth.schema_migrations')).toBe(`supabase_auth_admin=arwdDxt${m}/supabase_auth_admin`);
      expect(acls.get('storage.migrations')).toBe(`supabase_storage_admin=arwdDxt${m}/supabase_storage_admin`);
      expect(acls.get('auth.users')).toContain(`postgres=ar*wdDxt${m}/supabase_auth_admin`);
      expect(acls.get('storage.objects')).toContain(`postgres=a*r*w*d*D*x*t*${mStar}/supabase_storage_admin`);
    });

    it('has default privileges in public for postgres and for supabase_admin', async () => {
      const rows = await supabase.cluster.query<{ role: string; type: string; acl: string }>(
        `SELECT pg_get_userbyid(defaclrole) AS role, defaclobjtype::text AS type, defaclacl::text AS acl
         FROM pg_default_acl WHERE defaclnamespace = 'public'::regnamespace ORDER BY 1, 2`, { db: target.name });
      expect(rows.map((r) => `${r.role}:${r.type}`)).toEqual([
        'postgres:S', 'postgres:f', 'postgres:r', 'supabase_admin:S', 'supabase_admin:f', 'supabase_admin:r']);
      for (const row of rows) expect(row.acl).toContain('anon=');
    });

    it('has the realtime publication (owner postgres), the emulation preloaded and no event triggers', async () => {
      const [publication] = await supabase.cluster.query<{ owner: string; ins: boolean; trunc: boolean }>(
        `SELECT pg_get_userbyid(pubowner) AS owner, pubinsert AS ins, pubtruncate AS trunc
         FROM pg_publication WHERE pubname = 'supabase_realtime'`, { db: target.name });
      expect(publication).toEqual({ owner: 'postgres', ins: true, trunc: true });
      const triggers = await supabase.cluster.query<{ evtname: string; owner: string; evtenabled: string }>(
        `SELECT evtname, pg_get_userbyid(evtowner) AS owner, evtenabled::text FROM pg_event_trigger ORDER BY 1`,
        { db: target.name });
      expect(triggers).toEqual([]);
      const [preload] = await supabase.cluster.query<{ value: string }>(
        `SELECT current_setting('shared_preload_libraries') AS value`, { db: target.name });
      expect(preload?.value).toMatch(/\/supautils_emulation\.so$/);
    });

    it('has the storage policy helpers with the exact behaviour', async () => {
      const [r] = await supabase.cluster.query(
        `SELECT storage.foldername('a/b/c.png') AS folders, storage.foldername('c.png') AS none,
                storage.filename('a/b/c.png') AS file, storage.extension('a/b.tar.gz') AS ext,
                storage.extension('a/README') AS no_dot`, { db: target.name });
      expect(r).toEqual({ folders: ['a', 'b'], none: [], file: 'c.png', ext: 'gz', no_dot: 'README' });
    });

    it('answers auth.uid/role/email/jwt from the JWT claims settings', async () => {
      await inRolledBackTransaction(target.url, async (client) => {
        expect(await scalar(client, 'SELECT auth.uid() AS value')).toBeNull();
        await client.query(`SELECT set_config('request.jwt.claims', $1, true)`,
          [JSON.stringify({ sub: USER_IDS.confirmedEmail, role: 'authenticated', email: 'alice@example.test' })]);
        const [row] = (await client.query(`SELECT auth.uid() AS uid, auth.role() AS role, auth.email() AS email,
                                                  auth.jwt() ->> 'sub' AS sub`)).rows;
        expect(row).toEqual({ uid: USER_IDS.confirmedEmail, role: 'authenticated', email: 'alice@example.test',
          sub: USER_IDS.confirmedEmail });
      });
    });
  });

  describe('TARGET (fresh project)', () => {
    it('has no rows in any auth/storage data table', async () => {
      for (const table of await managedTables(target.url)) {
        if ((LEDGER_TABLES as readonly string[]).includes(table)) continue;
        expect(await rowCount(target.url, table), table).toBe(0);
      }
    });

    it('has no user objects: no public tables, policies, auth.users triggers, user schemas, published tables', async () => {
      expect(await listPolicies(target.url)).toEqual([]);
      expect(await listTriggers(target.url, 'auth.users')).toEqual([]);
      const [r] = await supabase.cluster.query(
        `SELECT (SELECT count(*)::int FROM pg_class WHERE relnamespace = 'public'::regnamespace) AS public_relations,
                (SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'public'::regnamespace) AS public_functions,
                (SELECT count(*)::int FROM pg_namespace WHERE nspname = 'private') AS private_schema,
                (SELECT count(*)::int FROM pg_publication_tables) AS published`, { db: target.name });
      expect(r).toEqual({ public_relations: 0, public_functions: 0, private_schema: 0, published: 0 });
    });
  });

  describe('SOURCE (used project)', () => {
    it('has rows in every auth and storage table', async () => {
      const tables = await managedTables(source.url);
      expect(tables).toHaveLength(33);
      for (const table of tables) expect(await rowCount(source.url, table), table).toBeGreaterThan(0);
      expect(await rowCount(source.url, 'auth.users')).toBe(5);
      expect(await rowCount(source.url, 'auth.identities')).toBe(4);
      expect(await rowCount(source.url, 'storage.objects')).toBe(3);
      expect(await rowCount(source.url, 'auth.audit_log_entries')).toBe(3);
    });

    it('has one profile per user, made by on_auth_user_created, which still works', async () => {
      expect(await rowCount(source.url, 'public.profiles')).toBe(5);
      expect((await listTriggers(source.url, 'auth.users')).map((t) => t.name)).toEqual(['on_auth_user_created']);
      await inRolledBackTransaction(source.url, async (client) => {
        await client.query(`INSERT INTO auth.users (id, aud, role, email, raw_user_meta_data)
                            VALUES ('99999999-9999-4999-8999-999999999999', 'authenticated', 'authenticated',
                                    'new@example.test', '{"username": "newbie"}')`);
        expect(await scalar(client, `SELECT username AS value FROM public.profiles
                                     WHERE id = '99999999-9999-4999-8999-999999999999'`)).toBe('newbie');
      });
    });

    it('computes the generated columns', async () => {
      const [r] = await supabase.cluster.query(
        `SELECT (SELECT confirmed_at = phone_confirmed_at FROM auth.users WHERE id = $1) AS phone_confirmed,
                (SELECT confirmed_at = email_confirmed_at FROM auth.users WHERE id = $2) AS email_confirmed,
                (SELECT confirmed_at IS NULL FROM auth.users WHERE id = $3) AS anonymous_unconfirmed,
                (SELECT email FROM auth.identities WHERE user_id = $2 AND provider = 'email') AS identity_email,
                (SELECT path_tokens FROM storage.objects WHERE name LIKE '%/x/y/z.txt') AS path_tokens`,
        { db: source.name, params: [USER_IDS.phoneOnly, USER_IDS.confirmedEmail, USER_IDS.anonymous] });
      expect(r).toEqual({
        phone_confirmed: true, email_confirmed: true, anonymous_unconfirmed: true,
        identity_email: 'alice@example.test', path_tokens: [USER_IDS.confirmedEmail, 'x', 'y', 'z.txt'],
      });
    });

    it('applies RLS: user (a) sees only their own notes', async () => {
      const visibleNoteOwners = (claims: object | null) => inRolledBackTransaction(source.url, async (client) => {
        await client.query('SET LOCAL ROLE authenticated');
        if (claims) await client.query(`SELECT set_config('request.jwt.claims', $1, true)`, [JSON.stringify(claims)]);
        const { rows } = await client.query<{ owner: string }>('SELECT owner FROM public.notes ORDER BY id');
        return rows.map((r) => r.owner);
      });
      expect(await visibleNoteOwners({ sub: USER_IDS.confirmedEmail, role: 'authenticated' }))
        .toEqual([USER_IDS.confirmedEmail, USER_IDS.confirmedEmail]);
      expect(await visibleNoteOwners({ sub: USER_IDS.unconfirmedEmail, role: 'authenticated' }))
        .toEqual([USER_IDS.unconfirmedEmail]);
      expect(await visibleNoteOwners(null)).toEqual([]);
      expect(await rowCount(source.url, 'public.notes')).toBe(3); // postgres: BYPASSRLS
    });

    it('has the user objects of §9 and the hard cases', async () => {
      const policies = await listPolicies(source.url);
      expect(policies.filter((p) => p.schema === 'storage').map((p) => p.name)).toEqual([
        'Anyone can upload an avatar.', 'Avatar images are publicly accessible.', 'Owner can delete',
        'Users upload to own folder']);
      expect(policies.filter((p) => p.schema === 'auth').map((p) => `${p.table}:${p.name}`))
        .toEqual(['users:Users can read themselves']);
      const [r] = await supabase.cluster.query(
        `SELECT (SELECT array_agg(format('%s.%s', schemaname, tablename)) FROM pg_publication_tables) AS published,
                has_table_privilege('anon', 'public.app_settings', 'INSERT') AS anon_insert,
                has_table_privilege('anon', 'public.app_settings', 'SELECT') AS anon_select,
                (SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'public.events'::regclass) AS partitions,
                (SELECT count(*)::int FROM public.events_2026) AS rows_2026,
                (SELECT sum(events)::int FROM public.event_counts) AS counted_events,
                (SELECT last_value::int FROM public.invoice_number_seq) AS invoice_seq,
                obj_description('public.notes'::regclass, 'pg_class') IS NOT NULL AS notes_comment,
                (SELECT format('%s.%s', t.typnamespace::regnamespace, t.typname) FROM pg_attribute a
                  JOIN pg_type t ON t.oid = a.atttypid
                  WHERE a.attrelid = 'public.contacts'::regclass AND a.attname = 'email') AS citext_column,
                (SELECT count(*)::int FROM private.settings) AS private_settings,
                (SELECT count(*)::int FROM public.tricky) AS tricky_rows,
                (SELECT pg_get_userbyid(proowner) || ':' || prosecdef FROM pg_proc
                  WHERE oid = 'public.handle_new_user'::regproc) AS handle_new_user`, { db: source.name });
      expect(r).toEqual({
        published: ['public.notes'], anon_insert: false, anon_select: true, partitions: 2, rows_2026: 2,
        counted_events: 4, invoice_seq: 4242, notes_comment: true, citext_column: 'extensions.citext',
        private_settings: 1, tricky_rows: 18, handle_new_user: 'postgres:true',
      });
      const [fn] = await supabase.cluster.query<{ body: string }>(
        `SELECT prosrc AS body FROM pg_proc WHERE oid = 'public.dump_lookalikes'::regproc`, { db: source.name });
      const lines = fn!.body.split('\n');
      for (const line of ['SET transaction_timeout = 0;', 'CREATE SCHEMA foo;', '\\restrict abc',
        '-- PART 1: AUTH AND STORAGE DATA']) expect(lines, line).toContain(line);
    });

    it('keeps tricky values verbatim', async () => {
      const rows = await supabase.cluster.query<{ id: number; body: string | null; data: Buffer | null }>(
        'SELECT id, body, data FROM public.tricky ORDER BY id', { db: source.name });
      const byId = new Map(rows.map((row) => [row.id, row]));
      expect(byId.get(3)?.body?.split('\n')).toEqual(['before', '\\.', 'after']);
      expect(byId.get(8)?.body).toBeNull();
      expect(byId.get(9)?.body).toBe('');
      expect(byId.get(10)?.body).toBe('-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)');
      expect(byId.get(12)?.body?.split('\n').slice(0, 2)).toEqual(['\\restrict x', 'SET transaction_timeout = 0;']);
      expect(byId.get(14)?.data).toEqual(Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x5c, 0x2e, 0x27, 0x00]));
      const [alice] = await supabase.cluster.query<{ full_name: string }>(
        `SELECT raw_user_meta_data ->> 'full_name' AS full_name FROM auth.users WHERE id = $1`,
        { db: source.name, params: [USER_IDS.confirmedEmail] });
      expect(alice?.full_name.split('\n')).toContain('-- PART 2: PUBLIC SCHEMA (SCHEMA + DATA)');
    });

    it('is reproducible: two copies compare equal table by table, ACL by ACL', async () => {
      const copy = await supabase.createSource('source_copy');
      for (const table of [...DURABLE_TABLES, 'public.profiles', 'public.notes', 'public.tricky']) {
        expect(await tableRows(copy.url, table), table).toEqual(await tableRows(source.url, table));
      }
      expect(await relationAcls(copy.url, ['public', 'private'])).toEqual(await relationAcls(source.url, ['public', 'private']));
      expect(await tableRows(source.url, 'auth.users', { excludeColumns: ['raw_user_meta_data'] })).toHaveLength(5);
    });
  });
});
