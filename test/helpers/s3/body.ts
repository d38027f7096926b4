/**
 * Request bodies of the S3 stand-in: streamed to a staging file while their hashes are computed, and
 * checked the way S3 checks them before anything is stored — the signed payload hash
 * (x-amz-content-sha256), Content-MD5, an x-amz-checksum-* header or trailer, the length. aws-chunked
 * bodies with an unsigned trailer (what the SDK sends with its default flexible checksums) are decoded;
 * signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are refused as not implemented.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** An S3 error answer (status, code, message), thrown by any step of a request. */
export class S3Fault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ReceivedBody {
  size: number;
  md5: string;
}

const UNSIGNED = 'UNSIGNED-PAYLOAD';
const CHUNKED_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** Streams the body into `file`, checks it, and removes the file again when a check fails. */
export async function receiveBody(req: IncomingMessage, payloadHash: string, file: string): Promise<ReceivedBody> {
  const chunked = payloadHash.startsWith('STREAMING-') || /aws-chunked/.test(String(req.headers['content-encoding'] ?? ''));
  if (chunked && payloadHash !== CHUNKED_UNSIGNED_TRAILER) {
    req.resume();
    throw new S3Fault(501, 'NotImplemented', `This server does not implement the payload signing ${payloadHash}`);
  }
  if (!chunked && payloadHash !== UNSIGNED && !/^[0-9a-f]{64}$/.test(payloadHash)) {
    req.resume();
    throw new S3Fault(400, 'InvalidArgument', `x-amz-content-sha256 must be UNSIGNED-PAYLOAD, ${CHUNKED_UNSIGNED_TRAILER} or a SHA-256 hex digest`);
  }
  const hashes = new BodyHashes(checksumHeaderName(req));
  const decoder = chunked ? new AwsChunkedDecoder() : undefined;
  try {
    const stages = [req, ...(decoder ? [decoder] : []), hashes.tap(), createWriteStream(file)] as const;
    await pipeline(stages as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream]);
    checkBody(req, payloadHash, hashes, decoder);
  } catch (error) {
    await rm(file, { force: true });
    throw error instanceof S3Fault ? error : new S3Fault(400, 'IncompleteBody', `The request body was not received completely: ${String(error)}`);
  }
  return { size: hashes.size, md5: hashes.md5Hex };
}

function checkBody(req: IncomingMessage, payloadHash: string, hashes: BodyHashes, decoder: AwsChunkedDecoder | undefined): void {
  const declared = Number(decoder ? req.headers['x-amz-decoded-content-length'] : req.headers['content-length']);
  if (Number.isFinite(declared) && declared !== hashes.size) {
    throw new S3Fault(400, 'IncompleteBody', `You did not provide the number of bytes specified (${hashes.size} of ${declared})`);
  }
  if (/^[0-9a-f]{64}$/.test(payloadHash) && payloadHash !== hashes.sha256Hex) {
    throw new S3Fault(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
  }
  const contentMd5 = req.headers['content-md5'];
  if (typeof contentMd5 === 'string' && contentMd5 !== hashes.md5Base64) {
    throw new S3Fault(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const algorithm = hashes.checksumAlgorithm;
  if (algorithm) {
    const sent = decoder ? decoder.trailers.get(`x-amz-checksum-${algorithm}`) : String(req.headers[`x-amz-checksum-${algorithm}`]);
    if (sent !== hashes.checksumBase64()) {
      throw new S3Fault(400, 'BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    }
  }
}

/** The checksum algorithm the request announces (header or trailer), if any; unknown ones are refused. */
function checksumHeaderName(req: IncomingMessage): string | undefined {
  const trailer = req.headers['x-amz-trailer'];
  const named = typeof trailer === 'string' ? trailer : Object.keys(req.headers).find((name) => name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type');
  if (!named) return undefined;
  const algorithm = named.replace(/^x-amz-checksum-/, '');
  if (!['crc32', 'sha1', 'sha256'].includes(algorithm)) {
    throw new S3Fault(400, 'InvalidRequest', `This server does not implement the checksum algorithm ${algorithm}`);
  }
  return algorithm;
}

class BodyHashes {
  size = 0;
  private readonly md5 = createHash('md5');
  private readonly sha256 = createHash('sha256');
  private readonly checksum: Hash | Crc32 | undefined;
  md5Hex = '';
  md5Base64 = '';
  sha256Hex = '';
  private checksumDigest = '';

  constructor(readonly checksumAlgorithm: string | undefined) {
    this.checksum = checksumAlgorithm === 'crc32' ? new Crc32() : checksumAlgorithm ? createHash(checksumAlgorithm) : undefined;
  }

  tap(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback: TransformCallback) => {
        this.size += chunk.length;
        this.md5.update(chunk);
        this.sha256.update(chunk);
        this.checksum?.update(chunk);
        callback(null, chunk);
      },
      flush: (callback: TransformCallback) => {
        const md5 = this.md5.digest();
        this.md5Hex = md5.toString('hex');
        this.md5Base64 = md5.toString('base64');
        this.sha256Hex = this.sha256.digest('hex');
        this.checksumDigest = this.checksum instanceof Crc32 ? this.checksum.digest('base64') : this.checksum ? this.checksum.digest('base64') : '';
        callback();
      },
    });
  }

  checksumBase64(): string {
    return this.checksumDigest;
  }
}

/** CRC-32 (IEEE), as S3's x-amz-checksum-crc32 (big-endian, base64). */
class Crc32 {
  private static table = Crc32.makeTable();
  private crc = 0xffffffff;

  private static makeTable(): Uint32Array {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    return table;
  }

  update(data: Buffer): void {
    let crc = this.crc;
    for (let i = 0; i < data.length; i++) crc = Crc32.table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    this.crc = crc;
  }

  digest(encoding: 'base64'): string {
    const out = Buffer.alloc(4);
    out.writeUInt32BE((this.crc ^ 0xffffffff) >>> 0);
    return out.toString(encoding);
  }
}

/**
 * Decodes `aws-chunked`: `<hex size>[;extensions]\r\n<bytes>\r\n` … `0\r\n<trailer lines>\r\n\r\n`.
 * Passes the payload bytes on and keeps the trailers.
 */
class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  private line = '';
  private remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decode(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.state === 'done' ? null : new S3Fault(400, 'IncompleteBody', 'The aws-chunked body ended before its last chunk'));
  }

  private decode(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'data') {
        const take = Math.min(this.remaining, chunk.length - at);
        this.push(chunk.subarray(at, at + take));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      if (this.state === 'done') throw new S3Fault(400, 'InvalidRequest', 'Bytes after the end of the aws-chunked body');
      const byte = chunk[at++]!;
      if (byte !== 0x0a) {
        this.line += String.fromCharCode(byte);
        if (this.line.length > 4096) throw new S3Fault(400, 'InvalidRequest', 'An aws-chunked header line is too long');
        continue;
      }
      this.endLine(this.line.replace(/\r$/, ''));
      this.line = '';
    }
  }

  private endLine(line: string): void {
    if (this.state === 'data-end') {
      if (line !== '') throw new S3Fault(400, 'InvalidRequest', 'An aws-chunked chunk does not end with CRLF');
      this.state = 'size';
    } else if (this.state === 'size') {
      const size = Number.parseInt(line.split(';', 1)[0] ?? '', 16);
      if (!Number.isFinite(size) || size < 0) throw new S3Fault(400, 'InvalidRequest', `Bad aws-chunked size line '${line}'`);
      this.remaining = size;
      this.state = size === 0 ? 'trailer' : 'data';
    } else if (this.state === 'trailer') {
      if (line === '') {
        this.state = 'done';
        return;
      }
      const colon = line.indexOf(':');
      this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
}
