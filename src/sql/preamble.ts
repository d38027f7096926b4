/**
 * The SQL blocks the product itself writes around pg_dump's output (the version check, the role
 * preamble, the neutralised default privileges). The merge writes them; the file policy (policy.ts)
 * accepts a DO block only when it is one of these, byte for byte.
 */

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * Stops the restore before its first change when the server is older than the source: plain SQL from
 * a newer major does not restore into an older one, and it would fail somewhere in the middle.
 */
export function versionGuard(meta: { serverVersion: string; serverMajor: number }): string {
  const source = /^\d+(?:\.\d+)*/.exec(meta.serverVersion)?.[0] ?? String(meta.serverMajor);
  return [
    '-- The target must run the same major version as the source, or a newer one.',
    versionCheckBlock(source, meta.serverMajor),
  ].join('\n');
}

export function versionCheckBlock(source: string, major: number): string {
  return [
    'DO $version_check$',
    'BEGIN',
    `  IF pg_catalog.current_setting('server_version_num')::int < ${major * 10000} THEN`,
    `    RAISE EXCEPTION 'this backup was taken from PostgreSQL ${source}; this server runs PostgreSQL %, an older major version, so nothing was restored',`,
    "      pg_catalog.split_part(pg_catalog.current_setting('server_version'), ' ', 1)",
    `      USING HINT = 'Restore it into a database on PostgreSQL ${major} or newer (new Supabase projects run PostgreSQL 17).';`,
    '  END IF;',
    'END',
    '$version_check$;',
  ].join('\n');
}

export interface PreambleRole {
  name: string;
  login: boolean;
  inherit: boolean;
}

export function roleLine(role: PreambleRole): string {
  return (
    `  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role.name)}) THEN ` +
    `CREATE ROLE ${quoteIdent(role.name)} ${role.login ? 'LOGIN' : 'NOLOGIN'} ${role.inherit ? 'INHERIT' : 'NOINHERIT'}; END IF;`
  );
}

/** Custom roles created when missing, without passwords. */
export function rolesBlock(roles: readonly PreambleRole[]): string {
  return ['DO $roles$', 'BEGIN', ...roles.map(roleLine), 'END', '$roles$;'].join('\n');
}

export function neutraliseBlock(schemas: readonly string[]): string {
  const array = `ARRAY[${schemas.map(quoteLiteral).join(', ')}]`;
  return [
    'DO $neutralise$',
    'DECLARE d record;',
    'BEGIN',
    '  FOR d IN',
    '    SELECT n.nspname AS schema,',
    "           CASE a.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS'",
    "                                WHEN 'T' THEN 'TYPES' WHEN 'n' THEN 'SCHEMAS' END AS kind,",
    "           CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END AS grantee",
    '      FROM pg_catalog.pg_default_acl a',
    '      JOIN pg_catalog.pg_namespace n ON n.oid = a.defaclnamespace',
    '      CROSS JOIN LATERAL pg_catalog.aclexplode(a.defaclacl) acl',
    '      LEFT JOIN pg_catalog.pg_roles r ON r.oid = acl.grantee',
    '     WHERE a.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)',
    `       AND n.nspname = ANY (${array})`,
    '  LOOP',
    "    EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON %s FROM %s',",
    '                              d.schema, d.kind, d.grantee);',
    '  END LOOP;',
    'END',
    '$neutralise$;',
  ].join('\n');
}
