/**
 * Progress of a running backup, for a log that would otherwise stay silent for many minutes on a large
 * project (a long silent log reads as a hang): every so often one line with the bytes written, the rows
 * so far against the catalog's estimate, the rate and the time left. Only numbers: no name from the
 * database and nothing secret reaches these lines.
 */
import type pg from 'pg';
import { PROGRESS_EVERY_MS, formatBytes, type Logger } from '../log.js';
import type { TableRef } from './catalog.js';

/** What the merge has done so far (it updates the fields as the bytes pass). */
export interface MergeProgress {
  sqlBytes: number;
  /** Rows seen so far (the scanner's live count, the rows of a COPY block still running included). */
  rows: () => number;
}

/** The catalog's estimate of the rows of `tables` (pg_class.reltuples: what ANALYZE last saw), or null. */
export async function estimateRows(client: pg.Client, tables: readonly TableRef[]): Promise<number | null> {
  const { rows } = await client.query<{ total: string | null }>(
    'SELECT sum(greatest(c.reltuples, 0))::bigint AS total FROM pg_catalog.pg_class c WHERE c.oid = ANY ($1::pg_catalog.regclass[])',
    [tables.map((table) => table.qualified)],
  );
  const total = Number(rows[0]?.total ?? 0);
  return total > 0 ? total : null;
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** One progress line. */
export function progressLine(progress: MergeProgress, estimatedRows: number | null, elapsedMs: number): string {
  const rows = progress.rows();
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const parts = [`${formatBytes(progress.sqlBytes)} written`];
  if (estimatedRows && estimatedRows >= rows) {
    const share = rows / estimatedRows;
    parts.push(`${rows.toLocaleString('en-US')} of ~${estimatedRows.toLocaleString('en-US')} rows (${Math.floor(share * 100)}%)`);
    parts.push(`${formatBytes(progress.sqlBytes / seconds)}/s`);
    if (share > 0.01) parts.push(`about ${formatDuration((seconds / share) * (1 - share))} left`);
  } else {
    parts.push(`${rows.toLocaleString('en-US')} rows`, `${formatBytes(progress.sqlBytes / seconds)}/s`);
  }
  return `⏳ ${parts.join(', ')}`;
}

/** Logs a progress line every `everyMs` until the returned function is called. */
export function reportProgress(log: Logger, progress: MergeProgress, estimatedRows: number | null, everyMs = PROGRESS_EVERY_MS): () => void {
  const started = Date.now();
  const timer = setInterval(() => log.info(progressLine(progress, estimatedRows, Date.now() - started)), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
