/**
 * The standard `age` command-line tool (Debian package `age`, which .ci/run installs), to prove that
 * what the action writes is ordinary age: keys from age-keygen, files decrypted with `age -d`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

export interface AgeKey {
  /** The identity file (AGE-SECRET-KEY-1…), as `age-keygen -o` writes it. */
  identityFile: string;
  /** Its public key (age1…). */
  recipient: string;
}

export async function ageKeygen(dir: string, name = 'key.txt'): Promise<AgeKey> {
  const identityFile = path.join(dir, name);
  await execa('age-keygen', ['-o', identityFile]);
  const recipient = (await execa('age-keygen', ['-y', identityFile])).stdout.trim();
  return { identityFile, recipient };
}

/** `age -d -i KEY -o OUT FILE`. */
export async function ageDecryptWithKey(file: string, identityFile: string, out: string): Promise<void> {
  await execa('age', ['-d', '-i', identityFile, '-o', out, file]);
}

/**
 * `age -d -o OUT FILE` for a passphrase-encrypted file. age reads a passphrase only from a terminal, so
 * it runs under `script` (util-linux), which gives it a pseudo-terminal and types our stdin into it:
 * the passphrase never appears on a command line.
 */
export async function ageDecryptWithPassphrase(file: string, passphrase: string, out: string): Promise<{ exitCode: number; output: string }> {
  const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
  const result = await execa('script', ['-qec', `age -d -o ${quote(out)} ${quote(file)}`, '/dev/null'], {
    input: `${passphrase}\n`,
    reject: false,
    env: { TERM: 'dumb' },
  });
  return { exitCode: result.exitCode ?? -1, output: String(result.stdout) };
}

export async function gunzipFile(file: string, out: string): Promise<void> {
  await execa('gunzip', ['-c', file], { stdout: { file: out } });
}

export const readText = (file: string): Promise<string> => readFile(file, 'utf8');
