/**
 * Child process of test/s3/large-upload.test.ts: uploads FILE (BYTES long) through src/s3's uploadFile
 * to the bucket, the way the s3 destination uploads a backup file, then prints the ETag, its peak RSS
 * and the most memory its ArrayBuffers (Buffers) held, sampled every 20 ms. Run by Node 24 with test/helpers/ts-resolve-sync.mjs, so it measures the upload path and nothing else.
 *
 *   env: S3_ENDPOINT S3_BUCKET S3_KEY FILE BYTES AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
 */
import { s3Target } from '../../../src/s3/client.js';
import { uploadFile } from '../../../src/s3/objects.js';
import { s3Settings } from '../../../src/s3/settings.js';

let maxArrayBuffersBytes = 0;
const sampler = setInterval(() => {
  maxArrayBuffersBytes = Math.max(maxArrayBuffersBytes, process.memoryUsage().arrayBuffers);
}, 20);
const settings = s3Settings({ endpoint: process.env.S3_ENDPOINT ?? '', region: '', forcePathStyle: 'true', accessKeyId: '', secretAccessKey: '', sessionToken: '' });
const target = s3Target(settings, process.env.S3_BUCKET ?? '');
const stored = await uploadFile(target, { key: process.env.S3_KEY ?? '', file: process.env.FILE ?? '', bytes: Number(process.env.BYTES) });
target.client.destroy();
clearInterval(sampler);
process.stdout.write(`${JSON.stringify({ etag: stored.etag, maxRssBytes: process.resourceUsage().maxRSS * 1024, maxArrayBuffersBytes })}\n`);
