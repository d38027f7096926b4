/**
 * Variant D of the benchmark: the backup core (runBackup, as the action runs it) with the file sealed by
 * gzip (level 1) and age encryption to one recipient, in a node process of its own so that its peak RSS
 * can be measured like the action's. Inputs come as INPUT_* variables, as for the action.
 *
 * The seal is built here from node:zlib and age-encryption because this branch has no src/seal.ts yet;
 * once the seal module is merged, pass its transforms instead (or run dist/index.js with
 * INPUT_COMPRESSION=gzip and INPUT_ENCRYPTION-RECIPIENTS).
 */
import { Duplex, type Transform } from 'node:stream';
import type { ReadableStream as NodeReadableStream, WritableStream as NodeWritableStream } from 'node:stream/web';
import { createGzip, constants as zlib } from 'node:zlib';
import { Encrypter } from 'age-encryption';
import { runBackup } from '../src/backup.js';
import { parseConfig } from '../src/config.js';
import type { Logger } from '../src/log.js';

async function ageTransform(recipient: string): Promise<Transform> {
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const encrypted = await encrypter.encrypt(readable);
  return Duplex.fromWeb({
    readable: encrypted as unknown as NodeReadableStream,
    writable: writable as unknown as NodeWritableStream,
  }) as unknown as Transform;
}

async function main(): Promise<void> {
  const recipient = process.env.BENCH_AGE_RECIPIENT;
  if (!recipient) throw new Error('BENCH_AGE_RECIPIENT is not set');
  const config = parseConfig((name) => process.env[`INPUT_${name.toUpperCase()}`] ?? '');
  const age = await ageTransform(recipient);
  const quiet: Logger = { info: () => undefined, warning: (message) => console.error(`warning: ${message}`), secret: () => undefined };
  const result = await runBackup(config, quiet, {
    installClient: false,
    seal: { suffix: '.gz.age', transforms: () => [createGzip({ level: zlib.Z_BEST_SPEED }), age] },
  });
  console.log(JSON.stringify({ path: result.path, bytes: result.bytes, sha256: result.sha256, rows: result.rows }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exitCode = 1;
});
