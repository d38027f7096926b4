/**
 * The backup file: header, PART 1, PART 2, PART 3, COMMIT and the row manifest, written in one
 * streaming pass. Every byte goes through one SqlScanner (which rewrites pg_dump's statement lines
 * for a `postgres` restore and counts rows for verification), then through the seal transforms
 * (gzip, age), a sha256 and into a 0600 file in large batches (filewrite.ts). Nothing is
 * held in memory whole.
 *
 * The parts are streams (pg_dump's stdout as it comes) or files; each is read once, in file order.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BackupPlan } from './catalog.js';
import type { MergeProgress } from './progress.js';
import { displayName, printable } from '../log.js';
import { OutputFile, writeInBatches } from '../streams/filewrite.js';
import { dumpLineRewriter } from '../sql/rewrite.js';
import { MARKER, manifestName, type ScanReport } from '../sql/sqlscan.js';
import { FilePolicy, type PolicyProblem } from '../sql/policy.js';
import { neutraliseBlock, quoteIdent, rolesBlock, versionGuard } from '../sql/preamble.js';

export { versionGuard };

export interface FileMeta {
  generatedAt: Date;
  serverVersion: string;
  /** The source server's major version (the file refuses to restore into an older one). */
  serverMajor: number;
  pgDumpVersion: string;
  pgDumpMajor: number;
  snapshotId: string;
  userSchemas: string[];
}

/** A part's SQL: a file, or a stream of chunks (read to its end; it should throw if its producer failed). */
export type PartSource = string | AsyncIterable<Buffer>;

export interface MergeInput {
  meta: FileMeta;
  plan: BackupPlan;
  part1: PartSource;
  part2: PartSource;
  /** Row counts read in the snapshot: written as the closing manifest (awaited after PART 2). */
  expectedRows: Map<string, number> | Promise<Map<string, number>>;
  outFile: string;
  /** Stream transforms applied after the scan (gzip, encryption), in order. */
  seal?: Transform[];
  /** Aborts the merge (another stage of the backup failed). */
  signal?: AbortSignal;
  /** Updated as the bytes pass, for progress lines. */
  progress?: MergeProgress;
}

export interface MergeResult {
  scan: ScanReport;
  /** What the file policy refuses in the file as written (empty when it passes). */
  policy: PolicyProblem[];
  /** Bytes of SQL each part contributed (before sealing). */
  partBytes: { part1: number; part2: number; part3: number };
  sqlBytes: number;
  /** Size and sha256 of the stored file (after sealing). */
  fileBytes: number;
  sha256: string;
}

const RULE = '-- =====================================================';

export function fileHeader(meta: FileMeta): string {
  // Names from the database are escaped: a newline in a schema name must not end this comment line.
  const schemas = meta.userSchemas.length > 0 ? meta.userSchemas.map(displayName).join(', ') : '(none)';
  return [
    RULE,
    MARKER.banner,
    `-- Generated: ${meta.generatedAt.toISOString()}`,
    `-- Includes: auth (data), storage (data), ${schemas} (schema + data)`,
    `-- Source: PostgreSQL ${printable(meta.serverVersion)} · pg_dump ${printable(meta.pgDumpVersion)} · snapshot ${printable(meta.snapshotId)}`,
    '-- Restore into a fresh Supabase project, as postgres, in one transaction:',
    '--   psql "$DATABASE_URL" -f <this file>',
    RULE,
    '\\set ON_ERROR_STOP on',
    versionGuard(meta),
    'BEGIN;',
    '',
  ].join('\n');
}

function partBanner(marker: string, echo: string): string {
  return ['', RULE, marker, RULE, `\\echo ${echo}`, ''].join('\n');
}

export function part1Open(): string {
  return [
    partBanner(MARKER.part1, 'PART 1: auth and storage data'),
    '-- Data only, as COPY with column lists. Replica mode keeps service and user triggers',
    '-- (and foreign-key checks) from firing on restored rows.',
    'SET session_replication_role = replica;',
    '',
  ].join('\n');
}

export function part1Close(): string {
  return ['', 'SET session_replication_role = DEFAULT;', ''].join('\n');
}

export function part2Open(plan: BackupPlan): string {
  const lines = [partBanner(MARKER.part2, 'PART 2: user schemas (schema + data)')];
  lines.push('SELECT pg_catalog.set_config(\'search_path\', \'\', false);');
  if (plan.customRoles.length > 0) {
    lines.push(
      '-- Roles made by the user that grants and owners below name; created when missing, without',
      '-- passwords (set them again with ALTER ROLE ... PASSWORD after the restore).',
      rolesBlock(plan.customRoles),
    );
  }
  for (const schema of plan.userSchemas) lines.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)};`);
  for (const ext of plan.extensions) {
    lines.push(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(ext.name)} WITH SCHEMA ${quoteIdent(ext.schema)};`);
  }
  if (plan.userSchemas.length > 0) {
    lines.push(
      "-- A Supabase project grants every new table, sequence and function in 'public' to anon,",
      '-- authenticated and service_role by default privileges. Drop those defaults for the restored',
      "-- schemas so the dump's own GRANT/REVOKE and ALTER DEFAULT PRIVILEGES lines set privileges as",
      '-- they were in the source (a privilege revoked there stays revoked).',
      neutraliseBlock(plan.userSchemas),
    );
  }
  lines.push('');
  return lines.join('\n');
}

export function part2Close(plan: BackupPlan): string {
  if (plan.publication.length === 0) return '';
  return ['', '-- Realtime: tables published to supabase_realtime in the source.', ...plan.publication, ''].join('\n');
}

export function part3(plan: BackupPlan): string {
  const { triggers, policies } = plan.userObjectsOnManaged;
  return [
    partBanner(MARKER.part3, 'PART 3: user objects on auth and storage tables'),
    "SELECT pg_catalog.set_config('search_path', '', false);",
    `-- ${triggers.length} trigger(s) and ${policies.length} policy(ies) on Supabase-managed tables,`,
    '-- created after all data so they do not fire during the restore.',
    ...triggers,
    ...policies,
    '',
  ].join('\n');
}

export function fileFooter(expectedRows: Map<string, number>): string {
  const total = [...expectedRows.values()].reduce((sum, n) => sum + n, 0);
  return [
    '',
    'COMMIT;',
    '',
    RULE,
    MARKER.end,
    ...[...expectedRows].map(([table, rows]) => `${MARKER.manifestRow}${manifestName(table)} ${rows}`),
    `-- total ${expectedRows.size} tables, ${total} rows`,
    RULE,
    '',
  ].join('\n');
}

function chunksOf(source: PartSource): AsyncIterable<Buffer> {
  return typeof source === 'string' ? (createReadStream(source, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) : source;
}

export async function mergeBackup(input: MergeInput): Promise<MergeResult> {
  // The file as written, read as psql and verify will read it: no foreign meta-command, no statement a
  // backup does not hold (policy.ts). A problem fails the backup; nothing is stored. The policy watches
  // the one scanner that rewrites the file, so the bytes are scanned once.
  const policy = new FilePolicy(dumpLineRewriter({ sourceMajor: input.meta.serverMajor, dumpMajor: input.meta.pgDumpMajor }));
  const scanner = policy.scanner;
  const partBytes = { part1: 0, part2: 0, part3: 0 };
  let sqlBytes = 0;
  const progress = input.progress ?? { sqlBytes: 0, rows: () => 0 };
  progress.rows = () => scanner.rowsSoFar();

  async function* sql(): AsyncGenerator<Buffer> {
    const emit = (text: string): Buffer => scanner.push(Buffer.from(text, 'utf8'));
    const count = (part: keyof typeof partBytes, buf: Buffer): Buffer => {
      partBytes[part] += buf.length;
      sqlBytes += buf.length;
      progress.sqlBytes = sqlBytes;
      return buf;
    };
    yield count('part1', emit(fileHeader(input.meta)));
    yield count('part1', emit(part1Open()));
    for await (const chunk of chunksOf(input.part1)) {
      for (const out of scanner.pushParts(chunk)) yield count('part1', out);
    }
    yield count('part1', emit(part1Close()));
    yield count('part2', emit(part2Open(input.plan)));
    for await (const chunk of chunksOf(input.part2)) {
      for (const out of scanner.pushParts(chunk)) yield count('part2', out);
    }
    yield count('part2', emit(part2Close(input.plan)));
    yield count('part3', emit(part3(input.plan)));
    yield count('part3', emit(fileFooter(await input.expectedRows)));
    yield count('part3', policy.end());
  }

  // The stored bytes (after sealing) are hashed as they go to the file.
  const hash = createHash('sha256');
  async function* hashed(stored: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of stored) {
      hash.update(chunk);
      yield chunk;
    }
  }
  const file = await OutputFile.create(input.outFile);
  let fileBytes = 0;
  try {
    const write = async (stored: AsyncIterable<Buffer>): Promise<void> => {
      fileBytes = await writeInBatches(hashed(stored), file);
    };
    // pipeline takes an async iterable, any number of stream stages and an async function at runtime;
    // its typings do not cover a spread of stages between the two.
    await (pipeline as (...stages: unknown[]) => Promise<void>)(sql(), ...(input.seal ?? []), write, { signal: input.signal });
  } finally {
    await file.close();
  }
  return {
    scan: scanner.report,
    policy: policy.problems,
    partBytes,
    sqlBytes,
    fileBytes,
    sha256: hash.digest('hex'),
  };
}
