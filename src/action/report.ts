/** What the user reads after a run: the outputs and the job summary. */
import { manifestName } from '../sql/sqlscan.js';
import type { BackupResult } from '../backup/pipeline.js';
import { formatBytes } from '../log.js';
import type { Destination } from '../publish/local.js';

export function backupOutputs(result: BackupResult): Record<string, string> {
  return {
    'backup-path': result.path,
    'backup-file': result.file,
    'backup-size': String(result.bytes),
    sha256: result.sha256,
    'auth-users': String(result.authUsers),
    tables: String(result.tables),
    'pg-dump-version': result.pgDump.version,
    'duration-seconds': String(result.durationSeconds),
  };
}

export function summaryMarkdown(result: BackupResult, destinations: Destination[]): string {
  const rows = result.parts
    .map((part) => `| ${part.part} | ${part.title} | ${part.tables || '–'} | ${part.rows || '–'} | ${formatBytes(part.bytes)} |`)
    .join('\n');
  const tables = [...result.rowsByTable]
    // One table per row of the table: control characters escaped, a `|` does not end the cell.
    .map(([table, count]) => `| \`${manifestName(table).replaceAll('|', '\\|')}\` | ${count} |`)
    .join('\n');
  const where = destinations
    .map((d) => `- ${d.url ? `[${d.description}](${d.url})` : d.description}`)
    .join('\n');
  return [
    '## 🗄️ Supabase backup',
    '',
    `\`${result.file}\` — ${formatBytes(result.bytes)}, sha256 \`${result.sha256}\``,
    '',
    `PostgreSQL ${result.serverVersion} · pg_dump ${result.pgDump.version} · snapshot \`${result.snapshotId}\` · ${result.durationSeconds} s`,
    '',
    '| Part | Contents | Tables | Rows | Size |',
    '| --- | --- | ---: | ---: | ---: |',
    rows,
    '',
    `**${result.authUsers}** users in auth.users, **${result.tables}** tables, **${result.rows}** rows, verified against the snapshot.`,
    ...(result.restoreCheck
      ? [
          '',
          `🧪 **Restore check passed**: restored with \`psql -f\` into a scratch PostgreSQL ${result.restoreCheck.scratch.version} ` +
            `database; row counts and content checksums of all ${result.restoreCheck.tables} tables equal the snapshot.`,
        ]
      : []),
    '',
    '### Where it went',
    where,
    '',
    '<details><summary>Rows per table</summary>',
    '',
    '| Table | Rows |',
    '| --- | ---: |',
    tables,
    '',
    '</details>',
    ...(result.warnings.length > 0 ? ['', '### Warnings', ...result.warnings.map((w) => `- ⚠️ ${w}`)] : []),
    '',
  ].join('\n');
}
