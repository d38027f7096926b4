/**
 * The seal stage (DESIGN.md §2): the verified SQL stream made into the file that is stored.
 *
 *   SQL ─► gzip or zstd (compression) ─► age (encryption-recipients / encryption-passphrase) ─► sha256 ─► file
 *   .sql        .sql.gz / .sql.zst                .sql.gz.age, .sql.zst.age (or .sql.age)
 *
 * Both are stream stages that merge.ts puts after the SQL scan (so verification reads the plain SQL)
 * and before the sha256 and the 0600 file (so `sha256` and `backup-size` describe the stored file).
 * Nothing is buffered whole: gzip is node:zlib on every core (pgzip.ts), and age encryption is a node
 * stream stage (agestream.ts: the header from `age-encryption`, the payload in native ChaCha20-Poly1305),
 * with backpressure all the way; memory stays flat whatever the size of the database.
 */
import { PassThrough, addAbortSignal, type Transform } from 'node:stream';
import { Encrypter } from 'age-encryption';
import { AgeEncryptStream, type AgeTarget } from './agestream.js';
import { ConfigError, type BackupConfig } from '../config.js';
import type { Logger } from '../log.js';
import { ParallelCompress, gzipFrames, hasZstd, zstdFrames, type FrameCodec } from './pgzip.js';

/** zlib level for `compression: gzip`: fast (SQL still shrinks about 5x; level 6 gains a few percent at ~1.5x the CPU). */
export const GZIP_LEVEL = 1;
/**
 * zstd level for `compression: zstd`. Level 1, not zstd's default 3: on the bench's data (jsonb full of
 * hashes, bytea as hex text) level 3 took 3x the CPU and made a 4% larger file (in hex its 5-byte
 * matches are mostly chance); on plain text it is about 10% smaller. Either is far smaller and faster
 * than gzip level 1.
 */
export const ZSTD_LEVEL = 1;

/** Below this many characters a passphrase gets a warning: the file may be attacked offline by anyone who gets it. */
export const SHORT_PASSPHRASE = 12;

export interface Seal {
  /** Fresh stages for one file, in order (gzip before age: encrypted data does not compress). */
  transforms: () => Transform[];
  /** Appended to `.sql`: '', '.gz', '.zst', '.age', '.gz.age' or '.zst.age'. */
  suffix: string;
  /** What happens to the file, for the log. */
  description: string;
  warnings: string[];
}

/**
 * The seal that `compression` and `encryption` ask for, or undefined for a plain `.sql` file. Builds the
 * age encrypter now, so a recipient that is not a valid age key (a typo breaks its checksum) fails
 * before anything is dumped.
 */
export function sealFor(config: Pick<BackupConfig, 'compression' | 'encryption'>): Seal | undefined {
  const compression = compressionFor(config.compression);
  const encrypter = ageTarget(config.encryption);
  if (!compression && !encrypter) return undefined;

  const steps: string[] = [];
  const warnings: string[] = [];
  if (compression) steps.push(compression.description);
  if (config.encryption.kind === 'recipients') {
    const count = config.encryption.recipients.length;
    steps.push(`age encryption to ${count} recipient${count === 1 ? '' : 's'}`);
  } else if (config.encryption.kind === 'passphrase') {
    steps.push('age encryption with a passphrase (scrypt)');
    if ([...config.encryption.passphrase].length < SHORT_PASSPHRASE) {
      warnings.push(
        `the encryption passphrase is shorter than ${SHORT_PASSPHRASE} characters: whoever obtains the file can try ` +
          'passphrases offline. Use a long random passphrase (e.g. `openssl rand -base64 32`, or 6+ random words), or ' +
          "'encryption-recipients' with an age public key",
      );
    }
  }
  return {
    transforms: () => [
      ...(compression ? [new ParallelCompress(compression.codec)] : []),
      ...(encrypter ? [new AgeEncryptStream(encrypter)] : []),
    ],
    suffix: `${compression?.suffix ?? ''}${encrypter ? '.age' : ''}`,
    description: steps.join(', then '),
    warnings,
  };
}

function compressionFor(compression: BackupConfig['compression']): { codec: FrameCodec; suffix: string; description: string } | undefined {
  if (compression === 'gzip') return { codec: gzipFrames(GZIP_LEVEL), suffix: '.gz', description: `gzip (level ${GZIP_LEVEL})` };
  if (compression !== 'zstd') return undefined;
  if (!hasZstd()) {
    throw new ConfigError(
      `compression: zstd needs Node.js 22.15 or newer (node:zlib's zstd); this is Node.js ${process.versions.node}. ` +
        'The action runs on node24 and has it; for the CLI, use a newer Node.js or compression: gzip',
    );
  }
  return { codec: zstdFrames(ZSTD_LEVEL), suffix: '.zst', description: `zstd (level ${ZSTD_LEVEL})` };
}

/** sealFor, logging what will be done and any warning. */
export function sealAndLog(config: Pick<BackupConfig, 'compression' | 'encryption'>, log: Logger): Seal | undefined {
  const seal = sealFor(config);
  if (seal) {
    log.info(`🔐 The backup will be sealed: ${seal.description} (file *.sql${seal.suffix})`);
    seal.warnings.forEach((warning) => log.warning(warning));
  }
  return seal;
}

/**
 * What to encrypt to, with every recipient checked now (age-encryption parses it), so that a recipient
 * that is not a valid age key (a typo breaks its checksum) fails before anything is dumped.
 */
function ageTarget(encryption: BackupConfig['encryption']): AgeTarget | undefined {
  if (encryption.kind === 'none') return undefined;
  // The scrypt work factor stays at age's default (2^18, ~256 MiB for well under a second with node's
  // native scrypt, once per file): what `age -p` uses, and what `age -d` accepts.
  if (encryption.kind === 'passphrase') return { passphrase: encryption.passphrase };
  for (const recipient of encryption.recipients) {
    try {
      new Encrypter().addRecipient(recipient);
    } catch (error) {
      const why = error instanceof Error ? error.message.replace(recipient, '…') : String(error);
      throw new ConfigError(
        `'encryption-recipients' holds '${recipient.slice(0, 12)}…', which is not a valid age public key (${why}); ` +
          'copy the whole "Public key: age1…" line that age-keygen printed (age-keygen -y key.txt shows it again)',
      );
    }
  }
  return { recipients: encryption.recipients };
}

/**
 * The stages with a first pass-through stage bound to `signal`: aborting destroys the pipeline, so a
 * cancelled run stops writing at once instead of finishing the file it will delete.
 */
export function abortableStages(stages: Transform[], signal: AbortSignal | undefined): Transform[] {
  return signal ? [addAbortSignal(signal, new PassThrough()), ...stages] : stages;
}
