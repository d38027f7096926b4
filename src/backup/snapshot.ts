/**
 * One exported snapshot, held open on its own connection while every pg_dump imports it with
 * --snapshot: all parts of the backup, the catalog reads and the row counts see the same database.
 */
import type pg from 'pg';
import { type ConnectionInfo, closeClient, connectClient, explainConnectionError } from '../postgres/connection.js';

export interface Snapshot {
  id: string;
  /** The server process of the held connection (pg_backend_pid). */
  pid: number;
  /** The connection inside the snapshot's transaction: queries on it see exactly what the dumps see. */
  client: pg.Client;
  release(): Promise<void>;
}

export async function openSnapshot(conn: ConnectionInfo): Promise<Snapshot> {
  let client: pg.Client;
  try {
    // Timeouts off before BEGIN (session-wide): a role's idle_in_transaction_session_timeout would end
    // the snapshot while the dumps run. A dropped connection surfaces as a failed query (connectClient).
    client = await connectClient(conn);
  } catch (error) {
    throw explainConnectionError(error, conn);
  }
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  // Qualify every name the catalog functions print (pg_get_expr, pg_get_triggerdef).
  await client.query("SELECT pg_catalog.set_config('search_path', '', true)");
  const { rows } = await client.query<{ id: string; pid: number }>(
    'SELECT pg_catalog.pg_export_snapshot() AS id, pg_catalog.pg_backend_pid() AS pid',
  );
  let released = false;
  return {
    id: rows[0]!.id,
    pid: rows[0]!.pid,
    client,
    async release() {
      if (released) return;
      released = true;
      await client.query('ROLLBACK').catch(() => undefined);
      await closeClient(client);
    },
  };
}

/** The application_name of a run's pg_dump sessions: its snapshot tells them from any other run's. */
export function runApplicationName(snapshotId: string): string {
  return `supabase-complete-backup ${snapshotId}`;
}

/**
 * Ends the server sessions of a run that stalled: its held snapshot and its pg_dumps, whose sockets may
 * hang on a cut network (the server would keep them, idle in transaction or blocked on a send, holding
 * back vacuum until its own TCP timeouts notice). Done from a new connection, best effort: returns why
 * not when the server cannot be reached.
 */
export async function endRunSessions(conn: ConnectionInfo, snapshot: Pick<Snapshot, 'id' | 'pid'>): Promise<string | undefined> {
  let client: pg.Client | undefined;
  try {
    client = await connectClient(conn, 10_000);
    await client.query(
      `SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
        WHERE (pid = $1 OR application_name = $2) AND usename = current_user AND pid <> pg_catalog.pg_backend_pid()`,
      [snapshot.pid, runApplicationName(snapshot.id)],
    );
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    if (client) await closeClient(client);
  }
}
