/**
 * The seal stage on its own: gzip and age as stream stages, checked with the standard tools (`age -d`,
 * `gunzip`), and the proof that they stream (bounded read-ahead while the file cannot be written).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { Decrypter, generateHybridIdentity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type BackupConfig } from '../../src/config.js';
import { SHORT_PASSPHRASE, abortableStages, sealFor } from '../../src/streams/seal.js';
import { ageDecryptWithKey, ageDecryptWithPassphrase, ageKeygen, gunzipFile, type AgeKey } from '../helpers/age.js';

const SQL = Buffer.from(
  Array.from({ length: 20_000 }, (_, i) => `INSERT INTO public.notes (id, body) VALUES (${i}, 'note ${i} é ''quoted''');\n`).join(''),
);
const PASSPHRASE = "correct horse é%25 battery 'staple'";

let dir: string;
let key: AgeKey;
let key2: AgeKey;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'seal-'));
  key = await ageKeygen(dir, 'key.txt');
  key2 = await ageKeygen(dir, 'key2.txt');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(inputs: Record<string, string>): BackupConfig {
  return parseConfig((name) => ({ 'database-url': 'postgresql://postgres:pw@127.0.0.1:5432/postgres', ...inputs })[name] ?? '');
}

/** A digest to compare large buffers by (toEqual walks a Buffer byte by byte, slowly). */
const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Streams `data` through the stages into `file`, in 64 KiB chunks like a file read. */
async function sealInto(stages: Transform[], data: Buffer, file: string): Promise<void> {
  const chunks = (function* () {
    for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
  })();
  await pipeline([Readable.from(chunks), ...stages, createWriteStream(file, { mode: 0o600 })]);
}

describe('sealFor', () => {
  it('names the file after what was done to it', () => {
    expect(sealFor(config({}))).toBeUndefined();
    expect(sealFor(config({ compression: 'gzip' }))?.suffix).toBe('.gz');
    expect(sealFor(config({ 'encryption-recipients': key.recipient }))?.suffix).toBe('.age');
    expect(sealFor(config({ compression: 'gzip', 'encryption-recipients': key.recipient }))?.suffix).toBe('.gz.age');
    expect(sealFor(config({ compression: 'gzip', 'encryption-passphrase': PASSPHRASE }))).toMatchObject({
      suffix: '.gz.age',
      description: 'gzip (level 1), then age encryption with a passphrase (scrypt)',
      warnings: [],
    });
  });

  it('refuses a recipient whose checksum is wrong before anything runs, quoting only its start', () => {
    const typo = `${key.recipient.slice(0, -1)}${key.recipient.endsWith('q') ? 'p' : 'q'}`;
    const cfg = config({ 'encryption-recipients': `${key.recipient}\n${typo}` });
    let error: unknown;
    try {
      sealFor(cfg);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain(`'encryption-recipients' holds '${typo.slice(0, 12)}…', which is not a valid age public key`);
    expect(String(error)).not.toContain(typo.slice(12));
  });

  it('takes post-quantum (age1pq1…) recipients, and still refuses what is not a key', async () => {
    const identity = await generateHybridIdentity();
    const recipient = await identityToRecipient(identity);
    expect(recipient).toMatch(/^age1pq1/);
    const seal = sealFor(config({ 'encryption-recipients': recipient }))!;
    const file = path.join(dir, 'pq.sql.age');
    await sealInto(seal.transforms(), SQL, file);
    // age 1.1 (Debian's) predates post-quantum keys: decrypt with the library that wrote it.
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity);
    expect(sha(await decrypter.decrypt(await readFile(file)))).toBe(sha(SQL));

    for (const bad of ['ssh-ed25519 AAAAC3Nza', 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQ', 'age1short', `${recipient.slice(0, 30)}b${recipient.slice(31)}`]) {
      expect(() => config({ 'encryption-recipients': bad }), bad).toThrow(/is not an age public key/);
    }
  });

  it('warns about a short passphrase', () => {
    const seal = sealFor(config({ 'encryption-passphrase': 'x'.repeat(SHORT_PASSPHRASE - 1) }))!;
    expect(seal.warnings.join('\n')).toMatch(/shorter than 12 characters/);
  });
});

describe('sealed files open with the standard tools', () => {
  it('gzip: gunzip gives the SQL back', async () => {
    const file = path.join(dir, 'plain.sql.gz');
    await sealInto(sealFor(config({ compression: 'gzip' }))!.transforms(), SQL, file);
    const stored = await readFile(file);
    expect(stored.length).toBeLessThan(SQL.length / 4);
    await gunzipFile(file, path.join(dir, 'plain.sql'));
    expect(sha(await readFile(path.join(dir, 'plain.sql')))).toBe(sha(SQL));
  });

  it('gzip + age to two recipients: `age -d -i` with either key, then gunzip', async () => {
    const seal = sealFor(config({ compression: 'gzip', 'encryption-recipients': `${key.recipient},\n${key2.recipient}` }))!;
    const file = path.join(dir, 'both.sql.gz.age');
    await sealInto(seal.transforms(), SQL, file);
    expect((await readFile(file)).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    for (const [i, k] of [key, key2].entries()) {
      await ageDecryptWithKey(file, k.identityFile, path.join(dir, `both-${i}.sql.gz`));
      expect(sha(gunzipSync(await readFile(path.join(dir, `both-${i}.sql.gz`))))).toBe(sha(SQL));
    }
  });

  it('age with a passphrase: `age -d` asks for it and decrypts; a wrong one fails', async () => {
    const seal = sealFor(config({ 'encryption-passphrase': PASSPHRASE }))!;
    const file = path.join(dir, 'pass.sql.age');
    await sealInto(seal.transforms(), SQL, file);
    const ok = await ageDecryptWithPassphrase(file, PASSPHRASE, path.join(dir, 'pass.sql'));
    expect(ok.exitCode, ok.output).toBe(0);
    expect(sha(await readFile(path.join(dir, 'pass.sql')))).toBe(sha(SQL));
    const wrong = await ageDecryptWithPassphrase(file, `${PASSPHRASE}!`, path.join(dir, 'wrong.sql'));
    expect(wrong.exitCode).not.toBe(0);
  });

  it('each file gets its own key: two runs over the same SQL differ', async () => {
    const seal = sealFor(config({ 'encryption-recipients': key.recipient }))!;
    await sealInto(seal.transforms(), SQL, path.join(dir, 'a.age'));
    await sealInto(seal.transforms(), SQL, path.join(dir, 'b.age'));
    expect(sha(await readFile(path.join(dir, 'a.age')))).not.toBe(sha(await readFile(path.join(dir, 'b.age'))));
  });
});

describe('streaming', () => {
  /**
   * Feeds up to 1 GiB of incompressible data through gzip + age into a sink that accepts one chunk and
   * then stalls. A stage that buffered would swallow it all; a streaming one stops pulling after a few
   * chunks. Waiting is by "nothing moved for a while", never by asserting a duration.
   */
  it('gzip + age pull only a bounded amount ahead of a stalled writer', async () => {
    const seal = sealFor(config({ compression: 'gzip', 'encryption-recipients': key.recipient }))!;
    let produced = 0;
    const source = Readable.from(
      (function* () {
        for (; produced < 1 << 30; ) {
          produced += 1 << 20;
          yield randomBytes(1 << 20);
        }
      })(),
    );
    let release: (() => void) | undefined;
    let received = 0;
    const sink = new Writable({
      highWaterMark: 1 << 16,
      write(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        if (release === undefined) release = done;
        else done();
      },
    });
    const finished = pipeline([source, ...seal.transforms(), sink]);

    let last = -1;
    let still = 0;
    while (still < 20) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      still = produced === last && release !== undefined ? still + 1 : 0;
      last = produced;
    }
    expect(produced).toBeLessThan(32 << 20);
    expect(received).toBeLessThan(1 << 20);

    // Let it go: stop the source early and check the pipeline finishes cleanly.
    source.destroy();
    release!();
    await finished.catch(() => undefined);
  });

  it('an aborted signal tears the stages down: the pipeline rejects with an AbortError', async () => {
    const seal = sealFor(config({ compression: 'gzip', 'encryption-recipients': key.recipient }))!;
    const abort = new AbortController();
    const source = Readable.from(
      (function* () {
        for (let i = 0; ; i++) {
          if (i === 3) abort.abort();
          yield SQL;
        }
      })(),
    );
    const file = path.join(dir, 'aborted.sql.gz.age');
    await expect(pipeline([source, ...abortableStages(seal.transforms(), abort.signal), createWriteStream(file)])).rejects.toThrow(
      /aborted/i,
    );
  });
});
