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
