/** Shared bits of the publish tests: a recording logger, a config, and a backup file to publish. */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BackupConfig } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import type { PublishInput } from '../../src/publish/index.js';

export interface RecordingLogger extends Logger {
  infos: string[];
  warnings: string[];
  secrets: string[];
  /** Everything written, for "the token never shows" checks. */
  all(): string;
}

export function recordingLogger(): RecordingLogger {
  const infos: string[] = [];
  const warnings: string[] = [];
  const secrets: string[] = [];
  return {
    infos,
    warnings,
    secrets,
    info: (message) => void infos.push(message),
    warning: (message) => void warnings.push(message),
    secret: (value) => void secrets.push(value),
    all: () => [...infos, ...warnings].join('\n'),
  };
}

export function publishConfig(overrides: Partial<BackupConfig> = {}): BackupConfig {
  return {
    databaseUrl: 'postgresql://postgres:secret@127.0.0.1:5432/postgres',
    destinations: { artifact: true, branch: false, s3: false },
    outputDir: 'backups',
    schemas: 'auto',
    excludeTables: [],
    includeAuditLog: false,
    postgresVersion: 'auto',
    compression: 'none',
    encryption: { kind: 'none' },
    allowUnencryptedPublic: false,
    signingKey: undefined,
    artifactName: undefined,
    retentionDays: undefined,
    branch: 'backups',
    keep: 30,
    keepDays: 0,
    s3: undefined,
    githubToken: undefined,
    verify: 'basic',
    verifyDatabaseUrl: undefined,
    stallTimeoutSeconds: 300,
    ...overrides,
  };
}

/** The file name runBackup would give a backup made at `at` with this content. */
export function backupName(at: Date, content: Buffer, suffix = '.sql'): string {
  const sha = createHash('sha256').update(content).digest('hex');
  return `full_${at.toISOString().replace(/[:.]/g, '-')}_${sha.slice(0, 8)}${suffix}`;
}

/** Writes a backup-like file into `dir` and returns what runBackup would have returned about it. */
export async function writeBackup(
  dir: string,
  options: { at?: Date; content?: Buffer; suffix?: string } = {},
): Promise<PublishInput> {
  const at = options.at ?? new Date('2026-11-29T23:45:00.000Z');
  const content =
    options.content ??
    Buffer.from(`-- COMPLETE DATABASE BACKUP\n-- Generated: ${at.toISOString()}\nBEGIN;\nCOMMIT;\n-- END OF BACKUP\n`);
  const file = backupName(at, content, options.suffix);
  const filePath = path.join(dir, file);
  await writeFile(filePath, content, { mode: 0o600 });
  return {
    path: filePath,
    file,
    bytes: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
    authUsers: 3,
    tables: 12,
    rows: 345,
  };
}
