/**
 * parseConfig: the inputs as a user writes them. Every enumerated input rejects a wrong value up front
 * with an error that names the input and lists what it accepts; empty inputs take the defaults.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, parseTablePattern, splitList, type BackupConfig } from '../src/config.js';

const URL = 'postgresql://postgres.abcdefghijklmnop:secret@aws-0-eu-central-1.pooler.supabase.com:5432/postgres';
const AGE_KEY = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const AGE_KEY_2 = 'age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg';

function config(inputs: Record<string, string> = {}): BackupConfig {
  return parseConfig((name) => ({ 'database-url': URL, ...inputs })[name] ?? '');
}

function errorOf(inputs: Record<string, string>): ConfigError {
  try {
    config(inputs);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(inputs)}`);
}

describe('defaults', () => {
  it('gives the documented defaults when only database-url is set', () => {
    expect(config()).toEqual({
      databaseUrl: URL,
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
    } satisfies BackupConfig);
  });

  it('treats blank values as unset', () => {
    const blank = Object.fromEntries(
      ['destination', 'output-dir', 'schemas', 'compression', 'verify', 'keep', 'branch', 'postgres-version'].map(
        (name) => [name, '   '],
      ),
    );
    expect(config(blank)).toEqual(config());
  });

  it('trims the database URL and requires it, saying where to find it', () => {
    expect(config({ 'database-url': `  ${URL}\n` }).databaseUrl).toBe(URL);
    const error = errorOf({ 'database-url': '  ' });
    expect(error.message).toContain("input 'database-url' is required");
    expect(error.message).toContain('Session pooler');
  });
});

describe('destination', () => {
  it.each([
    ['artifact', { artifact: true, branch: false, s3: false }],
    ['branch', { artifact: false, branch: true, s3: false }],
    ['artifact,branch', { artifact: true, branch: true, s3: false }],
    ['branch, artifact', { artifact: true, branch: true, s3: false }],
    ['none', { artifact: false, branch: false, s3: false }],
    ['ARTIFACT', { artifact: true, branch: false, s3: false }],
  ])('accepts %j', (value, destinations) => {
    expect(config({ destination: value }).destinations).toEqual(destinations);
  });

  it('rejects a misspelling with the accepted values, exactly as the issue shows', () => {
    expect(errorOf({ destination: 'artefact' }).message).toBe(
      "unknown destination 'artefact'; use artifact, branch, s3, a comma-separated combination (artifact,s3) or none",
    );
  });

  it.each(['s4', 'none,artifact', 'artifact,,none', ','])('rejects %j', (value) => {
    expect(errorOf({ destination: value }).message).toMatch(/^unknown destination '.*'; use artifact, branch, s3, a comma-separated combination \(artifact,s3\) or none$/);
  });
});

describe('destination s3', () => {
  it('combines with the others and reads the bucket URL and the s3 inputs', () => {
    const parsed = config({ destination: 'artifact,s3', 's3-bucket-url': 's3://my-backups/db', 's3-endpoint': 'https://x.r2.cloudflarestorage.com', 'keep-days': '14' });
    expect(parsed.destinations).toEqual({ artifact: true, branch: false, s3: true });
    expect(parsed.keepDays).toBe(14);
    expect(parsed.s3).toEqual({
      location: { bucket: 'my-backups', prefix: 'db/' },
      inputs: { endpoint: 'https://x.r2.cloudflarestorage.com', region: '', forcePathStyle: '', accessKeyId: '', secretAccessKey: '', sessionToken: '' },
    });
  });

  it.each([
    [{}, "'destination: s3' needs 's3-bucket-url'"],
    [{ 's3-bucket-url': 'https://bucket/x' }, "'s3-bucket-url': 'https://bucket/x' is not an s3:// URL"],
    [{ 's3-bucket-url': 's3://b' }, "'s3-bucket-url': 'b' is not a bucket name"],
    [{ 's3-bucket-url': 's3://bucket', 's3-force-path-style': 'maybe' }, "unknown s3-force-path-style 'maybe'"],
    [{ 's3-bucket-url': 's3://bucket', 's3-access-key-id': 'AKIA1' }, "set both 's3-access-key-id' and 's3-secret-access-key'"],
    [{ 's3-bucket-url': 's3://bucket', 's3-endpoint': 'minio:9000' }, "'s3-endpoint' is 'minio:9000'"],
  ])('refuses %j, naming the input', (inputs, message) => {
    expect(errorOf({ destination: 's3', ...inputs }).message).toContain(message);
  });
});

describe('enumerated inputs list what they accept', () => {
  it.each([
    ['compression', 'zip', "unknown compression 'zip'; use none, gzip or zstd"],
    ['compression', 'gz', "unknown compression 'gz'; use none, gzip or zstd"],
    ['verify', 'full', "unknown verify 'full'; use basic or restore"],
    ['include-audit-log', 'maybe', "unknown include-audit-log 'maybe'; use true or false"],
    ['allow-unencrypted-public', 'sure', "unknown allow-unencrypted-public 'sure'; use true or false"],
    ['postgres-version', 'latest', "unknown postgres-version 'latest'; use auto or a major version such as 15 or 17"],
    ['postgres-version', '17.6', "unknown postgres-version '17.6'; use auto or a major version such as 15 or 17"],
    ['postgres-version', '12', "unknown postgres-version '12'; use auto or a major version such as 15 or 17"],
    ['postgres-version', '0x11', "unknown postgres-version '0x11'; use auto or a major version such as 15 or 17"],
    ['keep', 'all', "'keep' must be a whole number from 0 to 100000, not 'all'"],
    ['keep', '-1', "'keep' must be a whole number from 0 to 100000, not '-1'"],
    ['keep', '2.5', "'keep' must be a whole number from 0 to 100000, not '2.5'"],
    ['keep', '1e3', "'keep' must be a whole number from 0 to 100000, not '1e3'"],
    ['stall-timeout', '0', "'stall-timeout' must be a whole number from 1 to 86400, not '0'"],
    ['stall-timeout', '5m', "'stall-timeout' must be a whole number from 1 to 86400, not '5m'"],
    ['keep', '0x1E', "'keep' must be a whole number from 0 to 100000, not '0x1E'"],
    ['retention-days', '0', "'retention-days' must be a whole number from 1 to 90, not '0'"],
    ['retention-days', '91', "'retention-days' must be a whole number from 1 to 90, not '91'"],
    ['retention-days', 'a week', "'retention-days' must be a whole number from 1 to 90, not 'a week'"],
    ['retention-days', '7.0', "'retention-days' must be a whole number from 1 to 90, not '7.0'"],
  ])('%s: %j', (input, value, message) => {
    expect(errorOf({ [input]: value }).message).toBe(message);
  });

  it.each([
    ['compression', 'GZIP', 'compression', 'gzip'],
    ['verify', 'Basic', 'verify', 'basic'],
  ] as const)('%s is case-insensitive (%s)', (input, value, key, expected) => {
    expect(config({ [input]: value })[key]).toBe(expected);
  });
});

describe('booleans', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['yes', true],
    ['on', true],
    ['1', true],
    ['false', false],
    ['No', false],
    ['off', false],
    ['0', false],
  ])('include-audit-log and allow-unencrypted-public read %j as %s', (value, expected) => {
    const parsed = config({ 'include-audit-log': value, 'allow-unencrypted-public': value });
    expect(parsed.includeAuditLog).toBe(expected);
    expect(parsed.allowUnencryptedPublic).toBe(expected);
  });
});

describe('numbers', () => {
  it('reads postgres-version as auto or a major version', () => {
    expect(config({ 'postgres-version': 'AUTO' }).postgresVersion).toBe('auto');
    expect(config({ 'postgres-version': '15' }).postgresVersion).toBe(15);
    expect(config({ 'postgres-version': ' 17 ' }).postgresVersion).toBe(17);
  });

  it('reads keep from 0 and retention-days from 1 to 90', () => {
    expect(config({ keep: '0' }).keep).toBe(0);
    expect(config({ keep: '365' }).keep).toBe(365);
    expect(config({ 'retention-days': '1' }).retentionDays).toBe(1);
    expect(config({ 'retention-days': '90' }).retentionDays).toBe(90);
  });
});

describe('schemas', () => {
  it('takes auto in any case, or a list', () => {
    expect(config({ schemas: 'Auto' }).schemas).toBe('auto');
    expect(config({ schemas: 'public, private\nbilling' }).schemas).toEqual(['public', 'private', 'billing']);
  });

  it.each(['public;drop', 'my schema', '1abc', '"quoted"'])('rejects the name %j and shows the accepted form', (value) => {
    expect(errorOf({ schemas: value }).message).toMatch(/^'schemas' holds '.*', which is not a schema name; use auto or a list like public,private$/);
  });

  it('rejects a list with no names', () => {
    expect(errorOf({ schemas: ', ,' }).message).toBe("'schemas' is empty; use auto or a list like public,private");
  });
});

describe('exclude-tables', () => {
  it('takes schema.table names and patterns', () => {
    expect(config({ 'exclude-tables': 'public.audit_events,\n public.log_*' }).excludeTables).toEqual([
      'public.audit_events',
      'public.log_*',
    ]);
  });

  it('takes quoted names (case, spaces, commas and dots kept) and unquoted ones, split outside quotes', () => {
    expect(config({ 'exclude-tables': 'public.Notes, "Reporting"."Monthly, Totals.v2", "my schema".*' }).excludeTables).toEqual([
      'public.Notes',
      '"Reporting"."Monthly, Totals.v2"',
      '"my schema".*',
    ]);
  });

  it('matches as PostgreSQL does: unquoted folds to lower case, quoted is exact, * and ? are wildcards outside quotes', () => {
    const matches = (pattern: string, schema: string, table: string): boolean => {
      const parsed = parseTablePattern(pattern)!;
      return parsed.schema.test(schema) && parsed.table.test(table);
    };
    expect(matches('public.Notes', 'public', 'notes')).toBe(true);
    expect(matches('public.Notes', 'public', 'Notes')).toBe(false);
    expect(matches('public."Notes"', 'public', 'Notes')).toBe(true);
    expect(matches('Reporting.monthly', 'reporting', 'monthly')).toBe(true);
    expect(matches('public."two  spaces"', 'public', 'two  spaces')).toBe(true);
    expect(matches('public."a*"', 'public', 'abc')).toBe(false);
    expect(matches('public."a*"', 'public', 'a*')).toBe(true);
    expect(matches('public.log_?', 'public', 'log_1')).toBe(true);
    expect(matches('public."say ""hi"""', 'public', 'say "hi"')).toBe(true);
  });

  it.each(['audit_events', 'public.', 'public.a b', 'a.b.c', 'public."open'])('rejects %j and shows the form', (value) => {
    expect(errorOf({ 'exclude-tables': value }).message).toMatch(/name tables as schema\.table \(e\.g\. public\.audit_events\)$/);
  });
});

describe('artifact-name and branch', () => {
  it('accepts ordinary names', () => {
    expect(config({ 'artifact-name': 'supabase backup 2026-11-29' }).artifactName).toBe('supabase backup 2026-11-29');
    expect(config({ branch: 'backups/prod' }).branch).toBe('backups/prod');
  });

  it.each([':', '/', '\\', '"', '<', '>', '|', '*', '?'])('rejects an artifact name with %j and lists the forbidden characters', (char) => {
    const message = errorOf({ 'artifact-name': `backup${char}x` }).message;
    expect(message).toContain(`'artifact-name' may not contain '${char}'`);
    expect(message).toContain('(nor any of : / \\ " < > | * ?)');
  });

  it.each(['-backups', 'a..b', 'backups/', 'back ups', 'back~ups', 'HEAD', 'refs/heads/backups', 'a/.hidden', 'backups.lock', 'a//b', 'backups.', 'x@{1}'])('rejects the branch %j', (value) => {
    expect(errorOf({ branch: value }).message).toBe(
      `'branch' is '${value}', which is not a plain branch name; use something like backups`,
    );
  });
});

describe('encryption', () => {
  it('takes age recipients, comma- or newline-separated', () => {
    expect(config({ 'encryption-recipients': `${AGE_KEY},\n${AGE_KEY_2}\n` }).encryption).toEqual({
      kind: 'recipients',
      recipients: [AGE_KEY, AGE_KEY_2],
    });
  });

  it('takes a passphrase as written, spaces included', () => {
    expect(config({ 'encryption-passphrase': ' correct horse ' }).encryption).toEqual({
      kind: 'passphrase',
      passphrase: ' correct horse ',
    });
  });

  it.each([
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG',
    'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ',
    'age1short',
    'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8b',
  ])('rejects %j and says what a recipient looks like', (value) => {
    const message = errorOf({ 'encryption-recipients': value }).message;
    expect(message).toContain("is not an age public key; use keys that start with 'age1' (made with: age-keygen -o key.txt)");
    // Only the start of what was given is quoted, so a pasted secret key is not echoed in full.
    if (value.length > 12) expect(message).not.toContain(value.slice(12));
  });

  it('refuses both recipients and a passphrase', () => {
    expect(errorOf({ 'encryption-recipients': AGE_KEY, 'encryption-passphrase': 'x' }).message).toBe(
      "set either 'encryption-recipients' or 'encryption-passphrase', not both",
    );
  });
});

describe('verify', () => {
  it('restore needs a scratch database and names the input', () => {
    expect(errorOf({ verify: 'restore' }).message).toMatch(/^'verify: restore' needs 'verify-database-url'/);
    const scratch = 'postgresql://postgres:postgres@127.0.0.1:54323/postgres';
    expect(config({ verify: 'restore', 'verify-database-url': scratch })).toMatchObject({
      verify: 'restore',
      verifyDatabaseUrl: scratch,
    });
  });
});

describe('splitList', () => {
  it('splits on commas and new lines and drops blanks', () => {
    expect(splitList(' a, b\n\nc ,, \n')).toEqual(['a', 'b', 'c']);
    expect(splitList('')).toEqual([]);
  });
});
