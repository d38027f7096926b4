/**
 * The command line: the same core as the action, without GitHub.
 *
 *   supabase-complete-backup backup  [--database-url URL | $DATABASE_URL] [--output-dir D] [action inputs as flags]
 *   supabase-complete-backup restore (--file F | --dir D | --branch B | --s3 URL) --database-url URL [--identity KEY] [--force]
 *   supabase-complete-backup verify  (--file F | --dir D | --branch B | --s3 URL) [--identity KEY]
 *   supabase-complete-backup list    (--dir D | --branch B | --s3 URL) [--identity KEY] [--json]
 *
 * Exit codes: 0 done, 1 failed, 2 wrong usage, 3 restore refused (nothing written).
 */
import type { KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backupDatabases, runBackup } from '../backup/pipeline.js';
import { INPUT_NAMES, parseConfig } from '../config.js';
import { type BackupEntry, extractBlob, listBranch, listDirectory } from '../restore/listing.js';
import { consoleLogger, formatBytes, terminalLogger } from '../log.js';
import { parseDatabase } from '../postgres/connection.js';
import { RestoreRefusedError, restoreBackup } from '../restore/restore.js';
import { filesBesideBackup, restoreFilesAfterSql } from './files.js';
import { checkRecordedSha256, FilePolicy, PolicyError, sha256OfFile } from '../sql/policy.js';
import { checkSignatureFile, parsePublicKey, SIGNATURE_SUFFIX, SignatureError } from '../publish/signature.js';
import { type Keys, openPlain, readIdentityFile } from '../restore/unseal.js';
import { checkScan } from '../sql/verify.js';
import { letHeapGrowForStreaming } from '../heap.js';

const USAGE = `supabase-complete-backup — back up, check, list and restore Supabase databases

usage:
  supabase-complete-backup backup [--database-url URL] [--output-dir DIR] [--schemas auto|a,b] [--verify basic|restore]
                                  [--verify-database-url URL] [any other action input as --name value]
      Backs up the database at --database-url (or $DATABASE_URL) into DIR (default: backups).

  supabase-complete-backup restore (--file FILE | --dir DIR | --branch BRANCH [--repo REPO] | --s3 URL [S3 flags])
                                   --database-url URL [--identity KEYFILE | --passphrase P] [--public-key FILE] [--force]
      Restores a backup (.sql, .sql.gz, .sql.zst, .age) into a Supabase database in one transaction. Checks first that
      the target is a Supabase database and that no user, identity, bucket or object of the backup exists
      there already (else refuses and lists them; --force goes ahead anyway). --dir and --branch take the
      newest backup there, --s3 s3://bucket/prefix the newest complete one under the prefix (or
      s3://bucket/prefix/full_….sql… that one). The URL may also come from $RESTORE_DATABASE_URL, the passphrase from
      $BACKUP_PASSPHRASE; without either, an encrypted file asks for the passphrase.
      Before anything runs, the file must match the sha256 in its name and hold nothing a backup does not
      (no psql meta-command but its own, no role or managed-schema statement). With --public-key FILE (or
      $BACKUP_PUBLIC_KEY), it must also carry a valid Ed25519 signature (<file>.sig) made with signing-key.
      --storage-files [--files-from s3://BUCKET/PREFIX | DIR] [--storage-s3-endpoint URL --storage-s3-region R]:
      then the backup's Storage files into the target's Storage (keys in $STORAGE_S3_ACCESS_KEY_ID and
      $STORAGE_S3_SECRET_ACCESS_KEY; a bucket read with the AWS_* variables), each read back and hashed.
      DIR is an artifact downloaded and unzipped (it holds storage-files/). Default: the folder of --s3, or
      the folder of the --file/--dir backup when it holds storage-files/ (else <file>.files beside it).

  supabase-complete-backup verify (--file FILE | --dir DIR | --branch BRANCH [--repo REPO] | --s3 URL [S3 flags])
                                  [--identity KEYFILE | --passphrase P]
                                  [--public-key FILE]
      The streaming checks of a backup file, without a database: signature (with --public-key), sha256 of
      its bytes against its name, the file policy (no foreign meta-command or statement), header, PART
      markers, one transaction, complete manifest, rows of every table in the file equal to the manifest.

  supabase-complete-backup list (--dir DIR | --branch BRANCH [--repo REPO] | --s3 URL [S3 flags])
                                [--identity KEYFILE | --passphrase P] [--json]
      The backups there, newest first, with size and the row counts of their manifests.
      --branch reads the branch (e.g. backups, or origin/backups after git fetch) of the git repository
      REPO (default: the current directory). --s3 s3://bucket/prefix reads the manifest objects beside
      the backups (nothing is downloaded).

  S3 flags: [--s3-endpoint URL] [--s3-region R] [--s3-force-path-style true|false]; the credentials come
      from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) or the AWS profile, never
      from flags; AWS_ENDPOINT_URL_S3 and AWS_REGION work too.

exit codes: 0 done, 1 failed, 2 wrong usage, 3 restore refused (nothing was written)`;

class UsageError extends Error {
  override name = 'UsageError';
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'backup':
        return await backupCommand(rest);
      case 'restore':
        return await restoreCommand(rest);
      case 'verify':
        return await verifyCommand(rest);
      case 'list':
        return await listCommand(rest);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`✖ ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

/** restore --storage-files: where the files are, and the target's Storage (keys from the environment only). */
const FILES_FLAGS = {
  'storage-files': { type: 'boolean' },
  'files-from': { type: 'string' },
  'storage-s3-endpoint': { type: 'string' },
  'storage-s3-region': { type: 'string' },
} as const;

const SOURCE_FLAGS = {
  file: { type: 'string' },
  dir: { type: 'string' },
  branch: { type: 'string' },
  repo: { type: 'string' },
  identity: { type: 'string' },
  passphrase: { type: 'string' },
  'public-key': { type: 'string' },
  s3: { type: 'string' },
  's3-endpoint': { type: 'string' },
  's3-region': { type: 'string' },
  's3-force-path-style': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The non-secret S3 flags (credentials come from the environment only). */
function s3Flags(values: { 's3-endpoint'?: string; 's3-region'?: string; 's3-force-path-style'?: string }): { endpoint: string; region: string; forcePathStyle: string } {
  return { endpoint: values['s3-endpoint'] ?? '', region: values['s3-region'] ?? '', forcePathStyle: values['s3-force-path-style'] ?? '' };
}

/**
 * --public-key FILE (or $BACKUP_PUBLIC_KEY, the PEM itself): when given, the backup must carry a valid
 * signature (`<file>.sig`) made with its private key, checked before anything else.
 */
async function publicKeyFrom(values: { 'public-key'?: string }): Promise<KeyObject | undefined> {
  const pem = values['public-key'] ? await readFile(values['public-key'], 'utf8') : process.env.BACKUP_PUBLIC_KEY;
  return pem ? parsePublicKey(pem) : undefined;
}

/** The signature check of a picked file; returns the refusal, or null when it is signed by the key. */
async function signatureProblem(picked: Picked, key: KeyObject | undefined): Promise<string | null> {
  if (!key) {
    const sig = picked.signature ?? `${picked.file}${SIGNATURE_SUFFIX}`;
    if (await stat(sig).then(() => true, () => false)) {
      consoleLogger.warning(`${picked.label} is signed, but no --public-key (or BACKUP_PUBLIC_KEY) was given: its signature is not checked`);
    }
    return null;
  }
  try {
    await checkSignatureFile(picked.file, await sha256OfFile(picked.file), key, picked.signature ?? `${picked.file}${SIGNATURE_SUFFIX}`, path.basename(picked.label));
    return null;
  } catch (error) {
    if (error instanceof SignatureError) return `${picked.label} is refused: ${error.message}. Nothing was run.`;
    throw error;
  }
}

async function backupCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    // The flags are the action's inputs, with the same names and meanings.
    options: {
      ...Object.fromEntries(INPUT_NAMES.map((flag) => [flag, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const flags = values as Record<string, string | undefined>;
  const defaults: Record<string, string | undefined> = {
    'database-url': process.env.DATABASE_URL,
    destination: 'none',
    'encryption-passphrase': process.env.BACKUP_PASSPHRASE,
  };
  const config = parseConfig((name) => flags[name] ?? defaults[name] ?? '');
  if (config.destinations.artifact || config.destinations.branch || config.destinations.s3) {
    // The CLI writes the file to --output-dir and nothing else: say so instead of ignoring the flag.
    throw new UsageError(
      `--destination ${flags.destination}: the command line writes the backup to --output-dir only (destination none); ` +
        'artifacts, the backups branch and buckets are published by the GitHub Action',
    );
  }
  for (const [flag, variable] of Object.entries({ 'database-url': 'DATABASE_URL', 'encryption-passphrase': 'BACKUP_PASSPHRASE' })) {
    if (flags[flag]) consoleLogger.warning(`--${flag} puts a secret on the command line, where other users of this machine can read it (ps); prefer the ${variable} environment variable`);
  }
  // The URLs, parsed once here; the pipeline receives the connections.
  const databases = backupDatabases(config);
  // Ctrl-C / SIGTERM: stop pg_dump and remove temporary files; a second one exits at once (cleanup.ts).
  const abort = new AbortController();
  const onSignal = (): void => (abort.signal.aborted ? process.exit(130) : abort.abort(new Error('cancelled')));
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  // Never run apt-get/sudo on someone's own machine unless asked to; on a CI runner it is the point.
  const result = await runBackup(config, terminalLogger(), {
    installClient: process.env.CI === 'true' || process.env.GITHUB_ACTIONS === 'true',
    signal: abort.signal,
    databases,
  }).finally(() => process.off('SIGINT', onSignal).off('SIGTERM', onSignal));
  console.log(result.path);
  return 0;
}

interface Picked {
  /** Where its signature is, when not beside it as `<file>.sig`. */
  signature?: string;
  file: string;
  label: string;
  cleanup: () => Promise<void>;
}

type SourceValues = { file?: string; dir?: string; branch?: string; repo?: string; s3?: string } & Parameters<typeof s3Flags>[0];

/** The file a command works on: --file, or the newest backup of --dir, --branch or --s3. */
async function pickBackup(values: SourceValues, keys: Keys): Promise<Picked> {
  const given = [values.file, values.dir, values.branch, values.s3].filter((v) => v !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --file, --dir, --branch and --s3');
  const none = async (): Promise<void> => undefined;
  if (values.file) return { file: values.file, label: values.file, cleanup: none };
  if (values.s3) {
    // Loaded only here: the S3 client is large.
    const { downloadS3Backup } = await import('../restore/s3.js');
    return downloadS3Backup(values.s3, s3Flags(values), process.env, (line) => console.log(line));
  }
  const listed = values.dir ? await listDirectory(values.dir, keys) : await listBranch(values.repo ?? '.', values.branch!, keys);
  const newest = listed[0];
  if (!newest) throw new Error(`no backups (full_*.sql, .sql.gz, .sql.zst, .age) in ${values.dir ?? `branch ${values.branch}`}`);
  console.log(`📦 Newest backup: ${newest.location} (${formatBytes(newest.bytes)}, ${newest.time.toISOString()})`);
  if (values.dir) return { file: newest.location, label: newest.name, cleanup: none };
  const dir = await mkdtemp(path.join(tmpdir(), 'supabase-backup-'));
  const file = path.join(dir, newest.name);
  await extractBlob(values.repo ?? '.', newest.blob!, file);
  // Its signature, when the branch has one beside it (a missing one is refused only with --public-key).
  await extractBlob(values.repo ?? '.', `${newest.location}${SIGNATURE_SUFFIX}`, `${file}${SIGNATURE_SUFFIX}`).catch(() =>
    rm(`${file}${SIGNATURE_SUFFIX}`, { force: true }),
  );
  return { file, label: newest.name, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function keysFrom(values: { identity?: string; passphrase?: string }): Promise<Keys> {
  const identities = values.identity ? await readIdentityFile(values.identity) : [];
  const passphrase = values.passphrase ?? process.env.BACKUP_PASSPHRASE ?? undefined;
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  return {
    identities,
    ...(passphrase ? { passphrase } : {}),
    ...(interactive ? { askPassphrase: () => askHidden('Passphrase of the encrypted backup: ') } : {}),
  };
}

async function restoreCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...SOURCE_FLAGS,
      'database-url': { type: 'string' },
      force: { type: 'boolean' },
      ...FILES_FLAGS,
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const databaseUrl = values['database-url'] ?? process.env.RESTORE_DATABASE_URL;
  if (!databaseUrl) throw new UsageError('restore needs --database-url URL (or RESTORE_DATABASE_URL): the Supabase database to restore into');
  const target = parseDatabase(databaseUrl);
  const publicKey = await publicKeyFrom(values);
  const keys = await keysFrom(values);
  const picked = await pickBackup(values, keys);
  try {
    const unsigned = await signatureProblem(picked, publicKey);
    if (unsigned) {
      console.error(`✖ ${unsigned}`);
      return 1;
    }
    const outcome = await restoreBackup({
      file: picked.file,
      label: picked.label,
      target,
      keys: await onceAsked(keys),
      force: values.force ?? false,
      log: terminalLogger(),
    });
    const width = Math.max(5, ...outcome.counts.map((c) => c.table.length));
    const total = outcome.counts.reduce((sum, c) => sum + c.inBackup, 0);
    console.log(`\n✔ Restored ${picked.label} in ${outcome.seconds} s (PostgreSQL ${outcome.serverVersion}, psql ${outcome.psql.version})\n`);
    console.log(`  ${'Table'.padEnd(width)}  ${'Backup'.padStart(8)}  ${'Target'.padStart(8)}`);
    for (const count of outcome.counts) {
      console.log(`  ${count.table.padEnd(width)}  ${String(count.inBackup).padStart(8)}  ${String(count.inTarget).padStart(8)}`);
    }
    console.log(`\n  ${outcome.counts.length} tables, ${total} rows restored.`);
    if (values['storage-files']) {
      const files = await restoreFilesAfterSql({
        backupFile: picked.file,
        // --files-from; else the folder of --s3, or the unzipped artifact (or `<file>.files`) a local file is in.
        filesFrom:
          values['files-from'] ??
          (values.s3 ? values.s3.replace(/\/full_[^/]*$/, '/') : values.file || values.dir ? await filesBesideBackup(picked.file) : undefined),
        bucketFlags: s3Flags(values),
        targetUrl: databaseUrl,
        target,
        endpoint: values['storage-s3-endpoint'],
        region: values['storage-s3-region'],
        identities: keys.identities,
        passphrase: keys.passphrase,
        log: terminalLogger(),
      });
      console.log(`  ${files.restored} Storage files restored (${formatBytes(files.bytes)}), each read back and checked against its sha256.`);
    }
    console.log(
      `\nNot in a backup, bring them back by hand: ${values['storage-files'] ? '' : 'storage files, '}Auth settings and JWT secrets, passwords of your own\n` +
        'login roles, cron jobs, database webhooks, Vault secrets (see docs/restore.md).' +
        (values['storage-files'] ? '' : '\nStorage files are restored by --storage-files when the backup has them (storage-files: true; docs/storage-files.md).'),
    );
    return 0;
  } catch (error) {
    if (error instanceof RestoreRefusedError) {
      console.error(`✖ Restore refused: ${error.message}`);
      return 3;
    }
    throw error;
  } finally {
    await picked.cleanup();
  }
}

/** Asks for a passphrase at most once even though the file is read twice. */
async function onceAsked(keys: Keys): Promise<Keys> {
  if (!keys.askPassphrase) return keys;
  let asked: Promise<string> | undefined;
  const ask = keys.askPassphrase;
  return { ...keys, askPassphrase: () => (asked ??= ask()) };
}

async function verifyCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: SOURCE_FLAGS, strict: true });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const publicKey = await publicKeyFrom(values);
  const keys = await onceAsked(await keysFrom(values));
  const picked = await pickBackup(values, keys);
  try {
    const unsigned = await signatureProblem(picked, publicKey);
    if (unsigned) {
      console.error(`✖ ${unsigned}`);
      return 1;
    }
    const stored = await checkRecordedSha256(picked.file);
    if (stored.problem) {
      console.error(`✖ ${picked.label} is refused: ${stored.problem}`);
      return 1;
    }
    if (stored.unchecked) consoleLogger.warning(`${picked.label} is not named full_<time>_<sha256 prefix>.sql…: its bytes cannot be checked against its name`);
    const policy = new FilePolicy();
    const scanner = policy.scanner;
    const opened = await openPlain(picked.file, keys);
    try {
      for await (const chunk of opened.stream) policy.push(chunk as Buffer);
    } catch (error) {
      scanner.finish();
      console.error(`✖ ${picked.label} cannot be read to its end: ${(error as Error).message}`);
      return 1;
    }
    const refused = policy.finish();
    if (refused.length > 0) {
      console.error(`✖ ${new PolicyError(picked.label, refused).message}`);
      return 1;
    }
    const outcome = checkScan(scanner.report);
    outcome.warnings.forEach((warning) => consoleLogger.warning(warning));
    if (outcome.problems.length > 0) {
      console.error(`✖ ${picked.label} failed verification:\n  - ${outcome.problems.join('\n  - ')}`);
      return 1;
    }
    const sealed = [opened.sealing.age ? 'decrypted' : '', opened.sealing.gzip || opened.sealing.zstd ? 'decompressed' : ''].filter(Boolean).join(', ');
    console.log(
      `✔ ${picked.label}${sealed ? ` (${sealed})` : ''}: ${outcome.tables} tables, ${outcome.rows} rows, ${outcome.authUsers} users; ` +
        'header, markers, transaction and manifest consistent',
    );
    return 0;
  } finally {
    await picked.cleanup();
  }
}

async function listCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...SOURCE_FLAGS, json: { type: 'boolean' } }, strict: true });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.file !== undefined || [values.dir, values.branch, values.s3].filter((v) => v !== undefined).length !== 1) {
    throw new UsageError('list needs exactly one of --dir, --branch and --s3');
  }
  const keys: Keys = {
    identities: values.identity ? await readIdentityFile(values.identity) : [],
    ...((values.passphrase ?? process.env.BACKUP_PASSPHRASE) ? { passphrase: values.passphrase ?? process.env.BACKUP_PASSPHRASE } : {}),
  };
  const where = values.dir ?? values.s3 ?? `branch ${values.branch} of ${path.resolve(values.repo ?? '.')}`;
  const entries = values.dir
    ? await listDirectory(values.dir, keys)
    : values.s3
      ? await (await import('../restore/s3.js')).listS3(values.s3, s3Flags(values))
      : await listBranch(values.repo ?? '.', values.branch!, keys);
  if (values.json) {
    console.log(JSON.stringify(entries.map(toJson), null, 2));
    return 0;
  }
  if (entries.length === 0) {
    console.log(`No backups in ${where}.`);
    return 0;
  }
  console.log(`${entries.length} backup(s) in ${where}, newest first:\n`);
  const nameWidth = Math.max(...entries.map((e) => e.name.length));
  for (const entry of entries) {
    const when = entry.time.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
    const what = entry.manifest
      ? `${entry.manifest.authUsers} users, ${entry.manifest.tables} tables, ${entry.manifest.total} rows`
      : (entry.note ?? '');
    console.log(`  ${when}  ${entry.name.padEnd(nameWidth)}  ${formatBytes(entry.bytes).padStart(10)}  ${what}`);
  }
  return 0;
}

function toJson(entry: BackupEntry): Record<string, unknown> {
  return {
    name: entry.name,
    time: entry.time.toISOString(),
    bytes: entry.bytes,
    location: entry.location,
    compressed: entry.sealing.gzip || entry.sealing.zstd,
    encrypted: entry.sealing.age,
    tables: entry.manifest?.tables ?? null,
    rows: entry.manifest?.total ?? null,
    authUsers: entry.manifest?.authUsers ?? null,
    rowsByTable: entry.manifest ? Object.fromEntries(entry.manifest.rows) : null,
    ...(entry.note ? { note: entry.note } : {}),
  };
}

/** Reads a line from the terminal without echoing it. */
function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    let answer = '';
    const done = (error?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (data: Buffer): void => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') return done(new Error('cancelled'));
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

letHeapGrowForStreaming();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`✖ ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
