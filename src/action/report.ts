/** What the user reads after a run: the outputs and the job summary. */
import type { BackupResult } from '../backup/pipeline.js';
import { formatBytes, printable } from '../log.js';

/** Text from the database for a Markdown table cell: printable, no HTML, no cell break. */
export function markdownText(text: string): string {
  return printable(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '&#124;')
    .replace(/`/g, '&#96;');
}
import type { Destination } from '../publish/local.js';

export function backupOutputs(result: BackupResult): Record<string, string> {
  return {
    'backup-path': result.path,
    'backup-file': result.file,
    'backup-size': String(result.bytes),
    sha256: result.sha256,
    'signature-path': result.signaturePath ?? '',
    'auth-users': String(result.authUsers),
    tables: String(result.tables),
    'pg-dump-version': result.pgDump.version,
    'duration-seconds': String(result.durationSeconds),
  };
}

export function summaryMarkdown(result: BackupResult, destinations: Destination[]): string {
  const rows = result.parts
    .map((part) => `| ${part.part} | ${markdownText(part.title)} | ${part.tables || '–'} | ${part.rows || '–'} | ${formatBytes(part.bytes)} |`)
    .join('\n');
  const tables = [...result.rowsByTable]
    .map(([table, count]) => `| <code>${markdownText(table)}</code> | ${count} |`)
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
    ...storageFilesSection(result),
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
    ...(result.warnings.length > 0 ? ['', '### Warnings', ...result.warnings.map((w) => `- ⚠️ ${markdownText(w)}`)] : []),
    '',
  ].join('\n');
}

/** The Storage files of the backup: the manifest's counts, and every file not in the backup with why. */
function storageFilesSection(result: BackupResult): string[] {
  const files = result.storageFiles;
  if (!files) return [];
  const c = files.counts;
  const skipped = files.skipped.map(
    (s) => `| <code>${markdownText(s.bucket)}/${markdownText(s.name)}</code> | ${markdownText(s.reason)} | ${markdownText(s.detail)} |`,
  );
  const notIn = c.changed + c.missing + c.unreadableNames;
  return [
    '',
    '### 🗂️ Storage files',
    '',
    '| Files in the backup | Stored now | Reused from earlier backups | Changed during the backup | Missing | Unreadable names |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${files.files} (${formatBytes(c.bytes)}) | ${c.stored} (${formatBytes(c.storedBytes)}) | ${c.reused} | ${c.changed} | ${c.missing} | ${c.unreadableNames} |`,
    '',
    `Manifest: \`${markdownText(files.manifest)}\`${files.inArtifact ? ' in the artifact, which holds every file of this backup (restore: `--files-from` the unzipped artifact)' : ''}`,
    ...(notIn > 0
      ? [
          '',
          `<details><summary>⚠️ ${notIn} file(s) not in the backup (their rows are; a restore brings them back without bytes)</summary>`,
          '',
          '| File | Why | Detail |',
          '| --- | --- | --- |',
          ...skipped,
          ...(notIn > skipped.length ? [`| … | | ${notIn - skipped.length} more in the manifest |`] : []),
          '',
          '</details>',
        ]
      : []),
  ];
}
