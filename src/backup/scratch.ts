/**
 * The scratch database of `verify: restore`, made into a fresh Supabase-shaped target from the source
 * itself, in the backup's own snapshot:
 *
 * - capture (source side, while the snapshot is held): the names of the source's roles; the schema
 *   only of `auth` and `storage` (`pg_dump -Fc --schema-only --snapshot`), without the policies on
 *   their tables and without the user's triggers on them, because PART 3 of the backup creates exactly
 *   those; the extensions those schemas depend on; whether the Realtime publication exists.
 * - prepare (scratch side): refuse a scratch database that is not empty or a user that is not a
 *   superuser; create the missing roles as NOLOGIN without passwords; create the schemas and extensions
 *   the backup expects a Supabase project to have; load the auth/storage schema in one transaction.
 *
 * Roles are cluster-wide: the ones created here stay on the scratch server (a throwaway service
 * container in the intended setup).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { EXTENSION_USERS_CTE, type BackupPlan } from './catalog.js';
import { type ConnectionInfo, LIBPQ_KEEPALIVES, closeClient, connectClient, explainConnectionError, namingInput, redact } from '../postgres/connection.js';
import { psqlFailure, runPsql } from '../postgres/psql.js';
import { PRIVILEGED_EXTENSIONS, REALTIME_PUBLICATION, isManagedSchema } from '../postgres/supabase.js';
import type { PgTools } from '../postgres/tools.js';
import { gatekeeperSql } from './gatekeeper.js';

export class ScratchError extends Error {
  override name = 'ScratchError';
}

/** What the scratch database needs, read from the source in the backup's snapshot. */
export interface ScratchRecipe {
  sourceMajor: number;
  /** Every role of the source but the built-in `pg_*` ones. */
  roles: string[];
  /** Managed schemas to create before the auth/storage schema (homes of extensions). */
  schemas: string[];
  /**
   * Extensions created before the restore: those the auth/storage schema depends on, and those of the
   * user schemas that hosted supautils creates for `postgres` although they are not trusted.
   */
  extensions: { name: string; schema: string }[];
  /** Publications the backup adds tables to. */
  publications: string[];
  /** Plain SQL that creates the auth and storage schemas (no policies, no user triggers). */
  schemaFile: string;
  /** What was left out of the schema file, for the log. */
  left: { policies: number; triggers: number };
}

export interface CaptureInput {
  /** The connection inside the snapshot. */
  client: pg.Client;
  plan: BackupPlan;
  tools: PgTools;
  /** libpq environment of the source connection. */
  env: NodeJS.ProcessEnv;
  snapshotId: string;
  sourceMajor: number;
  workDir: string;
  secrets: string[];
  signal?: AbortSignal;
}

const PG_TRIGGER = 2620;
const PG_POLICY = 3256;

/** What the catalog says (read on the snapshot connection, one query at a time). */
export interface ScratchCatalog {
  roles: string[];
  schemaNames: string[];
  userTriggers: { oid: number; tgname: string; relname: string; tbl_schema: string }[];
  extensions: { name: string; schema: string }[];
  publication: boolean;
}

export async function captureScratchRecipe(input: CaptureInput): Promise<ScratchRecipe> {
  return dumpScratchSchema(input, await readScratchCatalog(input.client));
}

export async function readScratchCatalog(client: pg.Client): Promise<ScratchCatalog> {
  const roles = await client.query<{ rolname: string }>(
    "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname !~ '^pg_' ORDER BY 1",
  );
  const schemaNames = await client.query<{ nspname: string }>(
    "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname IN ('auth', 'storage') ORDER BY 1",
  );
  // Triggers on auth/storage tables whose function is not Supabase's: the user's, made again by PART 3.
  const triggers = await client.query<{ oid: number; tgname: string; relname: string; tbl_schema: string; fn_schema: string }>(
    `SELECT t.oid::int AS oid, t.tgname, c.relname, n.nspname AS tbl_schema, pn.nspname AS fn_schema
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
       JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
      WHERE NOT t.tgisinternal AND n.nspname IN ('auth', 'storage')`,
  );
  const userTriggers = triggers.rows.filter((row) => !isManagedSchema(row.fn_schema));
  const extensions = await client.query<{ name: string; schema: string }>(
    `${EXTENSION_USERS_CTE}
     SELECT DISTINCT e.extname AS name, en.nspname AS schema
       FROM pg_catalog.pg_extension e
       JOIN pg_catalog.pg_namespace en ON en.oid = e.extnamespace
       JOIN members m ON m.ext = e.oid
       JOIN users u ON u.member = m.objid AND u.member_class = m.classid
      WHERE e.extname <> 'plpgsql' AND u.schema IN ('auth', 'storage')
      ORDER BY 1`,
  );
  const publication = await client.query<{ pubname: string }>(
    'SELECT pubname FROM pg_catalog.pg_publication WHERE pubname = $1',
    [REALTIME_PUBLICATION],
  );
  return {
    roles: roles.rows.map((row) => row.rolname),
    schemaNames: schemaNames.rows.map((row) => row.nspname),
    userTriggers,
    extensions: extensions.rows,
    publication: publication.rows.length > 0,
  };
}

/** Dumps the auth/storage schema in the snapshot and leaves out what PART 3 of the backup creates. */
export async function dumpScratchSchema(input: CaptureInput, catalog: ScratchCatalog): Promise<ScratchRecipe> {
  const { plan } = input;
  const { userTriggers } = catalog;
  const schemas = new Set<string>();
  for (const ext of [...catalog.extensions, ...plan.extensions]) {
    if (!plan.userSchemas.includes(ext.schema) && ext.schema !== 'auth' && ext.schema !== 'storage') schemas.add(ext.schema);
  }

  const dumpFile = path.join(input.workDir, 'scratch-schema.dump');
  const listFile = path.join(input.workDir, 'scratch-schema.list');
  const schemaFile = path.join(input.workDir, 'scratch-schema.sql');
  const run = async (program: string, args: string[], what: string): Promise<string> => {
    const result = await execa(program, args, {
      env: input.env,
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      cancelSignal: input.signal,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.exitCode !== 0 || result.failed) {
      const why = redact(String(result.stderr ?? '').trim(), input.secrets) || result.shortMessage || `exit code ${result.exitCode}`;
      throw new ScratchError(`${what} failed: ${why.split('\n').slice(-5).join('\n')}`);
    }
    return String(result.stdout);
  };
  const pgRestore = path.join(input.tools.binDir, path.basename(input.tools.pgDump).replace('pg_dump', 'pg_restore'));
  await run(
    input.tools.pgDump,
    [
      '--format=custom',
      '--schema-only',
      `--snapshot=${input.snapshotId}`,
      '--lock-wait-timeout=120s',
      `--dbname=${LIBPQ_KEEPALIVES}`,
      `--file=${dumpFile}`,
      ...catalog.schemaNames.flatMap((name) => ['--schema', name]),
    ],
    'pg_dump of the auth and storage schema (for the scratch database)',
  );
  const toc = await run(pgRestore, ['--list', dumpFile], 'pg_restore --list of the auth and storage schema');
  const skipTriggers = new Set(userTriggers.map((row) => row.oid));
  const triggerComments = new Set(userTriggers.map((row) => `${row.tbl_schema} TRIGGER ${row.tgname} ON ${row.relname} `));
  let policies = 0;
  let leftTriggers = 0;
  const kept = toc.split('\n').filter((line) => {
    const entry = /^\d+; (\d+) (\d+) (\S+)/.exec(line);
    if (!entry) return true;
    const [catalog, oid] = [Number(entry[1]), Number(entry[2])];
    if (catalog === PG_POLICY) {
      policies++;
      return false;
    }
    if (catalog === PG_TRIGGER && skipTriggers.has(oid)) {
      leftTriggers++;
      return false;
    }
    // Comments on what was left out would point at nothing.
    if (/^\d+; \d+ \d+ COMMENT \S+ POLICY /.test(line)) return false;
    if (/^\d+; \d+ \d+ COMMENT /.test(line) && [...triggerComments].some((tag) => line.includes(` COMMENT ${tag}`))) return false;
    return true;
  });
  await writeFile(listFile, kept.join('\n'));
  await run(pgRestore, ['--use-list', listFile, `--file=${schemaFile}`, dumpFile], 'pg_restore of the auth and storage schema');

  return {
    sourceMajor: input.sourceMajor,
    roles: catalog.roles,
    schemas: [...schemas].sort(),
    extensions: [
      ...catalog.extensions,
      ...plan.extensions.filter(
        (ext) => PRIVILEGED_EXTENSIONS.has(ext.name) && !catalog.extensions.some((have) => have.name === ext.name),
      ),
    ],
    publications: plan.publication.length > 0 && catalog.publication ? [REALTIME_PUBLICATION] : [],
    schemaFile,
    left: { policies, triggers: leftTriggers },
  };
}

export interface ScratchServer {
  major: number;
  version: string;
  user: string;
}

/** Checks the scratch database before anything is written to it: reachable, superuser, new enough, empty. */
export async function checkScratch(conn: ConnectionInfo, sourceMajor: number): Promise<ScratchServer> {
  let client: pg.Client;
  try {
    client = await connectClient(conn, 15_000);
  } catch (error) {
    const explained = namingInput(explainConnectionError(error, conn), 'verify-database-url') as Error;
    throw new ScratchError(`verify-database-url: ${explained.message}`);
  }
  try {
    const { rows } = await client.query<{ num: string; version: string; superuser: boolean; username: string }>(
      `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version,
              r.rolsuper AS superuser, current_user AS username
         FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
    );
    const row = rows[0]!;
    const major = Math.floor(Number(row.num) / 10000);
    if (!row.superuser) {
      throw new ScratchError(
        `verify-database-url connects as '${row.username}', which is not a superuser. The scratch database is made ` +
          'into a fresh Supabase-shaped project (roles, auth and storage schema) before the restore, which needs a ' +
          "superuser: use the 'postgres' user of a postgres service container",
      );
    }
    if (major < sourceMajor) {
      throw new ScratchError(
        `the scratch server runs PostgreSQL ${row.version.split(' ')[0]}, older than the source (PostgreSQL ${sourceMajor}); ` +
          `a backup restores into the same major version or a newer one: use a postgres:${sourceMajor} (or newer) service container`,
      );
    }
    const found = await client.query<{ what: string }>(
      `SELECT what FROM (
       SELECT 1 AS rank, 'schema ' || pg_catalog.quote_ident(nspname) AS what FROM pg_catalog.pg_namespace
        WHERE nspname NOT IN ('public', 'information_schema') AND nspname !~ '^pg_'
       UNION ALL
       SELECT 2, CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'table ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
                             WHEN 'S' THEN 'sequence ' ELSE 'relation ' END || 'public.' || pg_catalog.quote_ident(c.relname)
         FROM pg_catalog.pg_class c
        WHERE c.relnamespace = 'public'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
       UNION ALL
       SELECT 3, 'function public.' || pg_catalog.quote_ident(proname) FROM pg_catalog.pg_proc
        WHERE pronamespace = 'public'::pg_catalog.regnamespace
       UNION ALL
       SELECT 4, 'type public.' || pg_catalog.quote_ident(typname) FROM pg_catalog.pg_type
        WHERE typnamespace = 'public'::pg_catalog.regnamespace AND typtype IN ('e', 'd', 'r', 'm')
       UNION ALL
       SELECT 5, 'extension ' || pg_catalog.quote_ident(extname) FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql'
       UNION ALL
       SELECT 6, 'publication ' || pg_catalog.quote_ident(pubname) FROM pg_catalog.pg_publication
       ) AS found ORDER BY rank, what`,
    );
    if (found.rows.length > 0) {
      const shown = found.rows.slice(0, 8).map((r) => r.what);
      const more = found.rows.length > shown.length ? ` and ${found.rows.length - shown.length} more` : '';
      throw new ScratchError(
        `the scratch database '${conn.database}' on ${conn.host}:${conn.port} is not empty (${shown.join(', ')}${more}). ` +
          "'verify: restore' restores the backup into it, so it must be a new, empty database: use a postgres " +
          'service container of the job, which starts empty every run',
      );
    }
    return { major, version: row.version.split(' ')[0]!, user: row.username };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Makes the (checked, empty) scratch database a fresh Supabase-shaped project for this backup. */
export async function prepareScratch(
  conn: ConnectionInfo,
  recipe: ScratchRecipe,
  tools: PgTools,
  options: { secrets?: string[]; signal?: AbortSignal } = {},
): Promise<{ createdRoles: string[]; restoreRole: string | null }> {
  const client = await connectClient(conn, 15_000);
  const createdRoles: string[] = [];
  try {
    await client.query('BEGIN');
    const existing = await client.query<{ rolname: string }>('SELECT rolname FROM pg_catalog.pg_roles');
    const have = new Set(existing.rows.map((row) => row.rolname));
    for (const role of recipe.roles) {
      if (have.has(role)) continue;
      await client.query(`CREATE ROLE ${ident(role)} NOLOGIN`);
      createdRoles.push(role);
    }
    for (const schema of recipe.schemas) await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
    for (const ext of recipe.extensions) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(ext.schema)}`);
      await client.query(`CREATE EXTENSION IF NOT EXISTS ${ident(ext.name)} WITH SCHEMA ${ident(ext.schema)}`).catch((error: Error) => {
        throw new ScratchError(
          `the scratch server cannot create extension ${ext.name}, which the source's auth/storage schema uses: ${error.message}`,
        );
      });
    }
    for (const publication of recipe.publications) {
      await client.query(`CREATE PUBLICATION ${ident(publication)}`);
      if (have.has('postgres') || createdRoles.includes('postgres')) {
        await client.query(`ALTER PUBLICATION ${ident(publication)} OWNER TO postgres`);
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error instanceof ScratchError ? error : new ScratchError(`preparing the scratch database failed: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }

  // pg_dump 17 writes `SET transaction_timeout`, which PostgreSQL 15 and 16 do not know.
  const sql = await readFile(recipe.schemaFile, 'utf8');
  await writeFile(recipe.schemaFile, sql.replace(/^SET transaction_timeout\b/gm, '-- SET transaction_timeout'));
  const result = await runPsql({
    psql: tools.psql,
    conn,
    input: { file: recipe.schemaFile },
    args: ['-v', 'ON_ERROR_STOP=1', '--single-transaction'],
    env: { PGOPTIONS: '-c client_min_messages=warning' },
    secrets: options.secrets,
    signal: options.signal,
  });
  if (result.exitCode !== 0) {
    throw new ScratchError(`loading the source's auth and storage schema into the scratch database failed:\n${psqlFailure(result)}`);
  }

  const gated = await connectClient(conn, 15_000);
  try {
    await gated.query('BEGIN');
    const restoreRole = (await makeHostedPostgres(gated)) ? 'postgres' : null;
    await gated.query(gatekeeperSql());
    await gated.query('COMMIT');
    return { createdRoles, restoreRole };
  } catch (error) {
    await gated.query('ROLLBACK').catch(() => undefined);
    throw new ScratchError(`preparing the scratch database's hosted gatekeeping failed: ${(error as Error).message}`);
  } finally {
    await gated.end().catch(() => undefined);
  }
}

/**
 * Gives the scratch server's `postgres` what it has on a hosted project: not a superuser; CREATEROLE,
 * CREATEDB, BYPASSRLS; the API roles; owner of the database (so of `public`) and of `extensions`; allowed
 * to SET session_replication_role. It also gets the auth and storage service roles, standing in for
 * supautils' grant lists (policies on storage.objects, triggers on auth.users); the gatekeeper takes back
 * what that ownership allows beyond them. False when `postgres` is the scratch server's superuser (a
 * `postgres` service container without POSTGRES_USER) or the server is older than PostgreSQL 15: the
 * restore then runs as the superuser, still behind the gatekeeper.
 */
async function makeHostedPostgres(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ superuser: boolean | null; num: string; roles: string[] }>(
    `SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'postgres') AS superuser,
            pg_catalog.current_setting('server_version_num') AS num,
            ARRAY(SELECT rolname FROM pg_catalog.pg_roles) AS roles`,
  );
  const { superuser, num, roles } = rows[0]!;
  const major = Math.floor(Number(num) / 10000);
  if (superuser !== false || major < 15) return false;
  const have = (names: string[]): string[] => names.filter((name) => roles.includes(name)).map(ident);
  await client.query('ALTER ROLE postgres NOSUPERUSER INHERIT CREATEROLE CREATEDB BYPASSRLS');
  const apiRoles = have(['anon', 'authenticated', 'service_role']);
  if (apiRoles.length > 0) await client.query(`GRANT ${apiRoles.join(', ')} TO postgres${major >= 16 ? ' WITH ADMIN OPTION' : ''}`);
  const builtIn = have(['pg_read_all_data', 'pg_monitor', 'pg_signal_backend']);
  if (builtIn.length > 0) await client.query(`GRANT ${builtIn.join(', ')} TO postgres`);
  const owners = have(['supabase_auth_admin', 'supabase_storage_admin']);
  if (owners.length > 0) await client.query(`GRANT ${owners.join(', ')} TO postgres`);
  await client.query('GRANT SET ON PARAMETER session_replication_role TO postgres');
  const database = await client.query<{ name: string }>('SELECT pg_catalog.current_database() AS name');
  await client.query(`ALTER DATABASE ${ident(database.rows[0]!.name)} OWNER TO postgres`);
  await client.query(
    "DO $owner$ BEGIN IF pg_catalog.to_regnamespace('extensions') IS NOT NULL THEN ALTER SCHEMA extensions OWNER TO postgres; END IF; END $owner$",
  );
  return true;
}

/** The roles of the scratch server (they are shared by all its databases). */
export async function scratchRoles(conn: ConnectionInfo): Promise<Set<string>> {
  const client = await connectClient(conn, 15_000);
  try {
    const { rows } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_catalog.pg_roles');
    return new Set(rows.map((row) => row.rolname));
  } finally {
    await closeClient(client);
  }
}

/**
 * Drops the roles the restore check made on the scratch server (the check prepares them, the backup's
 * file makes the user's own): what they own in the scratch database is handed to the superuser the
 * check connects as, their privileges revoked, then they are dropped. Returns why not, when they own
 * something in another database of the server (or anything else stops it).
 */
export async function dropScratchRoles(conn: ConnectionInfo, roles: string[]): Promise<string | undefined> {
  if (roles.length === 0) return undefined;
  let client: pg.Client | undefined;
  try {
    client = await connectClient(conn, 15_000);
    const list = roles.map(ident).join(', ');
    // One role at a time: DROP OWNED BY a, b trips over a default privilege that both appear in
    // ("could not find tuple for default ACL").
    for (const role of roles) await client.query(`REASSIGN OWNED BY ${ident(role)} TO CURRENT_USER`);
    for (const role of roles) await client.query(`DROP OWNED BY ${ident(role)}`);
    await client.query(`DROP ROLE ${list}`);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    if (client) await closeClient(client);
  }
}
