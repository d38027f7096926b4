/**
 * What a restore test compares between SOURCE and TARGET: table contents, privileges, policies,
 * triggers. Every function takes a postgres:// URL (normally the `postgres` role's, which reads all
 * data through BYPASSRLS and pg_read_all_data).
 */
import pg from 'pg';
import { quoteIdent } from './cluster.js';

/** Back up and restore (supabase-reference.md §0). */
export const DURABLE_TABLES = [
  'auth.users', 'auth.identities', 'auth.instances', 'auth.mfa_factors', 'auth.webauthn_credentials',
  'auth.sso_providers', 'auth.sso_domains', 'auth.saml_providers', 'auth.oauth_clients', 'auth.oauth_consents',
  'auth.custom_oauth_providers', 'storage.buckets', 'storage.objects',
] as const;

/** Skip, as a whole (refresh_tokens and mfa_amr_claims hang off sessions). */
export const TRANSIENT_TABLES = [
  'auth.sessions', 'auth.refresh_tokens', 'auth.mfa_amr_claims', 'auth.mfa_challenges', 'auth.one_time_tokens',
  'auth.flow_state', 'auth.saml_relay_states', 'auth.oauth_authorizations', 'auth.oauth_client_states',
  'auth.webauthn_challenges', 'storage.s3_multipart_uploads', 'storage.s3_multipart_uploads_parts',
] as const;

/** Skipped by default, backed up on request. */
export const OPTIONAL_LOG_TABLES = ['auth.audit_log_entries'] as const;

/** Never portable (storage.prefixes exists only on old projects, not in this fixture). */
export const NON_PORTABLE_TABLES = [
  'storage.buckets_analytics', 'storage.iceberg_namespaces', 'storage.iceberg_tables', 'storage.buckets_vectors',
  'storage.vector_indexes',
] as const;

/** Managed migration ledgers: never backed up, never written by a restore. */
export const LEDGER_TABLES = ['auth.schema_migrations', 'storage.migrations'] as const;

export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export interface TableRowsOptions {
  /** Columns to leave out of each row (e.g. a timestamp a restore legitimately changes). */
  excludeColumns?: readonly string[];
}

/**
 * Every row of `schema.table` as the text of a row value `(v1,v2,...)`, columns in physical order
 * (generated columns included), sorted by that text in the C collation: compares content, not
 * only counts. (Sorting by text, not by the columns, because `json` has no ordering operator.)
 */
export async function tableRows(url: string, qualifiedTable: string, options: TableRowsOptions = {}): Promise<string[]> {
  return withClient(url, async (client) => {
    const columns = await client.query<{ name: string }>(
      `SELECT quote_ident(attname) AS name FROM pg_attribute
       WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped AND NOT (attname = ANY ($2))
       ORDER BY attnum`,
      [qualifiedTable, options.excludeColumns ?? []],
    );
    if (columns.rows.length === 0) throw new Error(`${qualifiedTable}: no columns to compare`);
    const rowValue = `ROW(${columns.rows.map((c) => `t.${c.name}`).join(', ')})::text`;
    const { rows } = await client.query<{ row: string }>(
      `SELECT ${rowValue} AS row FROM ${qualifiedName(qualifiedTable)} AS t ORDER BY ${rowValue} COLLATE "C"`,
    );
    return rows.map((r) => r.row);
  });
}

/** Row count of `schema.table`. */
export async function rowCount(url: string, qualifiedTable: string): Promise<number> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualifiedName(qualifiedTable)}`);
    return Number(rows[0]?.n ?? 0);
  });
}

/**
 * relation (`schema.name`) → effective ACL (NULL ACLs replaced by the owner's default), aclitems
 * sorted, joined with `,`. Tables, partitioned tables, views, materialized views, sequences,
 * foreign tables in the given schemas.
 */
export async function relationAcls(url: string, schemas: readonly string[]): Promise<Map<string, string>> {
  return aclMap(url, `
    SELECT format('%I.%I', n.nspname, c.relname) AS object,
           array_to_string(ARRAY(
             SELECT a::text FROM unnest(coalesce(c.relacl,
               acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) AS a
             ORDER BY 1), ',') AS acl
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')`, schemas);
}

/** function/procedure (`schema.name(args)`) → effective ACL, like relationAcls. */
export async function routineAcls(url: string, schemas: readonly string[]): Promise<Map<string, string>> {
  return aclMap(url, `
    SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS object,
           array_to_string(ARRAY(
             SELECT a::text FROM unnest(coalesce(p.proacl, acldefault('f', p.proowner))) AS a ORDER BY 1), ',') AS acl
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY ($1)`, schemas);
}

export interface PolicyInfo {
  schema: string;
  table: string;
  name: string;
  permissive: string;
  roles: string[];
  command: string;
  using: string | null;
  withCheck: string | null;
}

/** Every RLS policy in the database, sorted by schema, table, name. */
export async function listPolicies(url: string): Promise<PolicyInfo[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<PolicyInfo>(`
      SELECT schemaname AS schema, tablename AS table, policyname AS name, permissive,
             roles::text[] AS roles, cmd AS command, qual AS using, with_check AS "withCheck"
      FROM pg_policies ORDER BY 1, 2, 3`);
    return rows;
  });
}

export interface TriggerInfo {
  name: string;
  /** pg_get_triggerdef() */
  definition: string;
  /** pg_trigger.tgenabled: O origin/local, D disabled, R replica, A always */
  enabled: string;
}

/** User-visible (non-internal) triggers on one table, sorted by name. */
export async function listTriggers(url: string, qualifiedTable: string): Promise<TriggerInfo[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<TriggerInfo>(
      `SELECT tgname AS name, pg_get_triggerdef(oid) AS definition, tgenabled::text AS enabled
       FROM pg_trigger WHERE tgrelid = $1::text::regclass AND NOT tgisinternal ORDER BY 1`,
      [qualifiedTable],
    );
    return rows;
  });
}

async function aclMap(url: string, sql: string, schemas: readonly string[]): Promise<Map<string, string>> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ object: string; acl: string }>(`${sql} ORDER BY 1`, [schemas]);
    return new Map(rows.map((r) => [r.object, r.acl]));
  });
}

/** `schema.table` → `"schema"."table"` (splits on the first dot). */
function qualifiedName(qualifiedTable: string): string {
  const dot = qualifiedTable.indexOf('.');
  if (dot < 0) throw new Error(`expected schema.table, got ${qualifiedTable}`);
  return `${quoteIdent(qualifiedTable.slice(0, dot))}.${quoteIdent(qualifiedTable.slice(dot + 1))}`;
}
