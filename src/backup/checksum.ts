/**
 * A table's row count and a checksum of its content, computed the same way in the source snapshot and
 * in a database the backup was restored into, so the two can be compared table by table.
 *
 * The checksum is order-independent and memory-flat: every row becomes `to_jsonb(row)::text` (keys
 * sorted, so column order does not matter; generated columns included, as the target recomputes them
 * from the same expressions), its md5 is split into two 64-bit halves, and each half is summed as
 * numeric (no overflow). One sequential scan, no sort, no aggregate string. The session's output
 * settings (time zone, date and interval style, float digits, bytea and money formats) are pinned
 * first, so the same rows give the same text on any server.
 */
import type pg from 'pg';

export interface TableChecksum {
  rows: number;
  /** `<sum of first md5 halves>:<sum of second md5 halves>` */
  checksum: string;
}

const SETTINGS: [string, string][] = [
  ['TimeZone', 'UTC'],
  ['DateStyle', 'ISO, MDY'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '3'],
  ['bytea_output', 'hex'],
  ['lc_monetary', 'C'],
];

/** Pins the output settings the checksums depend on (for the transaction only when `local`). */
export async function pinOutputSettings(client: pg.Client, local: boolean): Promise<void> {
  const calls = SETTINGS.map((_, i) => `pg_catalog.set_config($${2 * i + 1}, $${2 * i + 2}, ${local})`).join(', ');
  await client.query(`SELECT ${calls}`, SETTINGS.flat());
}

/** `schema.table` as pg_dump and the manifest write it is also valid SQL (quote_ident rules). */
export function checksumQuery(qualified: string): string {
  return `SELECT pg_catalog.count(*) AS n,
                 pg_catalog.sum(('x' || pg_catalog.substr(h, 1, 16))::bit(64)::bigint)::text AS a,
                 pg_catalog.sum(('x' || pg_catalog.substr(h, 17, 16))::bit(64)::bigint)::text AS b
            FROM (SELECT pg_catalog.md5(pg_catalog.to_jsonb(_scb_row)::text) AS h FROM ONLY ${qualified} AS _scb_row) AS hashed`;
}

/** Row count and checksum of each table, one table at a time, on the given connection. */
export async function tableChecksums(client: pg.Client, tables: readonly string[]): Promise<Map<string, TableChecksum>> {
  const result = new Map<string, TableChecksum>();
  for (const table of tables) {
    const { rows } = await client.query<{ n: string; a: string | null; b: string | null }>(checksumQuery(table));
    const row = rows[0]!;
    result.set(table, { rows: Number(row.n), checksum: `${row.a ?? '0'}:${row.b ?? '0'}` });
  }
  return result;
}
