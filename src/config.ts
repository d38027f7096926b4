/**
 * The action's inputs, parsed and validated once, up front. Names are a contract (DESIGN.md §4).
 * Every error names the input and lists what it accepts.
 */
import { createPrivateKey } from 'node:crypto';
import { parseS3Url, type S3Location } from './s3/url.js';
import { checkS3Inputs, type S3Inputs } from './s3/settings.js';
import { storageEndpointFor } from './storage/endpoint.js';

/** The action's inputs (action.yml), which are also the CLI's `backup` flags. */
export const INPUT_NAMES = [
  'database-url',
  'destination',
  'output-dir',
  'schemas',
  'exclude-tables',
  'include-audit-log',
  'postgres-version',
  'compression',
  'encryption-recipients',
  'encryption-passphrase',
  'allow-unencrypted-public',
  'signing-key',
  'artifact-name',
  'retention-days',
  'branch',
  'keep',
  'keep-days',
  's3-bucket-url',
  's3-endpoint',
  's3-region',
  's3-force-path-style',
  's3-access-key-id',
  's3-secret-access-key',
  's3-session-token',
  'github-token',
  'verify',
  'verify-database-url',
  'stall-timeout',
  'storage-files',
  'storage-s3-endpoint',
  'storage-s3-region',
  'storage-s3-access-key-id',
  'storage-s3-secret-access-key',
  'storage-files-artifact-limit',
] as const;

/** Destinations, combined with commas (`artifact,s3`), or `none`. */
export const DESTINATIONS = ['artifact', 'branch', 's3'] as const;
export const COMPRESSIONS = ['none', 'gzip', 'zstd'] as const;
export const VERIFY_MODES = ['basic', 'restore'] as const;

export type Compression = (typeof COMPRESSIONS)[number];
export type VerifyMode = (typeof VERIFY_MODES)[number];

export interface Destinations {
  artifact: boolean;
  branch: boolean;
  s3: boolean;
}

/** destination s3: where (s3-bucket-url) and how to reach it (the other s3-* inputs, AWS variables as fallback). */
export interface S3Config {
  location: S3Location;
  inputs: S3Inputs;
}

export type Encryption =
  | { kind: 'none' }
  | { kind: 'recipients'; recipients: string[] }
  | { kind: 'passphrase'; passphrase: string };

export interface BackupConfig {
  databaseUrl: string;
  destinations: Destinations;
  outputDir: string;
  /** `auto` = every schema that is not Supabase-managed. */
  schemas: 'auto' | string[];
  /** `schema.table` names whose rows are left out (their definition is kept). */
  excludeTables: string[];
  includeAuditLog: boolean;
  postgresVersion: 'auto' | number;
  compression: Compression;
  encryption: Encryption;
  allowUnencryptedPublic: boolean;
  /** Ed25519 private key (PKCS#8 PEM) that signs the backup (`<file>.sig`); undefined: unsigned. */
  signingKey: string | undefined;
  artifactName: string | undefined;
  retentionDays: number | undefined;
  branch: string;
  /** Backups kept on the branch and under the bucket prefix, newest first (0: no count rule). */
  keep: number;
  /** Backups in the bucket younger than this many days are kept too (0: no age rule). */
  keepDays: number;
  s3: S3Config | undefined;
  githubToken: string | undefined;
  verify: VerifyMode;
  verifyDatabaseUrl: string | undefined;
  /** Seconds without a byte from the dumps after which the run is stopped (stall-timeout). */
  stallTimeoutSeconds: number;
  /** storage-files: the project's Storage files backed up beside the SQL file (undefined: off). */
  storageFiles?: StorageFilesBackupConfig;
}

/** How to reach the project's Storage through its S3 protocol (storage-s3-* inputs). */
export interface StorageFilesConfig {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** storage-files of a backup: where to read them, and the most bytes an artifact may carry. */
export interface StorageFilesBackupConfig extends StorageFilesConfig {
  /** storage-files-artifact-limit in bytes (used when the files go into the artifact: no s3 destination). */
  artifactLimitBytes: number;
}

/**
 * storage-files-artifact-limit's default, 1 GiB: every artifact holds every file of its backup (none is
 * shared between runs), and artifacts count against the account's Actions storage (500 MB on Free,
 * 2 GB on Team for private repositories), retention-days times over. Beyond that the bucket is the place.
 */
export const DEFAULT_ARTIFACT_FILES_LIMIT = 1024 ** 3;

/**
 * Without the s3 destination the Storage files go into the artifact, in a file store of their own that
 * holds every file of the backup (artifacts expire, and each must restore on its own). With s3 they go
 * into the bucket only.
 */
export function filesGoToArtifact(config: Pick<BackupConfig, 'destinations' | 's3' | 'storageFiles'>): boolean {
  return config.storageFiles !== undefined && config.s3 === undefined && config.destinations.artifact;
}

/** stall-timeout's default: a dump that sends nothing for 5 minutes is taken as stuck. */
export const DEFAULT_STALL_TIMEOUT_SECONDS = 300;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads one input by its action.yml name; returns '' when unset. */
export type InputReader = (name: string) => string;

export function parseConfig(read: InputReader): BackupConfig {
  const get = (name: string): string => read(name).trim();

  const databaseUrl = get('database-url');
  if (!databaseUrl) {
    throw new ConfigError(
      "input 'database-url' is required: store your Supabase session pooler URL as a secret " +
        '(Project Settings > Database > Connection string > Session pooler) and pass it as ' +
        'database-url: ${{ secrets.SUPABASE_DB_URL }}',
    );
  }

  const recipients = splitList(read('encryption-recipients'));
  const passphrase = read('encryption-passphrase');
  if (recipients.length > 0 && passphrase) {
    throw new ConfigError("set either 'encryption-recipients' or 'encryption-passphrase', not both");
  }
  for (const recipient of recipients) {
    // age1… (X25519), age1pq1… (post-quantum hybrid), age1tag1…/age1tagpq1… (tags): bech32 data after the
    // last '1'. The checksum is checked when the encrypter is built (seal.ts), before anything is dumped.
    if (!/^age1(?:[a-z0-9]+1)?[02-9ac-hj-np-z]{20,}$/.test(recipient)) {
      throw new ConfigError(
        `'encryption-recipients' holds '${recipient.slice(0, 12)}…', which is not an age public key; ` +
          "use keys that start with 'age1' (made with: age-keygen -o key.txt)",
      );
    }
  }
  const encryption: Encryption =
    recipients.length > 0
      ? { kind: 'recipients', recipients }
      : passphrase
        ? { kind: 'passphrase', passphrase }
        : { kind: 'none' };

  const verify = oneOf('verify', get('verify') || 'basic', VERIFY_MODES);
  const verifyDatabaseUrl = get('verify-database-url') || undefined;
  if (verify === 'restore' && !verifyDatabaseUrl) {
    throw new ConfigError(
      "'verify: restore' needs 'verify-database-url': an empty scratch database (for example a " +
        'postgres service container) that the backup is restored into',
    );
  }

  const destinations = parseDestinations(get('destination') || 'artifact');
  return {
    databaseUrl,
    destinations,
    outputDir: get('output-dir') || 'backups',
    schemas: parseSchemas(get('schemas') || 'auto'),
    excludeTables: splitPatterns(read('exclude-tables')).map(checkTableName),
    includeAuditLog: parseBoolean('include-audit-log', get('include-audit-log'), false),
    postgresVersion: parsePostgresVersion(get('postgres-version') || 'auto'),
    compression: oneOf('compression', get('compression') || 'none', COMPRESSIONS),
    encryption,
    allowUnencryptedPublic: parseBoolean('allow-unencrypted-public', get('allow-unencrypted-public'), false),
    signingKey: parseSigningKeyInput(read('signing-key')),
    artifactName: parseArtifactName(get('artifact-name')),
    retentionDays: parseOptionalInt('retention-days', get('retention-days'), 1, 90),
    branch: parseBranch(get('branch') || 'backups'),
    keep: parseOptionalInt('keep', get('keep'), 0, 100_000) ?? 30,
    keepDays: parseOptionalInt('keep-days', get('keep-days'), 0, 100_000) ?? 0,
    s3: parseS3Config(read, destinations.s3),
    githubToken: get('github-token') || undefined,
    verify,
    verifyDatabaseUrl,
    stallTimeoutSeconds: parseOptionalInt('stall-timeout', get('stall-timeout'), 1, 86_400) ?? DEFAULT_STALL_TIMEOUT_SECONDS,
    storageFiles: parseStorageFiles(read, databaseUrl, destinations),
  };
}

/** Splits a newline- or comma-separated list, dropping blanks. */
export function splitList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function oneOf<T extends string>(input: string, value: string, accepted: readonly T[]): T {
  const normalised = value.toLowerCase();
  const match = accepted.find((candidate) => candidate === normalised);
  if (match === undefined) {
    throw new ConfigError(`unknown ${input} '${value}'; use ${listWords(accepted)}`);
  }
  return match;
}

function listWords(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

function parseDestinations(value: string): Destinations {
  const parts = value
    .toLowerCase()
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const known = new Set<string>([...DESTINATIONS, 'none']);
  const unknown = parts.find((part) => !known.has(part));
  if (unknown !== undefined || parts.length === 0 || (parts.includes('none') && parts.length > 1)) {
    throw new ConfigError(`unknown destination '${value}'; use ${DESTINATIONS.join(', ')}, a comma-separated combination (artifact,s3) or none`);
  }
  return { artifact: parts.includes('artifact'), branch: parts.includes('branch'), s3: parts.includes('s3') };
}

/** The s3-* inputs are read whatever the destination, and checked only for destination s3. */
function parseS3Config(read: InputReader, wanted: boolean): S3Config | undefined {
  const url = read('s3-bucket-url').trim();
  const inputs: S3Inputs = {
    endpoint: read('s3-endpoint').trim(),
    region: read('s3-region').trim(),
    forcePathStyle: read('s3-force-path-style').trim(),
    accessKeyId: read('s3-access-key-id').trim(),
    secretAccessKey: read('s3-secret-access-key').trim(),
    sessionToken: read('s3-session-token').trim(),
  };
  if (!wanted) return undefined;
  if (!url) throw new ConfigError("'destination: s3' needs 's3-bucket-url', the bucket and prefix to store backups under, e.g. s3://my-backups/supabase");
  let location: S3Location;
  try {
    location = parseS3Url(url);
  } catch (error) {
    throw new ConfigError(`'s3-bucket-url': ${(error as Error).message}`);
  }
  const problem = checkS3Inputs(inputs);
  if (problem) throw new ConfigError(problem);
  return { location, inputs };
}

/** storage-files: true — the Storage S3 endpoint (derived from the database URL when not given) and its keys. */
function parseStorageFiles(read: InputReader, databaseUrl: string, destinations: Destinations): StorageFilesBackupConfig | undefined {
  const given = {
    endpoint: read('storage-s3-endpoint').trim(),
    region: read('storage-s3-region').trim(),
    accessKeyId: read('storage-s3-access-key-id').trim(),
    secretAccessKey: read('storage-s3-secret-access-key').trim(),
  };
  const artifactLimitBytes = parseByteSize('storage-files-artifact-limit', read('storage-files-artifact-limit').trim()) ?? DEFAULT_ARTIFACT_FILES_LIMIT;
  if (!parseBoolean('storage-files', read('storage-files').trim(), false)) return undefined;
  if (!destinations.s3 && !destinations.artifact) {
    throw new ConfigError(
      "'storage-files: true' stores the files beside the backup in the s3 destination (any size, incremental) or in the " +
        "artifact (small projects, up to 'storage-files-artifact-limit'): add s3 or artifact to 'destination'",
    );
  }
  const derived = storageEndpointFor(databaseUrl);
  const endpoint = given.endpoint || derived.endpoint;
  if (!endpoint) {
    throw new ConfigError(
      "'storage-files: true' needs 'storage-s3-endpoint' (Project Settings > Storage > S3 Connection, " +
        'https://<project-ref>.storage.supabase.co/storage/v1/s3): it cannot be derived from this database-url',
    );
  }
  if (!/^https?:\/\/[^/\s]+/.test(endpoint)) throw new ConfigError(`'storage-s3-endpoint' is '${endpoint}'; give a URL such as https://<ref>.storage.supabase.co/storage/v1/s3`);
  const region = given.region || derived.region;
  if (!region) {
    throw new ConfigError("'storage-files: true' needs 'storage-s3-region', the project's region (e.g. eu-central-1): it cannot be derived from this database-url");
  }
  const { accessKeyId, secretAccessKey } = given;
  if (!accessKeyId || !secretAccessKey) {
    throw new ConfigError(
      "'storage-files: true' needs 'storage-s3-access-key-id' and 'storage-s3-secret-access-key': S3 access keys made in " +
        'Project Settings > Storage > S3 Access Keys, passed from secrets',
    );
  }
  return { endpoint, region, accessKeyId, secretAccessKey, artifactLimitBytes };
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `500MB`, `2 GB`, `1.5GiB`, `1048576`: binary units (a GB is 1024³ bytes), at least 1 MB. */
function parseByteSize(input: string, value: string): number | undefined {
  if (value === '') return undefined;
  const match = /^(\d{1,9}(?:\.\d{1,3})?)\s*([kmgt]?)(?:i?b)?$/i.exec(value);
  const bytes = match ? Math.floor(Number(match[1]) * BYTE_UNITS[match[2]!.toLowerCase()]!) : NaN;
  if (!(bytes >= 1024 ** 2) || bytes > 1024 ** 5) {
    throw new ConfigError(`'${input}' must be a size such as 500MB or 2GB (from 1MB; KB, MB, GB, TB are 1024-based), not '${value}'`);
  }
  return bytes;
}

function parseSchemas(value: string): 'auto' | string[] {
  if (value.toLowerCase() === 'auto') return 'auto';
  const schemas = splitList(value);
  for (const schema of schemas) {
    if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(schema)) {
      throw new ConfigError(`'schemas' holds '${schema}', which is not a schema name; use auto or a list like public,private`);
    }
  }
  if (schemas.length === 0) throw new ConfigError("'schemas' is empty; use auto or a list like public,private");
  return schemas;
}

function checkTableName(name: string): string {
  if (!parseTablePattern(name)) {
    throw new ConfigError(`'exclude-tables' holds '${name}'; name tables as schema.table (e.g. public.audit_events)`);
  }
  return name;
}

/** Splits a list on commas and newlines outside double quotes (a quoted name may hold either). */
export function splitPatterns(value: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (const c of value) {
    if (c === '"') quoted = !quoted;
    if (!quoted && (c === ',' || c === '\n')) {
      items.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  items.push(current);
  return items.map((item) => item.trim()).filter((item) => item.length > 0);
}

/** A `schema.table` pattern of exclude-tables, each part matched against a name as PostgreSQL stores it. */
export interface TablePattern {
  schema: RegExp;
  table: RegExp;
}

/**
 * `schema.table` with PostgreSQL's identifier rules, as pg_dump reads its patterns: an unquoted part is
 * folded to lower case and may use `*` (any characters) and `?` (one character); a quoted part
 * (`"Reporting"."Monthly Totals"`, `""` for a quote) keeps its case, spaces and dots, and its `*` and
 * `?` are plain characters. null when the text is not that shape.
 */
export function parseTablePattern(text: string): TablePattern | null {
  const parts: string[] = [''];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      if (quoted && text[i + 1] === '"') {
        parts[parts.length - 1] += '\\"';
        i++;
      } else {
        quoted = !quoted;
      }
      continue;
    }
    if (quoted) {
      parts[parts.length - 1] += escapeRegex(c);
    } else if (c === '.') {
      parts.push('');
    } else if (c === '*') {
      parts[parts.length - 1] += '.*';
    } else if (c === '?') {
      parts[parts.length - 1] += '.';
    } else if (/[\p{L}\p{N}_$]/u.test(c)) {
      parts[parts.length - 1] += escapeRegex(c.toLowerCase());
    } else {
      return null;
    }
  }
  if (quoted || parts.length !== 2 || parts.some((part) => part.length === 0)) return null;
  return { schema: new RegExp(`^(?:${parts[0]})$`, 's'), table: new RegExp(`^(?:${parts[1]})$`, 's') };
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function parseBoolean(input: string, value: string, fallback: boolean): boolean {
  if (value === '') return fallback;
  const normalised = value.toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(normalised)) return true;
  if (['false', 'no', 'off', '0'].includes(normalised)) return false;
  throw new ConfigError(`unknown ${input} '${value}'; use true or false`);
}

function parsePostgresVersion(value: string): 'auto' | number {
  if (value.toLowerCase() === 'auto') return 'auto';
  const major = wholeNumber(value);
  if (major === undefined || major < 13 || major > 99) {
    throw new ConfigError(`unknown postgres-version '${value}'; use auto or a major version such as 15 or 17`);
  }
  return major;
}

function parseOptionalInt(input: string, value: string, min: number, max: number): number | undefined {
  if (value === '') return undefined;
  const number = wholeNumber(value);
  if (number === undefined || number < min || number > max) {
    throw new ConfigError(`'${input}' must be a whole number from ${min} to ${max}, not '${value}'`);
  }
  return number;
}

/** Plain decimal digits only: Number() alone would also take '1e2', '0x1E', '30.0' and '+5'. */
function wholeNumber(value: string): number | undefined {
  return /^[0-9]{1,9}$/.test(value) ? Number(value) : undefined;
}

function parseArtifactName(value: string): string | undefined {
  if (value === '') return undefined;
  const bad = value.match(/[:/\\"<>|*?\r\n]/);
  if (bad) {
    throw new ConfigError(`'artifact-name' may not contain '${bad[0]}' (nor any of : / \\ " < > | * ?)`);
  }
  return value;
}

/** `signing-key`: an Ed25519 private key in PEM, checked here so a bad key fails before anything runs (never shown). */
function parseSigningKeyInput(value: string): string | undefined {
  const pem = value.trim();
  if (pem === '') return undefined;
  let type: string | undefined;
  try {
    type = createPrivateKey({ key: pem, format: 'pem' }).asymmetricKeyType;
  } catch {
    throw new ConfigError("'signing-key' is not a PEM private key: make one with `openssl genpkey -algorithm ed25519 -out signing-key.pem`");
  }
  if (type !== 'ed25519') throw new ConfigError(`'signing-key' is a ${type ?? 'unknown'} key; it must be an Ed25519 key (openssl genpkey -algorithm ed25519)`);
  return `${pem}\n`;
}

/**
 * A plain branch name, as `git check-ref-format --branch` accepts it and more strictly: not HEAD, not a
 * full ref (`refs/…`), no component that starts with '.' or ends with '.lock', no '..', '//' or '@{'.
 */
function parseBranch(value: string): string {
  const components = value.split('/');
  if (
    !/^[A-Za-z0-9._/-]+$/.test(value) ||
    value.startsWith('-') ||
    value.includes('..') ||
    value.endsWith('/') ||
    value.endsWith('.') ||
    value === 'HEAD' ||
    value.startsWith('refs/') ||
    components.some((c) => c === '' || c.startsWith('.') || c.endsWith('.lock'))
  ) {
    throw new ConfigError(`'branch' is '${value}', which is not a plain branch name; use something like backups`);
  }
  return value;
}
