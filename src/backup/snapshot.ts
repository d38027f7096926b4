/**
 * One exported snapshot, held open on its own connection while every pg_dump imports it with
 * --snapshot: all parts of the backup, the catalog reads and the row counts see the same database.
 */
import type pg from 'pg';
import { type ConnectionInfo, connectClient, explainConnectionError } from '../postgres/connection.js';

export interface Snapshot {
  id: string;
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
  const { rows } = await client.query<{ id: string }>('SELECT pg_catalog.pg_export_snapshot() AS id');
  let released = false;
  return {
    id: rows[0]!.id,
    client,
    async release() {
      if (released) return;
      released = true;
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}
