/**
 * The gatekeeping of a hosted Supabase project (supautils, supabase-reference.md §8), for the scratch
 * database of `verify: restore`, so that a statement a real project refuses fails the restore check
 * too. Plain PostgreSQL has no supautils; event triggers and one statement trigger, owned by the scratch
 * server's superuser, raise the errors hosted raises:
 *
 * - `DROP POLICY` / `DROP TRIGGER ... ON t` (IF EXISTS or not) when table `t` does not exist;
 * - policies on managed tables outside supautils' grant list; triggers on managed tables where the
 *   hosted `postgres` has no TRIGGER privilege; dropping them likewise;
 * - any other DDL on objects in `auth` and `storage`;
 * - writes to the services' ledgers (auth.schema_migrations, storage.migrations).
 *
 * The restoring role gets the owning service roles, so that what supautils allows (policies on
 * storage.objects, triggers on auth.users) works; the checks here take back everything else that
 * ownership would allow. They apply to every role, a superuser too: the only writer of the scratch
 * database while they are installed is the restore being checked.
 */
import { LEDGER_TABLES, POLICY_AND_TRIGGER_GRANT_TABLES } from '../postgres/supabase.js';

export const GATEKEEPER_SCHEMA = 'scratch_gatekeeper';

const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;
const textArray = (items: readonly string[]): string => `ARRAY[${items.map(literal).join(', ')}]::text[]`;

/** `schema.table` of a relation in auth or storage (or realtime, for the grant lists), else NULL. */
const MANAGED_NAME = String.raw`
CREATE FUNCTION ${GATEKEEPER_SCHEMA}.managed_name(rel oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT n.nspname || '.' || c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = rel AND n.nspname IN ('auth', 'storage', 'realtime')
$$;`;

/** hosted's `postgres` holds TRIGGER on the table (from the source's own ACL, not from ownership). */
const HOSTED_TRIGGER_PRIVILEGE = String.raw`
CREATE FUNCTION ${GATEKEEPER_SCHEMA}.postgres_may_trigger(rel oid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT EXISTS (SELECT 1 FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
                  WHERE c.oid = rel AND a.privilege_type = 'TRIGGER'
                    AND (a.grantee = 0 OR a.grantee = (SELECT oid FROM pg_roles WHERE rolname = 'postgres')))
$$;`;

const DROP_START = String.raw`
CREATE FUNCTION ${GATEKEEPER_SCHEMA}.drop_start() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  target text;
  parts text[];
  found regclass;
BEGIN
  -- psql sends one statement at a time: DROP POLICY|TRIGGER [IF EXISTS] name ON table [CASCADE|RESTRICT];
  target := (regexp_match(current_query(),
    '\mON\s+((?:"(?:[^"]|"")+"|[^\s.;"]+)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[^\s.;"]+))?)\s*(?:CASCADE|RESTRICT)?\s*;?\s*$', 'i'))[1];
  IF target IS NULL THEN
    RETURN;
  END IF;
  BEGIN
    parts := parse_ident(target);
    found := to_regclass(target);
  EXCEPTION WHEN OTHERS THEN
    RETURN;
  END;
  IF found IS NULL THEN
    -- Named as PostgreSQL names a missing relation: the parts unquoted, joined by a dot.
    RAISE EXCEPTION 'relation "%" does not exist', array_to_string(parts, '.') USING ERRCODE = '42P01',
      DETAIL = 'A hosted Supabase project (supautils) refuses DROP POLICY and DROP TRIGGER on a missing table, IF EXISTS or not.';
  END IF;
END
$$;`;

const DDL_END = String.raw`
CREATE FUNCTION ${GATEKEEPER_SCHEMA}.ddl_end() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  cmd record;
  rel oid;
  name text;
BEGIN
  FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    CONTINUE WHEN cmd.in_extension OR cmd.command_tag IN ('CREATE EXTENSION', 'ALTER EXTENSION', 'GRANT', 'REVOKE');
    IF cmd.classid = 'pg_policy'::regclass THEN
      SELECT polrelid INTO rel FROM pg_policy WHERE oid = cmd.objid;
      name := ${GATEKEEPER_SCHEMA}.managed_name(rel);
      IF name IS NOT NULL AND name <> ALL (${textArray(POLICY_AND_TRIGGER_GRANT_TABLES)}) THEN
        RAISE EXCEPTION 'must be owner of table %', split_part(name, '.', 2) USING ERRCODE = '42501';
      END IF;
    ELSIF cmd.classid = 'pg_trigger'::regclass THEN
      SELECT tgrelid INTO rel FROM pg_trigger WHERE oid = cmd.objid;
      name := ${GATEKEEPER_SCHEMA}.managed_name(rel);
      IF name IS NOT NULL AND NOT ${GATEKEEPER_SCHEMA}.postgres_may_trigger(rel) THEN
        RAISE EXCEPTION 'permission denied for table %', split_part(name, '.', 2) USING ERRCODE = '42501';
      END IF;
    ELSIF cmd.schema_name IN ('auth', 'storage') THEN
      RAISE EXCEPTION 'must be owner of % %', lower(cmd.object_type), cmd.object_identity USING ERRCODE = '42501',
        DETAIL = 'A hosted Supabase project does not let postgres change the objects of the auth and storage services.';
    END IF;
  END LOOP;
END
$$;`;

const SQL_DROP = String.raw`
CREATE FUNCTION ${GATEKEEPER_SCHEMA}.sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  obj record;
  name text;
BEGIN
  FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
    IF obj.object_type IN ('policy', 'trigger') THEN
      CONTINUE WHEN obj.address_names[1] NOT IN ('auth', 'storage', 'realtime');
      name := obj.address_names[1] || '.' || obj.address_names[2];
      IF name <> ALL (${textArray(POLICY_AND_TRIGGER_GRANT_TABLES)}) THEN
        RAISE EXCEPTION 'must be owner of table %', obj.address_names[2] USING ERRCODE = '42501';
      END IF;
    ELSIF obj.schema_name IN ('auth', 'storage') THEN
      RAISE EXCEPTION 'must be owner of % %', obj.object_type, obj.object_identity USING ERRCODE = '42501';
    END IF;
  END LOOP;
END
$$;`;

const LEDGER_WRITE = String.raw`
CREATE FUNCTION ${GATEKEEPER_SCHEMA}.ledger_write() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  RAISE EXCEPTION 'permission denied for table %', TG_TABLE_NAME USING ERRCODE = '42501';
END
$$;`;

function ledgerTrigger(table: string): string {
  const [schema, name] = table.split('.') as [string, string];
  return [
    'DO $ledger$',
    'BEGIN',
    `  IF pg_catalog.to_regclass(${literal(table)}) IS NOT NULL THEN`,
    `    CREATE TRIGGER scratch_gatekeeper_ledger BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "${schema}"."${name}"`,
    `      FOR EACH STATEMENT EXECUTE FUNCTION ${GATEKEEPER_SCHEMA}.ledger_write();`,
    `    ALTER TABLE "${schema}"."${name}" ENABLE ALWAYS TRIGGER scratch_gatekeeper_ledger;`,
    '  END IF;',
    'END',
    '$ledger$;',
  ].join('\n');
}

/** The whole gatekeeper, run by the scratch server's superuser once the auth/storage schema is loaded. */
export function gatekeeperSql(): string {
  return [
    `CREATE SCHEMA ${GATEKEEPER_SCHEMA};`,
    `GRANT USAGE ON SCHEMA ${GATEKEEPER_SCHEMA} TO PUBLIC;`,
    MANAGED_NAME,
    HOSTED_TRIGGER_PRIVILEGE,
    DROP_START,
    DDL_END,
    SQL_DROP,
    LEDGER_WRITE,
    // Before the event triggers, which would refuse these triggers on the ledgers.
    ...LEDGER_TABLES.map(ledgerTrigger),
    `CREATE EVENT TRIGGER scratch_gatekeeper_drop_start ON ddl_command_start WHEN TAG IN ('DROP POLICY', 'DROP TRIGGER')
  EXECUTE FUNCTION ${GATEKEEPER_SCHEMA}.drop_start();`,
    `CREATE EVENT TRIGGER scratch_gatekeeper_ddl_end ON ddl_command_end EXECUTE FUNCTION ${GATEKEEPER_SCHEMA}.ddl_end();`,
    `CREATE EVENT TRIGGER scratch_gatekeeper_sql_drop ON sql_drop EXECUTE FUNCTION ${GATEKEEPER_SCHEMA}.sql_drop();`,
    // A restore sets session_replication_role = replica, which switches off ordinary event triggers.
    'ALTER EVENT TRIGGER scratch_gatekeeper_drop_start ENABLE ALWAYS;',
    'ALTER EVENT TRIGGER scratch_gatekeeper_ddl_end ENABLE ALWAYS;',
    'ALTER EVENT TRIGGER scratch_gatekeeper_sql_drop ENABLE ALWAYS;',
    '',
  ].join('\n');
}
