/**
 * What a hosted Supabase database looks like, as far as a backup must know it.
 * Facts and reasons: ../shared/supabase-reference.md (§0 classes, §2 roles, §3 schemas).
 */

/** Durable tables: their rows are the project's and go into PART 1 (data only). */
export const DURABLE_AUTH_TABLES = [
  'users',
  'identities',
  'instances',
  'mfa_factors',
  'webauthn_credentials',
  'sso_providers',
  'sso_domains',
  'saml_providers',
  'oauth_clients',
  'oauth_consents',
  'custom_oauth_providers',
] as const;

export const DURABLE_STORAGE_TABLES = ['buckets', 'objects'] as const;

/** Left out unless `include-audit-log` is set. */
export const OPTIONAL_AUTH_LOG = 'audit_log_entries';

/**
 * Schemas that belong to Supabase or to extensions, never to the user. Every other schema
 * (`public` included) is the user's and goes into PART 2 with `schemas: auto`.
 */
export const MANAGED_SCHEMAS = new Set([
  'auth',
  'storage',
  'extensions',
  'graphql',
  'graphql_public',
  'realtime',
  'vault',
  'pgbouncer',
  'supabase_functions',
  'supabase_migrations',
  'cron',
  'net',
  'pgsodium',
  'pgsodium_masks',
  'pgmq',
  'pgtle',
  'dbdev',
  'repack',
  'etl',
  '_realtime',
  '_analytics',
  '_supavisor',
  'supabase_subscription_mgmt',
  'tiger',
  'tiger_data',
  'topology',
  'information_schema',
]);

export function isManagedSchema(name: string): boolean {
  return (
    MANAGED_SCHEMAS.has(name) ||
    name.startsWith('pg_') ||
    name.startsWith('timescaledb_') ||
    name.startsWith('_timescaledb_')
  );
}

const RESERVED_ROLES = new Set([
  'supabase_admin',
  'supabase_auth_admin',
  'supabase_storage_admin',
  'supabase_realtime_admin',
  'supabase_replication_admin',
  'supabase_read_only_user',
  'supabase_superuser',
  'supabase_etl_admin',
  'supabase_functions_admin',
  'authenticator',
  'dashboard_user',
  'pgbouncer',
  'pgtle_admin',
]);

/** Roles every Supabase project has, which the user uses but does not make. */
const PROJECT_ROLES = new Set(['postgres', 'anon', 'authenticated', 'service_role']);

/** A role the user made (not Supabase's, not PostgreSQL's own): the backup recreates it when missing. */
export function isCustomRole(name: string): boolean {
  return !PROJECT_ROLES.has(name) && !isReservedRole(name) && !name.startsWith('pg_');
}

/** Roles a backup must never create, alter or hand objects to (a restore as `postgres` cannot). */
export function isReservedRole(name: string): boolean {
  return (
    RESERVED_ROLES.has(name) ||
    name.startsWith('supabase_') ||
    name.startsWith('cli_login_') ||
    name.startsWith('pgsodium_key')
  );
}

/** The publication Supabase Realtime listens to; `pg_dump -n` never emits its membership. */
export const REALTIME_PUBLICATION = 'supabase_realtime';

/**
 * The managed tables on which hosted supautils lets `postgres` create, alter and drop policies
 * (`policy_grants`) and drop triggers (`drop_trigger_grants`): the same list for both (2026).
 */
export const POLICY_AND_TRIGGER_GRANT_TABLES: readonly string[] = [
  'auth.audit_log_entries', 'auth.flow_state', 'auth.identities', 'auth.instances', 'auth.mfa_amr_claims',
  'auth.mfa_challenges', 'auth.mfa_factors', 'auth.oauth_clients', 'auth.one_time_tokens', 'auth.refresh_tokens',
  'auth.saml_providers', 'auth.saml_relay_states', 'auth.sessions', 'auth.sso_domains', 'auth.sso_providers',
  'auth.users', 'realtime.messages', 'realtime.subscription', 'storage.buckets', 'storage.buckets_analytics',
  'storage.objects', 'storage.prefixes', 'storage.s3_multipart_uploads', 'storage.s3_multipart_uploads_parts',
];

/** The ledgers of Supabase's services: nobody but the service writes them. */
export const LEDGER_TABLES: readonly string[] = ['auth.schema_migrations', 'storage.migrations'];

/**
 * Extensions hosted supautils creates on behalf of `postgres` (`privileged_extensions`) although they
 * are not trusted: `postgres` may `CREATE EXTENSION` them. Trusted extensions need no such help.
 */
export const PRIVILEGED_EXTENSIONS: ReadonlySet<string> = new Set([
  'address_standardizer', 'address_standardizer_data_us', 'dblink', 'hypopg', 'index_advisor', 'pg_buffercache',
  'pg_cron', 'pg_graphql', 'pg_hashids', 'pg_jsonschema', 'pg_net', 'pg_prewarm', 'pg_repack', 'pg_stat_monitor',
  'pg_stat_statements', 'pg_walinspect', 'pgaudit', 'pgjwt', 'pgroonga', 'pgrouting', 'pgrowlocks', 'pgsodium',
  'pgstattuple', 'pgtap', 'plpgsql_check', 'postgis', 'postgis_raster', 'postgis_sfcgal', 'postgis_tiger_geocoder',
  'postgis_topology', 'postgres_fdw', 'rum', 'sslinfo', 'supabase_vault', 'timescaledb', 'vector', 'wrappers',
]);
