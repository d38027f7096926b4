/**
 * A small S3-compatible server for the tests, on 127.0.0.1 (a free port), path-style addressing.
 *
 * What it speaks, as S3 does: SigV4 header authentication verified against its keys (403
 * InvalidAccessKeyId / SignatureDoesNotMatch), ListBuckets, HeadBucket, CreateBucket, DeleteBucket,
 * PutObject, GetObject (Range), HeadObject, DeleteObject, DeleteObjects, ListObjectsV2 (prefix,
 * delimiter, continuation, at most 1000 keys a page), multipart uploads (Create, UploadPart, Complete,
 * Abort, ListMultipartUploads; parts other than the last at least 5 MiB), md5 ETags (md5 of the part
 * md5s with `-N` for multipart), XML errors (HEAD answers carry none, like S3). Anything else answers
 * 501 NotImplemented. Bodies are streamed to disk and checked (body.ts), so memory stays flat with
 * multi-GB objects. No versioning: no x-amz-version-id.
 *
 * For tests: `fail()` injects faults (an error status or a cut connection on the Nth call of an
 * operation), `hold()` pauses an operation until released, `stats` counts calls and the most that ran
 * at once, and `objects()`, `readObject()`, `pendingUploads()` show what is stored. `stop()` removes
 * everything. Objects go to a pluggable `ObjectBackend` (backend.ts).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DiskBackend, type ObjectBackend, type ObjectInfo } from './backend.js';
import { receiveBody, S3Fault } from './body.js';
import { verifySigV4 } from './sigv4.js';

export { DiskBackend, type ObjectBackend, type ObjectInfo } from './backend.js';
export { S3Fault } from './body.js';

export type Operation =
  | 'ListBuckets'
  | 'HeadBucket'
  | 'CreateBucket'
  | 'DeleteBucket'
  | 'ListObjectsV2'
  | 'ListMultipartUploads'
  | 'DeleteObjects'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload';

export interface Fault {
  operation: Operation;
  /** How many calls of the operation succeed before the fault starts (default 0). */
  after?: number;
  /** How many calls fail (default: every later one). */
  times?: number;
  /** `reset` cuts the connection without an answer; otherwise an S3 error answer. */
  action: 'reset' | { status: number; code: string; message?: string };
}

export interface PendingUpload {
  bucket: string;
  key: string;
  uploadId: string;
  parts: number;
}

export interface S3ServerOptions {
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Buckets that exist from the start. */
  buckets?: string[];
  /** Where objects go (default: files in the server's temp directory). */
  backend?: (dataDir: string) => ObjectBackend;
  /** The smallest part other than the last (S3: 5 MiB). */
  minPartSize?: number;
}

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The settings an SDK client or the action needs (path-style). */
  env: Record<string, string>;
  backend: ObjectBackend;
  stats: { calls: Map<Operation, number>; maxInFlight: Map<Operation, number> };
  /** Every authenticated request: its operation, key and x-amz-content-sha256. */
  requests: { operation: Operation; key: string; payloadHash: string }[];
  fail(fault: Fault): void;
  clearFaults(): void;
  /**
   * Pauses every call of `operation` (on keys `key` accepts) until `release()`; `reached` resolves when
   * the first one waits.
   */
  hold(operation: Operation, key?: (key: string) => boolean): { reached: Promise<void>; release(): void };
  objects(bucket: string): Promise<ObjectInfo[]>;
  readObject(bucket: string, key: string): Promise<Buffer>;
  pendingUploads(): PendingUpload[];
  createBucket(bucket: string): Promise<void>;
  stop(): Promise<void>;
}

interface Upload {
  bucket: string;
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  initiated: Date;
  parts: Map<number, { file: string; size: number; md5: string }>;
}

interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  bucket: string;
  key: string;
  query: URLSearchParams;
  payloadHash: string;
}

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MAX_KEYS = 1000;

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), 's3-stand-in-'));
  const staging = join(dir, 'staging');
  await mkdir(staging);
  const backend: ObjectBackend = options.backend ? options.backend(join(dir, 'data')) : new DiskBackend(join(dir, 'data'));
  const region = options.region ?? 'us-east-1';
  const accessKeyId = options.accessKeyId ?? `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = options.secretAccessKey ?? randomBytes(30).toString('base64');
  const keys = new Map([[accessKeyId, secretAccessKey]]);
  const minPartSize = options.minPartSize ?? 5 * 1024 * 1024;
  const uploads = new Map<string, Upload>();
  const faults: (Fault & { seen: number; failed: number })[] = [];
  const holds = new Map<Operation, { wait: Promise<void>; reached: () => void; key: (key: string) => boolean }>();
  const calls = new Map<Operation, number>();
  const inFlight = new Map<Operation, number>();
  const maxInFlight = new Map<Operation, number>();
  const sockets = new Set<Socket>();
  const requests: S3Server['requests'] = [];
  for (const bucket of options.buckets ?? []) await backend.createBucket(bucket);

  const stagingFile = (): string => join(staging, randomUUID());

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const query = url.searchParams;
    const operation = operationOf(req.method ?? 'GET', decodeURIComponent(bucket), key, query);
    try {
      const auth = verifySigV4(req, keys, region);
      if (!auth.ok) throw new S3Fault(auth.status, auth.code, auth.message);
      if (!operation) throw new S3Fault(501, 'NotImplemented', 'A header or query you provided implies functionality that is not implemented');
      calls.set(operation, (calls.get(operation) ?? 0) + 1);
      requests.push({ operation, key, payloadHash: auth.payloadHash });
      if (injectFault(operation, req)) return;
      const held = holds.get(operation);
      if (held?.key(key)) {
        held.reached();
        await held.wait;
      }
      inFlight.set(operation, (inFlight.get(operation) ?? 0) + 1);
      maxInFlight.set(operation, Math.max(maxInFlight.get(operation) ?? 0, inFlight.get(operation)!));
      try {
        const request = { req, res, bucket: decodeURIComponent(bucket), key, query, payloadHash: auth.payloadHash };
        if (operation !== 'ListBuckets' && operation !== 'CreateBucket') await requireBucket(request.bucket);
        await handlers[operation](request);
      } finally {
        inFlight.set(operation, inFlight.get(operation)! - 1);
      }
    } catch (error) {
      const fault = error instanceof S3Fault ? error : new S3Fault(500, 'InternalError', String(error));
      // The answer goes once the request is read: closing a connection the client is still writing to
      // resets it, and the client then sees EPIPE instead of the answer (which arrives or not by timing).
      await drained(req);
      sendError(req, res, fault, `/${bucket}${key ? `/${key}` : ''}`);
    }
  }

  function injectFault(operation: Operation, req: IncomingMessage): boolean {
    for (const fault of faults) {
      if (fault.operation !== operation) continue;
      fault.seen++;
      if (fault.seen <= (fault.after ?? 0) || fault.failed >= (fault.times ?? Infinity)) continue;
      fault.failed++;
      if (fault.action === 'reset') {
        req.socket.destroy();
      } else {
        throw new S3Fault(fault.action.status, fault.action.code, fault.action.message ?? 'Injected fault');
      }
      return true;
    }
    return false;
  }

  async function requireBucket(bucket: string): Promise<void> {
    if (!(await backend.bucketExists(bucket))) throw new S3Fault(404, 'NoSuchBucket', 'The specified bucket does not exist');
  }

  async function receiveXml(r: Request): Promise<string> {
    const file = stagingFile();
    await receiveBody(r.req, r.payloadHash, file);
    try {
      return await readFile(file, 'utf8');
    } finally {
      await rm(file, { force: true });
    }
  }

  const handlers: Record<Operation, (r: Request) => Promise<void>> = {
    async ListBuckets(r) {
      const buckets = await backend.listBuckets();
      sendXml(r.res, 'ListAllMyBucketsResult', `<Owner><ID>stand-in</ID></Owner><Buckets>${buckets.map((b) => `<Bucket><Name>${xml(b)}</Name><CreationDate>${new Date(0).toISOString()}</CreationDate></Bucket>`).join('')}</Buckets>`);
    },
    async HeadBucket(r) {
      r.res.writeHead(200, { 'x-amz-bucket-region': region }).end();
    },
    async CreateBucket(r) {
      await receiveXml(r);
      if (await backend.bucketExists(r.bucket)) throw new S3Fault(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.');
      await backend.createBucket(r.bucket);
      r.res.writeHead(200, { Location: `/${r.bucket}` }).end();
    },
    async DeleteBucket(r) {
      if (!(await backend.deleteBucket(r.bucket))) throw new S3Fault(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty');
      r.res.writeHead(204).end();
    },
    async ListObjectsV2(r) {
      sendXml(r.res, 'ListBucketResult', await listPage(r.bucket, r.query));
    },
    async ListMultipartUploads(r) {
      const prefix = r.query.get('prefix') ?? '';
      const pending = [...uploads.entries()]
        .filter(([, u]) => u.bucket === r.bucket && u.key.startsWith(prefix))
        .sort(([, a], [, b]) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const body = pending
        .map(([id, u]) => `<Upload><Key>${xml(u.key)}</Key><UploadId>${id}</UploadId><StorageClass>STANDARD</StorageClass><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`)
        .join('');
      sendXml(r.res, 'ListMultipartUploadsResult', `<Bucket>${xml(r.bucket)}</Bucket><Prefix>${xml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${body}`);
    },
    async DeleteObjects(r) {
      if (!r.req.headers['content-md5'] && !Object.keys(r.req.headers).some((h) => h.startsWith('x-amz-checksum-')) && !r.req.headers['x-amz-trailer']) {
        r.req.resume();
        throw new S3Fault(400, 'InvalidRequest', 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
      }
      const body = await receiveXml(r);
      const keysToDelete = [...body.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => unxml(m[1]!));
      if (keysToDelete.length > 1000) throw new S3Fault(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
      const quiet = /<Quiet>true<\/Quiet>/.test(body);
      for (const key of keysToDelete) await backend.delete(r.bucket, key);
      sendXml(r.res, 'DeleteResult', quiet ? '' : keysToDelete.map((k) => `<Deleted><Key>${xml(k)}</Key></Deleted>`).join(''));
    },
    async PutObject(r) {
      if (r.req.headers['x-amz-copy-source']) throw new S3Fault(501, 'NotImplemented', 'CopyObject is not implemented by this server');
      const file = stagingFile();
      const body = await receiveBody(r.req, r.payloadHash, file);
      const info = objectInfo(r.req, r.key, body.size, `"${body.md5}"`);
      await backend.put(r.bucket, file, info);
      r.res.writeHead(200, { ETag: info.etag }).end();
    },
    async GetObject(r) {
      const info = await existingObject(r.bucket, r.key);
      await backend.checkReadable?.(r.bucket, r.key);
      const range = parseRange(r.req.headers.range, info.size);
      const headers = objectHeaders(info);
      if (info.size === 0) {
        r.res.writeHead(200, { ...headers, 'Content-Length': '0' }).end();
        return;
      }
      const [start, end] = range ?? [0, info.size - 1];
      r.res.writeHead(range ? 206 : 200, {
        ...headers,
        'Content-Length': String(end - start + 1),
        ...(range ? { 'Content-Range': `bytes ${start}-${end}/${info.size}` } : {}),
      });
      await pipeline(backend.read(r.bucket, r.key, start, end), r.res).catch(() => r.res.destroy());
    },
    async HeadObject(r) {
      const info = await existingObject(r.bucket, r.key);
      r.res.writeHead(200, { ...objectHeaders(info), 'Content-Length': String(info.size) }).end();
    },
    async DeleteObject(r) {
      await backend.delete(r.bucket, r.key);
      r.res.writeHead(204).end();
    },
    async CreateMultipartUpload(r) {
      const uploadId = randomBytes(24).toString('base64url');
      const info = objectInfo(r.req, r.key, 0, '');
      uploads.set(uploadId, { bucket: r.bucket, key: r.key, contentType: info.contentType, metadata: info.metadata, initiated: new Date(), parts: new Map() });
      sendXml(r.res, 'InitiateMultipartUploadResult', `<Bucket>${xml(r.bucket)}</Bucket><Key>${xml(r.key)}</Key><UploadId>${uploadId}</UploadId>`);
    },
    async UploadPart(r) {
      const upload = uploadOf(r);
      const partNumber = Number(r.query.get('partNumber'));
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
        throw new S3Fault(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
      }
      const file = stagingFile();
      const body = await receiveBody(r.req, r.payloadHash, file);
      if (!uploads.has(r.query.get('uploadId')!)) {
        await rm(file, { force: true });
        throw new S3Fault(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
      }
      const previous = upload.parts.get(partNumber);
      if (previous) await rm(previous.file, { force: true });
      upload.parts.set(partNumber, { file, size: body.size, md5: body.md5 });
      r.res.writeHead(200, { ETag: `"${body.md5}"` }).end();
    },
    async CompleteMultipartUpload(r) {
      const upload = uploadOf(r);
      const body = await receiveXml(r);
      const listed = [...body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
        number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1]!)?.[1]),
        etag: unxml(/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]!)?.[1] ?? '').replace(/"/g, ''),
      }));
      if (listed.length === 0) throw new S3Fault(400, 'MalformedXML', 'You must specify at least one part');
      const parts = listed.map((p, i) => {
        if (i > 0 && p.number <= listed[i - 1]!.number) throw new S3Fault(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
        const part = upload.parts.get(p.number);
        if (!part || part.md5 !== p.etag) throw new S3Fault(400, 'InvalidPart', 'One or more of the specified parts could not be found.');
        if (i < listed.length - 1 && part.size < minPartSize) throw new S3Fault(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
        return part;
      });
      const file = stagingFile();
      await pipeline(async function* () {
        for (const part of parts) yield* createReadStream(part.file, { highWaterMark: 1024 * 1024 });
      }, createWriteStream(file));
      const md5s = Buffer.concat(parts.map((p) => Buffer.from(p.md5, 'hex')));
      const etag = `"${createHash('md5').update(md5s).digest('hex')}-${parts.length}"`;
      const size = parts.reduce((sum, p) => sum + p.size, 0);
      await backend.put(r.bucket, file, { key: upload.key, size, etag, lastModified: new Date(), contentType: upload.contentType, metadata: upload.metadata });
      await discardUpload(r.query.get('uploadId')!);
      sendXml(r.res, 'CompleteMultipartUploadResult', `<Location>/${xml(r.bucket)}/${xml(upload.key)}</Location><Bucket>${xml(r.bucket)}</Bucket><Key>${xml(upload.key)}</Key><ETag>${xml(etag)}</ETag>`);
    },
    async AbortMultipartUpload(r) {
      uploadOf(r);
      await discardUpload(r.query.get('uploadId')!);
      r.res.writeHead(204).end();
    },
  };

  function uploadOf(r: Request): Upload {
    const upload = uploads.get(r.query.get('uploadId') ?? '');
    if (!upload || upload.bucket !== r.bucket || upload.key !== r.key) {
      throw new S3Fault(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
    }
    return upload;
  }

  async function discardUpload(uploadId: string): Promise<void> {
    const upload = uploads.get(uploadId);
    uploads.delete(uploadId);
    for (const part of upload?.parts.values() ?? []) await rm(part.file, { force: true });
  }

  async function existingObject(bucket: string, key: string): Promise<ObjectInfo> {
    const info = await backend.head(bucket, key);
    if (!info) throw new S3Fault(404, 'NoSuchKey', 'The specified key does not exist.');
    return info;
  }

  async function listPage(bucket: string, query: URLSearchParams): Promise<string> {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.min(Number(query.get('max-keys') ?? MAX_KEYS), MAX_KEYS);
    const token = query.get('continuation-token');
    const startAfter = query.get('start-after') ?? '';
    const after = token !== null ? decodeToken(token) : startAfter;
    const contents: ObjectInfo[] = [];
    const prefixes: string[] = [];
    let last = '';
    let truncated = false;
    for (const info of await backend.list(bucket, prefix)) {
      if (after && (info.key <= after || (after.endsWith(delimiter) && delimiter && info.key.startsWith(after)))) continue;
      const cut = delimiter ? info.key.indexOf(delimiter, prefix.length) : -1;
      const common = cut >= 0 ? info.key.slice(0, cut + delimiter.length) : undefined;
      if (common !== undefined && common === prefixes.at(-1)) continue;
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (common !== undefined) prefixes.push(common);
      else contents.push(info);
      last = common ?? info.key;
    }
    return [
      `<Name>${xml(bucket)}</Name><Prefix>${xml(prefix)}</Prefix>`,
      delimiter ? `<Delimiter>${xml(delimiter)}</Delimiter>` : '',
      `<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + prefixes.length}</KeyCount><IsTruncated>${truncated}</IsTruncated>`,
      token !== null ? `<ContinuationToken>${xml(token)}</ContinuationToken>` : '',
      startAfter ? `<StartAfter>${xml(startAfter)}</StartAfter>` : '',
      truncated ? `<NextContinuationToken>${Buffer.from(last).toString('base64url')}</NextContinuationToken>` : '',
      ...contents.map(
        (o) => `<Contents><Key>${xml(o.key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xml(o.etag)}</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      ),
      ...prefixes.map((p) => `<CommonPrefixes><Prefix>${xml(p)}</Prefix></CommonPrefixes>`),
    ].join('');
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => res.destroy(error as Error));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    env: { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: region, AWS_ENDPOINT_URL_S3: endpoint },
    backend,
    stats: { calls, maxInFlight },
    requests,
    fail(fault) {
      faults.push({ ...fault, seen: 0, failed: 0 });
    },
    clearFaults() {
      faults.length = 0;
    },
    hold(operation, key = () => true) {
      let release!: () => void;
      let reached!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      holds.set(operation, { wait: released, reached, key });
      return {
        reached: reachedPromise,
        release: () => {
          holds.delete(operation);
          release();
        },
      };
    },
    objects: (bucket) => backend.list(bucket, ''),
    async readObject(bucket, key) {
      const info = await existingObject(bucket, key);
      const chunks: Buffer[] = [];
      if (info.size > 0) for await (const chunk of backend.read(bucket, key, 0, info.size - 1)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    pendingUploads: () => [...uploads.entries()].map(([uploadId, u]) => ({ bucket: u.bucket, key: u.key, uploadId, parts: u.parts.size })),
    createBucket: (bucket) => backend.createBucket(bucket),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function operationOf(method: string, bucket: string, key: string, query: URLSearchParams): Operation | undefined {
  if (!bucket) return method === 'GET' ? 'ListBuckets' : undefined;
  if (!key) {
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'PUT' && [...query.keys()].length === 0) return 'CreateBucket';
    if (method === 'DELETE' && [...query.keys()].length === 0) return 'DeleteBucket';
    if (method === 'GET' && query.get('list-type') === '2') return 'ListObjectsV2';
    if (method === 'GET' && query.has('uploads')) return 'ListMultipartUploads';
    if (method === 'POST' && query.has('delete')) return 'DeleteObjects';
    return undefined;
  }
  const uploadId = query.has('uploadId');
  if (method === 'PUT') return uploadId && query.has('partNumber') ? 'UploadPart' : [...query.keys()].some((k) => k !== 'x-id') ? undefined : 'PutObject';
  if (method === 'POST') return query.has('uploads') ? 'CreateMultipartUpload' : uploadId ? 'CompleteMultipartUpload' : undefined;
  if (method === 'DELETE') return uploadId ? 'AbortMultipartUpload' : 'DeleteObject';
  if (method === 'GET') return uploadId ? undefined : 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  return undefined;
}

function objectInfo(req: IncomingMessage, key: string, size: number, etag: string): ObjectInfo {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  const contentType = typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : 'binary/octet-stream';
  const cacheControl = req.headers['cache-control'];
  return { key, size, etag, lastModified: new Date(), contentType, metadata, ...(cacheControl ? { cacheControl } : {}) };
}

function objectHeaders(info: ObjectInfo): Record<string, string> {
  const headers: Record<string, string> = {
    ETag: info.etag,
    'Last-Modified': info.lastModified.toUTCString(),
    'Content-Type': info.contentType,
    'Accept-Ranges': 'bytes',
    ...(info.cacheControl ? { 'Cache-Control': info.cacheControl } : {}),
  };
  for (const [name, value] of Object.entries(info.metadata)) headers[`x-amz-meta-${name}`] = value;
  return headers;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; undefined for no (or an ignorable) Range; 416 when unsatisfiable. */
function parseRange(header: string | undefined, size: number): [number, number] | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) throw new S3Fault(416, 'InvalidRange', 'The requested range is not satisfiable');
  return [start, end];
}

function decodeToken(token: string): string {
  return Buffer.from(token, 'base64url').toString('utf8');
}

function sendXml(res: ServerResponse, root: string, inner: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${XMLNS}">${inner}</${root}>`;
  res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) }).end(body);
}

/** Resolves when the rest of the request's body has been read and dropped (or the connection ended). */
function drained(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    req.once('end', resolve);
    req.once('close', resolve);
    req.resume();
  });
}

function sendError(req: IncomingMessage, res: ServerResponse, fault: S3Fault, resource: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  if (req.method === 'HEAD') {
    res.writeHead(fault.status, { 'x-amz-request-id': requestId }).end();
    return;
  }
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code><Message>${xml(fault.message)}</Message><Resource>${xml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
  res.writeHead(fault.status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), 'x-amz-request-id': requestId, Connection: 'close' }).end(body);
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function unxml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, n: string) => String.fromCodePoint(Number.parseInt(n, 16)))
    .replace(/&amp;/g, '&');
}
