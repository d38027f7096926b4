/**
 * What the backup contains, read from the catalog inside the snapshot: the tables of PART 1, the user
 * schemas of PART 2 and the extensions and publication membership they need, the user objects on
 * managed tables of PART 3, and the row count of every table whose data is dumped.
 */
import type pg from 'pg';
import { displayName, printable } from '../log.js';
import { closeClient, connectClient, type ConnectionInfo } from '../postgres/connection.js';
import { parseTablePattern } from '../config.js';
import {
  DURABLE_AUTH_TABLES,
  DURABLE_STORAGE_TABLES,
  OPTIONAL_AUTH_LOG,
  REALTIME_PUBLICATION,
  isCustomRole,
  isManagedSchema,
} from '../postgres/supabase.js';

export interface TableRef {
  schema: string;
  name: string;
  /** As pg_dump writes it in COPY/INSERT lines (quote_ident rules). */
  qualified: string;
}

export interface BackupPlan {
  /** PART 1: durable auth and storage tables this project has, data only. */
  managedTables: TableRef[];
  /** PART 2: user schemas, schema + data. */
  userSchemas: string[];
  /** PART 2 tables whose rows are dumped (for counting and verification). */
  userTables: TableRef[];
  /** PART 2 tables that exclude-tables names: their definition is dumped, their rows are not. */
  excludedUserTables: TableRef[];
  /** `CREATE EXTENSION IF NOT EXISTS` the user schemas need. */
  extensions: { name: string; schema: string }[];
  /** `ALTER PUBLICATION supabase_realtime ADD …` statements. */
  publication: string[];
  /** PART 3: CREATE TRIGGER / CREATE POLICY statements on managed tables. */
  userObjectsOnManaged: { triggers: string[]; policies: string[] };
  /** Roles the user made: recreated (without password) when the target lacks them. */
  customRoles: { name: string; login: boolean; inherit: boolean }[];
  warnings: string[];
}

export interface PlanOptions {
  schemas: 'auto' | string[];
  excludeTables: string[];
  includeAuditLog: boolean;
}

export class PlanError extends Error {
  override name = 'PlanError';
}

export async function readPlan(client: pg.Client, options: PlanOptions, serverMajor: number): Promise<BackupPlan> {
  const warnings: string[] = [];
  const userSchemas = await selectUserSchemas(client, options.schemas);
  const managedTables = await selectManagedTables(client, options);
  const { userTables, excludedUserTables } = await selectUserTables(client, userSchemas, options.excludeTables);
  const extensions = await selectExtensions(client, userSchemas);
  const publication = await selectPublication(client, userSchemas, serverMajor);
  const userObjectsOnManaged = await selectUserObjectsOnManaged(client, userSchemas, warnings);
  const customRoles = await selectCustomRoles(client);
  return { managedTables, userSchemas, userTables, excludedUserTables, extensions, publication, userObjectsOnManaged, customRoles, warnings };
}

async function selectUserSchemas(client: pg.Client, wanted: 'auto' | string[]): Promise<string[]> {
  const { rows } = await client.query<{ nspname: string }>(
    'SELECT nspname FROM pg_catalog.pg_namespace ORDER BY nspname',
  );
  const all = rows.map((row) => row.nspname);
  const user = all.filter((schema) => !isManagedSchema(schema));
  if (wanted === 'auto') return user;
  for (const schema of wanted) {
    if (isManagedSchema(schema)) {
      throw new PlanError(
        `'schemas' lists '${schema}', which Supabase manages; its data is backed up in PART 1 where it is ` +
          `the user's. Use auto or user schemas only (this database has: ${user.join(', ')})`,
      );
    }
    if (!all.includes(schema)) {
      throw new PlanError(`'schemas' lists '${schema}', which does not exist (this database has: ${user.join(', ')})`);
    }
  }
  return wanted;
}

const QUALIFIED = "pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)";

async function selectManagedTables(client: pg.Client, options: PlanOptions): Promise<TableRef[]> {
  const auth: string[] = [...DURABLE_AUTH_TABLES];
  if (options.includeAuditLog) auth.push(OPTIONAL_AUTH_LOG);
  const { rows } = await client.query<{ schema: string; name: string; qualified: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, ${QUALIFIED} AS qualified
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r'
        AND ((n.nspname = 'auth' AND c.relname = ANY($1)) OR (n.nspname = 'storage' AND c.relname = ANY($2)))`,
    [auth, [...DURABLE_STORAGE_TABLES]],
  );
  const order = [...auth.map((t) => `auth.${t}`), ...DURABLE_STORAGE_TABLES.map((t) => `storage.${t}`)];
  const excluded = excludeMatcher(options.excludeTables);
  return rows
    .filter((row) => !excluded(row.schema, row.name))
    .sort((a, b) => order.indexOf(`${a.schema}.${a.name}`) - order.indexOf(`${b.schema}.${b.name}`));
}

/** Tables whose rows pg_dump writes: ordinary tables and partitions, not extension members. */
async function selectUserTables(
  client: pg.Client,
  schemas: string[],
  excludeTables: string[],
): Promise<{ userTables: TableRef[]; excludedUserTables: TableRef[] }> {
  const { rows } = await client.query<{ schema: string; name: string; qualified: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, ${QUALIFIED} AS qualified
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname = ANY($1)
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                           AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
    [schemas],
  );
  const excluded = excludeMatcher(excludeTables);
  return {
    userTables: rows.filter((row) => !excluded(row.schema, row.name)),
    excludedUserTables: rows.filter((row) => excluded(row.schema, row.name)),
  };
}

/**
 * Matches `schema.table` patterns with PostgreSQL's identifier rules (parseTablePattern: unquoted parts
 * fold to lower case, `*` and `?` are wildcards; quoted parts are exact). pg_dump is given the tables
 * this matched, by exact name, so that what it leaves out is exactly what the plan leaves out.
 */
export function excludeMatcher(patterns: string[]): (schema: string, table: string) => boolean {
  const parsed = patterns.map((pattern) => {
    const match = parseTablePattern(pattern);
    if (!match) throw new PlanError(`'exclude-tables' holds '${pattern}', which is not a schema.table name`);
    return match;
  });
  return (schema, table) => parsed.some((pattern) => pattern.schema.test(schema) && pattern.table.test(table));
}

/**
 * `members`: the objects each extension owns; `users`: what every object depends on, with the schema of
 * the dependent object (a column default's schema is its table's). Joined, they tell which schemas use
 * an extension's types or functions. Shared by the catalog and the scratch-database check.
 */
export const EXTENSION_USERS_CTE = `WITH members AS (
       SELECT d.classid, d.objid, d.refobjid AS ext
         FROM pg_catalog.pg_depend d
        WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'
     ), users AS (
       SELECT u.refobjid AS member, u.refclassid AS member_class,
              COALESCE((pg_catalog.pg_identify_object(u.classid, u.objid, 0)).schema,
                       (SELECT n.nspname FROM pg_catalog.pg_attrdef a
                          JOIN pg_catalog.pg_class c ON c.oid = a.adrelid
                          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                         WHERE u.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND a.oid = u.objid)) AS schema
         FROM pg_catalog.pg_depend u
        WHERE u.deptype = 'n'
     )`;

/**
 * Extensions installed in a user schema, or owning a type or function that an object of a user schema
 * depends on (a citext column, a uuid_generate_v4() default). pg_dump -n emits none of them.
 */
async function selectExtensions(client: pg.Client, schemas: string[]): Promise<{ name: string; schema: string }[]> {
  const { rows } = await client.query<{ name: string; schema: string }>(
    `${EXTENSION_USERS_CTE}
     SELECT DISTINCT e.extname AS name, en.nspname AS schema
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace en ON en.oid = e.extnamespace
      WHERE e.extname <> 'plpgsql'
        AND (en.nspname = ANY($1)
             OR EXISTS (SELECT 1 FROM members m JOIN users u ON u.member = m.objid AND u.member_class = m.classid
                         WHERE m.ext = e.oid AND u.schema = ANY($1)))
      ORDER BY 1`,
    [schemas],
  );
  return rows;
}

async function selectPublication(client: pg.Client, schemas: string[], serverMajor: number): Promise<string[]> {
  const filters =
    serverMajor >= 15
      ? `CASE WHEN pr.prattrs IS NOT NULL THEN ' (' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
                                                          FROM pg_catalog.pg_attribute a
                                                         WHERE a.attrelid = c.oid AND a.attnum = ANY(pr.prattrs)) || ')' ELSE '' END
         || CASE WHEN pr.prqual IS NOT NULL THEN ' WHERE (' || pg_catalog.pg_get_expr(pr.prqual, c.oid) || ')' ELSE '' END`
      : `''`;
  const { rows } = await client.query<{ statement: string }>(
    `SELECT pg_catalog.format('ALTER PUBLICATION %I ADD TABLE ONLY %I.%I', p.pubname, n.nspname, c.relname) || ${filters} || ';' AS statement
       FROM pg_catalog.pg_publication p
       JOIN pg_catalog.pg_publication_rel pr ON pr.prpubid = p.oid
       JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE p.pubname = $1 AND n.nspname = ANY($2)
      ORDER BY n.nspname, c.relname`,
    [REALTIME_PUBLICATION, schemas],
  );
  const statements = rows.map((row) => row.statement);
  if (serverMajor >= 15) {
    const bySchema = await client.query<{ statement: string }>(
      `SELECT pg_catalog.format('ALTER PUBLICATION %I ADD TABLES IN SCHEMA %I;', p.pubname, n.nspname) AS statement
         FROM pg_catalog.pg_publication p
         JOIN pg_catalog.pg_publication_namespace pn ON pn.pnpubid = p.oid
         JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid
        WHERE p.pubname = $1 AND n.nspname = ANY($2)`,
      [REALTIME_PUBLICATION, schemas],
    );
    statements.push(...bySchema.rows.map((row) => row.statement));
  }
  return statements;
}

/**
 * Triggers and RLS policies the user put on Supabase-managed tables (the `on_auth_user_created` trigger,
 * policies on storage.objects): pg_dump of the user schemas never sees them. Service triggers call
 * functions in managed schemas and are left to the target's own services.
 */
async function selectUserObjectsOnManaged(
  client: pg.Client,
  userSchemas: string[],
  warnings: string[],
): Promise<{ triggers: string[]; policies: string[] }> {
  const triggerRows = await client.query<{
    def: string;
    name: string;
    tbl: string;
    fn_schema: string;
    tbl_schema: string;
    enabled: string;
  }>(
    `SELECT pg_catalog.pg_get_triggerdef(t.oid) AS def, t.tgname AS name,
            n.nspname || '.' || c.relname AS tbl, n.nspname AS tbl_schema, pn.nspname AS fn_schema,
            t.tgenabled AS enabled
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
       JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
      WHERE NOT t.tgisinternal
      ORDER BY n.nspname, c.relname, t.tgname`,
  );
  const triggers: string[] = [];
  for (const row of triggerRows.rows) {
    if (!isManagedSchema(row.tbl_schema) || isManagedSchema(row.fn_schema)) continue;
    if (!userSchemas.includes(row.fn_schema)) {
      warnings.push(
        `trigger ${displayName(row.name)} on ${printable(row.tbl)} calls a function in schema ${displayName(row.fn_schema)}, which is not backed up ` +
          "(see 'schemas'): the trigger is left out",
      );
      continue;
    }
    if (row.enabled === 'D') {
      warnings.push(`trigger ${displayName(row.name)} on ${printable(row.tbl)} is disabled in the source; it is restored enabled`);
    }
    triggers.push(`${row.def};`);
  }

  const policyRows = await client.query<{ statement: string; tbl_schema: string }>(
    `SELECT n.nspname AS tbl_schema,
            pg_catalog.format('CREATE POLICY %I ON %I.%I AS %s FOR %s TO %s',
              pol.polname, n.nspname, c.relname,
              CASE WHEN pol.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
              CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                              WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
              (SELECT pg_catalog.string_agg(CASE WHEN r.oid = 0 THEN 'PUBLIC'
                                                 ELSE pg_catalog.quote_ident(ro.rolname) END, ', ' ORDER BY r.ord)
                 FROM pg_catalog.unnest(pol.polroles) WITH ORDINALITY AS r(oid, ord)
                 LEFT JOIN pg_catalog.pg_roles ro ON ro.oid = r.oid))
            || CASE WHEN pol.polqual IS NOT NULL
                    THEN ' USING (' || pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) || ')' ELSE '' END
            || CASE WHEN pol.polwithcheck IS NOT NULL
                    THEN ' WITH CHECK (' || pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) || ')' ELSE '' END
            || ';' AS statement
       FROM pg_catalog.pg_policy pol
       JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      ORDER BY n.nspname, c.relname, pol.polname`,
  );
  const policies = policyRows.rows.filter((row) => isManagedSchema(row.tbl_schema)).map((row) => row.statement);
  return { triggers, policies };
}

/** Roles the user created; grants and ownership in the dump name them, so the target needs them. */
async function selectCustomRoles(client: pg.Client): Promise<BackupPlan['customRoles']> {
  const { rows } = await client.query<{ name: string; login: boolean; inherit: boolean }>(
    'SELECT rolname AS name, rolcanlogin AS login, rolinherit AS inherit FROM pg_catalog.pg_roles ORDER BY rolname',
  );
  return rows.filter((row) => isCustomRole(row.name));
}

/** Tables counted per transaction: the locks a count holds stay few beside pg_dump's own. */
export const COUNT_BATCH = 250;

/**
 * Exact row counts in the snapshot, on a connection of their own (they run while the dumps run), in
 * short transactions of COUNT_BATCH tables that each import the snapshot: a count's lock on a table
 * lasts until its batch ends, so the counts never hold a lock on every table at once beside pg_dump's
 * (thousands of tables would not fit the server's lock table: `out of shared memory`). Each table is
 * scanned once, by this session alone.
 */
export async function countRows(
  conn: ConnectionInfo,
  snapshotId: string,
  tables: TableRef[],
  options: { progress?: () => void; signal?: AbortSignal; applicationName?: string } = {},
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const client = await connectClient(conn, 15_000, options.applicationName);
  const stop = (): void => void closeClient(client);
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    for (let from = 0; from < tables.length; from += COUNT_BATCH) {
      options.signal?.throwIfAborted();
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET TRANSACTION SNAPSHOT ${client.escapeLiteral(snapshotId)}`);
      // No parallel workers: the counts run beside the dumps and finish long before them, so workers
      // would only take more of the server's CPU (narrow bench table: 0.78 CPU-s with 2 workers, 0.43
      // without) and the worker pool the project's own queries share.
      await client.query('SET LOCAL max_parallel_workers_per_gather = 0');
      for (const table of tables.slice(from, from + COUNT_BATCH)) {
        const { rows } = await client.query<{ n: string }>(`SELECT pg_catalog.count(*) AS n FROM ONLY ${table.qualified}`);
        counts.set(table.qualified, Number(rows[0]!.n));
        options.progress?.();
      }
      await client.query('COMMIT');
    }
    return counts;
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await closeClient(client);
  }
}
