/**
 * Checks of a backup file's scan (SqlScanner's report): the format's banner, the three PART markers as
 * statement lines in order, one transaction, a complete manifest, every table's rows in the file equal
 * to the manifest (and, during a backup, to the counts read in the snapshot), auth.users data present.
 */
import { manifestName, type ScanReport } from './sqlscan.js';
import { printable } from '../log.js';

export interface VerifyOutcome {
  problems: string[];
  warnings: string[];
  tables: number;
  rows: number;
  authUsers: number;
}

export class VerifyError extends Error {
  override name = 'VerifyError';
  constructor(readonly problems: string[]) {
    super(`the backup failed verification:\n  - ${problems.map(printable).join('\n  - ')}`);
  }
}

export function checkScan(scan: ScanReport, snapshotRows?: Map<string, number>): VerifyOutcome {
  const problems: string[] = [];
  const warnings: string[] = [];

  if (!scan.header.some((line) => line === '-- COMPLETE DATABASE BACKUP')) {
    problems.push('the header (COMPLETE DATABASE BACKUP) is missing: this is not a backup made by this action');
  }
  const markers = scan.markers.join(',');
  if (markers !== '1,2,3') {
    problems.push(`PART markers found as statements: [${markers}], expected [1,2,3] in that order`);
  }
  if (scan.transaction.begin !== 1 || scan.transaction.commit !== 1) {
    problems.push(
      `expected one BEGIN and one COMMIT around the restore, found ${scan.transaction.begin} and ${scan.transaction.commit}`,
    );
  }
  if (scan.endState !== 'normal') {
    problems.push(`the file ends inside ${scan.endState === 'copy' ? 'a COPY block' : 'a quoted string'}: it is cut short`);
  }
  if (!scan.complete || !scan.manifest) {
    problems.push('the END OF BACKUP manifest is missing: the file is truncated');
  }

  const manifest = scan.manifest ?? new Map<string, number>();
  const expected = snapshotRows ?? manifest;
  if (snapshotRows) {
    for (const [table, rows] of snapshotRows) {
      if (manifest.size > 0 && manifest.get(table) !== rows) {
        problems.push(`${manifestName(table)}: the manifest says ${manifest.get(table) ?? 'nothing'}, the snapshot has ${rows} rows`);
      }
    }
  }
  for (const [table, rows] of expected) {
    const found = scan.rows.get(table) ?? 0;
    if (found !== rows) problems.push(`${manifestName(table)}: ${found} rows in the file, ${rows} expected`);
  }
  for (const [table, rows] of scan.rows) {
    if (!expected.has(table)) problems.push(`${manifestName(table)}: ${rows} rows in the file for a table the manifest does not list`);
  }

  const authUsers = scan.rows.get('auth.users') ?? 0;
  if (!expected.has('auth.users')) {
    problems.push('auth.users data is missing from the backup');
  } else if (authUsers === 0 && (expected.get('auth.users') ?? 0) === 0) {
    warnings.push('the source has no users in auth.users: the backup holds no user accounts');
  }

  const rows = [...scan.rows.values()].reduce((sum, n) => sum + n, 0);
  return { problems, warnings, tables: expected.size, rows, authUsers };
}

/** The source's PostgreSQL version from the header's `-- Source: PostgreSQL 17.6 · ...` line, or null. */
export function sourceVersionOf(header: readonly string[]): { major: number; version: string } | null {
  for (const line of header) {
    const match = /^-- Source: PostgreSQL (\d+)((?:\.\d+)*)/.exec(line);
    if (match) return { major: Number(match[1]), version: `${match[1]}${match[2]}` };
  }
  return null;
}

/** The refusal of a restore into a server older than the backup's source, or null when it fits. */
export function olderTargetProblem(header: readonly string[], targetMajor: number, targetVersion: string): string | null {
  const source = sourceVersionOf(header);
  if (!source || source.major <= targetMajor) return null;
  return (
    `this backup was taken from PostgreSQL ${source.version} and the target runs PostgreSQL ${targetVersion}, an older major ` +
    `version: a backup restores only into the same major version or a newer one. Restore it into a project on PostgreSQL ` +
    `${source.major} or newer (new Supabase projects run PostgreSQL 17)`
  );
}
