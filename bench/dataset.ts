/**
 * A Supabase-shaped database of a chosen size for the benchmark, generated server-side (generate_series,
 * INSERT … SELECT) into a copy of the test fixture's SOURCE template (so auth and storage tables have the
 * hosted shape, and the user objects of the fixture — profiles, the on_auth_user_created trigger,
 * policies on storage.objects — are there too):
 *   - `users` auth.users rows, one email identity each, one profile each (bulk, with the service
 *     triggers off, as the on_auth_user_created trigger would have made them);
 *   - two storage.objects rows per user (metadata only, as Supabase stores it);
 *   - public.activity: a wide jsonb table, `rows` rows of about 1 KB each;
 *   - public.attachments: a bytea table, `byteaRows` rows of 64 KB of random bytes each;
 *   - public.events_narrow: narrow rows, `narrowRows` rows of about 256 bytes each (the `--dataset
 *     narrow` preset: 200 000 users, 3 000 000 narrow rows, nothing else in public);
 *   - one value of `bigValueBytes` in the first user's auth.users.raw_user_meta_data (the `--dataset
 *     bigvalue` preset: 200 MB in a PART 1 row, which pg_dump writes as one INSERT line).
 * The defaults (100 000 users, 1 000 000 activity rows, 12 500 attachments) make about 2 GB of public
 * tables on disk.
 */
import type { Cluster } from '../test/helpers/cluster.js';

export interface DatasetSize {
  users: number;
  rows: number;
  byteaRows: number;
  /** Rows of public.events_narrow (about 256 bytes each). */
  narrowRows: number;
  /** Bytes of one jsonb value in auth.users.raw_user_meta_data (0: none). */
  bigValueBytes?: number;
}

/** `--dataset`: the jsonb/bytea-heavy default, or many narrow rows (where per-row costs show). */
export const DATASETS: Record<'default' | 'narrow' | 'bigvalue', DatasetSize> = {
  default: { users: 100_000, rows: 1_000_000, byteaRows: 12_500, narrowRows: 0 },
  narrow: { users: 200_000, rows: 0, byteaRows: 0, narrowRows: 3_000_000 },
  bigvalue: { users: 1_000, rows: 0, byteaRows: 0, narrowRows: 0, bigValueBytes: 200_000_000 },
};

/** One large value in a PART 1 row: the first user's raw_user_meta_data (issue #17). */
function bigValueUpdate(bytes: number): string {
  // 32 characters a repeat: a jsonb string of that many bytes, plus the key.
  return `SET session_replication_role = replica;
    UPDATE auth.users SET raw_user_meta_data = jsonb_build_object('blob', repeat(md5('big') || 'x"y\\z ; -- ''q'' ', ${Math.ceil(bytes / 50)}))
     WHERE id = md5('user-1')::uuid`;
}

export interface DatasetStats {
  /** Bytes on disk (heap + TOAST + indexes) of the user schemas' tables. */
  publicBytes: number;
  /** Bytes on disk of the auth and storage tables. */
  managedBytes: number;
  databaseBytes: number;
  rows: Record<string, number>;
  seconds: number;
}

const BENCH_DOMAIN = 'bench.test';

/** One statement per step, run in order (two of them concurrently, see buildDataset). */
function managedSteps(size: DatasetSize): string[] {
  return [
    `SET session_replication_role = replica;
     INSERT INTO auth.users (
       instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, confirmation_token,
       confirmation_sent_at, recovery_token, email_change_token_new, email_change, last_sign_in_at,
       raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at, phone, is_sso_user, is_anonymous)
     SELECT '00000000-0000-0000-0000-000000000000', md5('user-' || i)::uuid, 'authenticated', 'authenticated',
            'user' || i || '@${BENCH_DOMAIN}', '$2a$10$' || substr(md5(i::text) || md5((-i)::text), 1, 53),
            ts + interval '5 minutes', '', ts, '', '', '', ts + (i % 97) * interval '1 hour',
            '{"provider": "email", "providers": ["email"]}',
            jsonb_build_object('username', 'user' || i, 'full_name', 'User ' || i || ' O''Bench',
                               'avatar_url', 'https://cdn.${BENCH_DOMAIN}/avatars/' || i || '.png',
                               'locale', (ARRAY['en', 'de', 'fr', 'ja'])[1 + i % 4], 'email_verified', true),
            NULL, ts, ts + interval '1 day', NULL, false, false
       FROM generate_series(1, ${size.users}) AS i,
            LATERAL (SELECT timestamptz '2025-01-01 00:00:00+00' + i * interval '37 seconds') AS t(ts)`,
    `SET session_replication_role = replica;
     INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at, id)
     SELECT u.id::text, u.id,
            jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true, 'phone_verified', false),
            'email', u.last_sign_in_at, u.created_at, u.updated_at, md5('identity-' || u.id)::uuid
       FROM auth.users u WHERE u.email LIKE '%@${BENCH_DOMAIN}'`,
    `SET session_replication_role = replica;
     INSERT INTO public.profiles (id, username, full_name, avatar_url, updated_at)
     SELECT u.id, u.raw_user_meta_data ->> 'username', u.raw_user_meta_data ->> 'full_name',
            u.raw_user_meta_data ->> 'avatar_url', u.updated_at
       FROM auth.users u WHERE u.email LIKE '%@${BENCH_DOMAIN}'`,
    `SET session_replication_role = replica;
     INSERT INTO storage.objects (id, bucket_id, name, owner, owner_id, created_at, updated_at, last_accessed_at,
                                  metadata, version, user_metadata)
     SELECT md5('object-' || i || '-' || j)::uuid, 'avatars', 'users/' || i || '/photo-' || j || '.png',
            md5('user-' || i)::uuid, md5('user-' || i)::uuid::text, ts, ts, ts,
            jsonb_build_object('eTag', '"' || md5(i || '/' || j) || '"', 'size', 1000 + (i * j) % 90000,
                               'mimetype', 'image/png', 'cacheControl', 'max-age=3600', 'lastModified', ts,
                               'contentLength', 1000 + (i * j) % 90000, 'httpStatusCode', 200),
            md5('version-' || i || '-' || j)::uuid::text, NULL
       FROM generate_series(1, ${size.users}) AS i, generate_series(1, 2) AS j,
            LATERAL (SELECT timestamptz '2025-01-01 00:00:00+00' + i * interval '41 seconds') AS t(ts)`,
  ];
}

function publicSchema(): string {
  return `SET ROLE postgres;
    CREATE TABLE public.activity (
      id bigint PRIMARY KEY,
      user_id uuid NOT NULL,
      kind text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE public.activity ENABLE ROW LEVEL SECURITY;
    CREATE POLICY "own activity" ON public.activity FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
    CREATE TABLE public.attachments (
      id bigint PRIMARY KEY,
      owner uuid NOT NULL,
      name text NOT NULL,
      content_type text NOT NULL DEFAULT 'application/octet-stream',
      data bytea NOT NULL
    );
    ALTER TABLE public.attachments ENABLE ROW LEVEL SECURITY;
    CREATE TABLE public.events_narrow (
      id bigint PRIMARY KEY,
      user_id uuid NOT NULL,
      at timestamptz NOT NULL,
      note text NOT NULL
    );`;
}

/** Rows of public.events_narrow in [from, to]: about 256 bytes each. */
function narrowInsert(from: number, to: number, users: number): string {
  return `INSERT INTO public.events_narrow (id, user_id, at, note)
    SELECT i, md5('user-' || (1 + i % ${users}))::uuid, timestamptz '2025-01-01 00:00:00+00' + i * interval '1 second',
           'event ' || i || ' ' || md5('n1' || i) || md5('n2' || i) || md5('n3' || i) || md5('n4' || i) || md5('n5' || i) || md5('n6' || i)
      FROM generate_series(${from}, ${to}) AS i`;
}

/** Rows of public.activity in [from, to]: about 1 KB of jsonb each. */
function activityInsert(from: number, to: number, users: number): string {
  return `INSERT INTO public.activity (id, user_id, kind, payload, created_at)
    SELECT i, md5('user-' || (1 + i % ${users}))::uuid, (ARRAY['login', 'purchase', 'view', 'share', 'comment'])[1 + i % 5],
           jsonb_build_object(
             'session', md5('s' || i), 'ip', '10.' || (i % 256) || '.' || (i / 256 % 256) || '.' || (i % 7),
             'agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/' || (100 + i % 30) || '.0 Safari/537.36',
             'path', '/app/items/' || (i % 10007) || '?ref=' || md5('r' || i),
             'amount', round((i % 100000) / 7.0, 2), 'currency', (ARRAY['EUR', 'USD', 'JPY'])[1 + i % 3],
             'tags', jsonb_build_array('t' || (i % 13), 't' || (i % 17), 't' || (i % 19), 'tag with "quotes" & \\\\ back\\\\slash'),
             'geo', jsonb_build_object('lat', (i % 18000) / 100.0 - 90, 'lon', (i % 36000) / 100.0 - 180, 'city', 'Zürich ' || (i % 50)),
             'items', jsonb_build_array(
                jsonb_build_object('sku', 'SKU-' || (i % 9973), 'qty', 1 + i % 5, 'note', md5('a' || i) || md5('b' || i)),
                jsonb_build_object('sku', 'SKU-' || (i % 7919), 'qty', 1 + i % 3, 'note', md5('c' || i) || md5('d' || i))),
             'comment', E'multi-line\\ncomment ' || md5('m' || i) || E'\\n\\ttabbed; -- not a comment',
             'flags', jsonb_build_object('beta', i % 2 = 0, 'vip', i % 11 = 0, 'score', i % 1000),
             'trace', md5('t1' || i) || md5('t2' || i) || md5('t3' || i) || md5('t4' || i)),
           timestamptz '2025-01-01 00:00:00+00' + i * interval '3 seconds'
      FROM generate_series(${from}, ${to}) AS i`;
}

/** Rows of public.attachments in [from, to]: 64 KB of random (incompressible) bytes each. */
function attachmentsInsert(from: number, to: number, users: number): string {
  return `INSERT INTO public.attachments (id, owner, name, content_type, data)
    SELECT i, md5('user-' || (1 + i % ${users}))::uuid, 'upload-' || i || '.bin', 'application/octet-stream',
           (SELECT string_agg(extensions.gen_random_bytes(1024), ''::bytea) FROM generate_series(1, 64) AS k WHERE k > i - i)
      FROM generate_series(${from}, ${to}) AS i`;
}

function batches(total: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let from = 1; from <= total; from += size) out.push([from, Math.min(total, from + size - 1)]);
  return out;
}

/**
 * Fills database `db` (a copy of the SOURCE template) as the cluster's superuser over the socket.
 * `log` gets one line per step.
 */
export async function buildDataset(
  cluster: Cluster,
  db: string,
  size: DatasetSize,
  log: (line: string) => void,
): Promise<DatasetStats> {
  const started = Date.now();
  const step = async (what: string, sql: string): Promise<void> => {
    const t0 = Date.now();
    await cluster.query(sql, { db });
    log(`  ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  };

  await step('public.activity, public.attachments and public.events_narrow tables', publicSchema());
  // Two streams of work for two cores: auth/storage + the jsonb table, and the bytea table.
  const managed = (async () => {
    const [users, identities, profiles, objects] = managedSteps(size);
    await step(`${size.users} auth.users`, users!);
    await step('auth.identities', identities!);
    await step('public.profiles', profiles!);
    await step(`${size.users * 2} storage.objects`, objects!);
    for (const [from, to] of batches(size.rows, 250_000)) {
      await step(`public.activity rows ${from}-${to}`, activityInsert(from, to, size.users));
    }
  })();
  const narrow = (async () => {
    for (const [from, to] of batches(size.narrowRows, 500_000)) {
      await step(`public.events_narrow rows ${from}-${to}`, narrowInsert(from, to, size.users));
    }
  })();
  const bytea = (async () => {
    for (const [from, to] of batches(size.byteaRows, 5_000)) {
      await step(`public.attachments rows ${from}-${to}`, attachmentsInsert(from, to, size.users));
    }
  })();
  await Promise.all([managed, bytea, narrow]);
  if (size.bigValueBytes) await step(`one ${(size.bigValueBytes / 1e6).toFixed(0)} MB value in auth.users.raw_user_meta_data`, bigValueUpdate(size.bigValueBytes));
  // Set hint bits and the visibility map once, so no measured run pays for them.
  await step('VACUUM (FREEZE, ANALYZE)', 'VACUUM (FREEZE, ANALYZE)');
  await step('CHECKPOINT', 'CHECKPOINT');

  const stats = await describeDataset((sql) => cluster.query(sql, { db }));
  return { ...stats, seconds: (Date.now() - started) / 1000 };
}

type Query = (sql: string) => Promise<Record<string, unknown>[]>;

/** Sizes on disk and row counts of a benchmark database. */
export async function describeDataset(query: Query): Promise<DatasetStats> {
  const [sizes] = await query(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)) FILTER (WHERE n.nspname IN ('public', 'private')), 0) AS public_bytes,
            coalesce(sum(pg_total_relation_size(c.oid)) FILTER (WHERE n.nspname IN ('auth', 'storage')), 0) AS managed_bytes,
            pg_database_size(current_database()) AS db_bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'`,
  );
  const counts = await query(
    `SELECT 'auth.users' AS t, count(*) AS n FROM auth.users UNION ALL
     SELECT 'auth.identities', count(*) FROM auth.identities UNION ALL
     SELECT 'storage.objects', count(*) FROM storage.objects UNION ALL
     SELECT 'public.profiles', count(*) FROM public.profiles UNION ALL
     SELECT 'public.activity', count(*) FROM public.activity UNION ALL
     SELECT 'public.attachments', count(*) FROM public.attachments UNION ALL
     SELECT 'public.events_narrow', count(*) FROM public.events_narrow`,
  );
  return {
    publicBytes: Number(sizes!.public_bytes),
    managedBytes: Number(sizes!.managed_bytes),
    databaseBytes: Number(sizes!.db_bytes),
    rows: Object.fromEntries(counts.map((row) => [String(row.t), Number(row.n)])),
    seconds: 0,
  };
}

