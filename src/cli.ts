/**
 * The command line: the same core as the action, without GitHub.
 *   supabase-complete-backup backup [--database-url URL | $DATABASE_URL] [--output-dir D] [...]
 *   supabase-complete-backup verify --file F
 */
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { runBackup } from './backup.js';
import { parseConfig } from './config.js';
import { consoleLogger } from './log.js';
import { SqlScanner } from './sqlscan.js';
import { checkScan } from './verify.js';

/** Flags of `backup`: the action's inputs, same names and meanings. */
const BACKUP_FLAGS = [
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
  'artifact-name',
  'retention-days',
  'branch',
  'keep',
  'github-token',
  'verify',
  'verify-database-url',
] as const;

const USAGE = `usage:
  supabase-complete-backup backup [--database-url URL] [--output-dir DIR] [--schemas auto|a,b] [--compression none|gzip] ...
      (DATABASE_URL from the environment when --database-url is not given; destination defaults to none)
  supabase-complete-backup verify --file FILE`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'backup':
      return backupCommand(rest);
    case 'verify':
      return verifyCommand(rest);
    default:
      console.error(USAGE);
      return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
  }
}

async function backupCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(BACKUP_FLAGS.map((flag) => [flag, { type: 'string' as const }])),
    strict: true,
  });
  const flags = values as Record<string, string | undefined>;
  const defaults: Record<string, string | undefined> = {
    'database-url': process.env.DATABASE_URL,
    destination: 'none',
    'encryption-passphrase': process.env.BACKUP_PASSPHRASE,
  };
  const config = parseConfig((name) => flags[name] ?? defaults[name] ?? '');
  for (const [flag, variable] of Object.entries({ 'database-url': 'DATABASE_URL', 'encryption-passphrase': 'BACKUP_PASSPHRASE' })) {
    if (flags[flag]) consoleLogger.warning(`--${flag} puts a secret on the command line, where other users of this machine can read it (ps); prefer the ${variable} environment variable`);
  }
  // Ctrl-C / SIGTERM: stop pg_dump and remove temporary files; a second one exits at once (cleanup.ts).
  const abort = new AbortController();
  const onSignal = (): void => (abort.signal.aborted ? process.exit(130) : abort.abort(new Error('cancelled')));
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  // Never run apt-get/sudo on someone's own machine unless asked to; on a CI runner it is the point.
  const result = await runBackup(config, consoleLogger, {
    installClient: process.env.CI === 'true' || process.env.GITHUB_ACTIONS === 'true',
    signal: abort.signal,
  }).finally(() => process.off('SIGINT', onSignal).off('SIGTERM', onSignal));
  console.log(result.path);
  return 0;
}

async function verifyCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { file: { type: 'string' } }, strict: true });
  if (!values.file) throw new Error('verify needs --file FILE');
  const scanner = new SqlScanner();
  for await (const chunk of createReadStream(values.file)) scanner.push(chunk as Buffer);
  scanner.finish();
  const outcome = checkScan(scanner.report);
  outcome.warnings.forEach((warning) => consoleLogger.warning(warning));
  if (outcome.problems.length > 0) {
    console.error(`✖ ${values.file} failed verification:\n  - ${outcome.problems.join('\n  - ')}`);
    return 1;
  }
  console.log(`✔ ${values.file}: ${outcome.tables} tables, ${outcome.rows} rows, ${outcome.authUsers} users; markers and manifest consistent`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`✖ ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
