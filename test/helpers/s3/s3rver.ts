/**
 * s3rver (npm), the known S3 stand-in, in a child process: it needs `--openssl-legacy-provider` to list
 * past 1000 keys (its continuation tokens use a legacy cipher). Used only to check our own server
 * (server.ts) against it: see storage-s3-reference.md for what s3rver does not do.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface S3rver {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

const SCRIPT = `
const S3rver = require('s3rver');
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[1], configureBuckets: [{ name: process.argv[2] }] });
server.run().then((address) => { process.stdout.write(JSON.stringify(address) + '\\n'); });
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
`;

export async function startS3rver(bucket: string): Promise<S3rver> {
  const dir = await mkdtemp(join(tmpdir(), 's3rver-'));
  const child: ResultPromise = execa(process.execPath, ['--openssl-legacy-provider', '-e', SCRIPT, dir, bucket], {
    cwd: process.cwd(),
    buffer: false,
    reject: false,
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n')[0];
      if (text.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    void child.then((result) => reject(new Error(`s3rver exited (${String(result.exitCode)})`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async stop() {
      child.kill('SIGTERM');
      await child;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
