/**
 * A local stand-in for GitHub's artifact service, speaking the protocol `@actions/artifact` uses:
 *
 * - Twirp JSON calls `POST /twirp/github.actions.results.api.v1.ArtifactService/<Method>` with
 *   `Authorization: Bearer <ACTIONS_RUNTIME_TOKEN>` (CreateArtifact, FinalizeArtifact, and the
 *   ListArtifacts/DeleteArtifact pair that deleteArtifact uses);
 * - the Azure Blob upload to the `signed_upload_url` that CreateArtifact returned: `PUT ?comp=block`
 *   per block, then `PUT ?comp=blocklist` with the block ids to commit (or one plain `PUT`).
 *
 * It keeps what was uploaded so a test can compare bytes, records every request, checks the bearer
 * token, the backend ids and the upload signature, and can be told to fail a call.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const SERVICE = '/twirp/github.actions.results.api.v1.ArtifactService/';

export interface StoredArtifact {
  id: number;
  name: string;
  mimeType: string | undefined;
  expiresAt: string | undefined;
  blob: Buffer | undefined;
  finalized: boolean;
  size: string | undefined;
  hash: string | undefined;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Twirp method name, or `blob:block` / `blob:blocklist` / `blob:put`. */
  call: string;
  body?: Record<string, unknown>;
  authorization?: string;
}

export type Failure = { status: number; code?: string; msg: string };

export interface ArtifactService {
  url: string;
  runId: string;
  jobId: string;
  token: string;
  /** The variables the Actions runner gives a `uses:` step, pointing at this stand-in. */
  env: Record<string, string>;
  artifacts: Map<string, StoredArtifact>;
  requests: RecordedRequest[];
  /** Makes every later call of `call` (Twirp method or 'blob') fail with this status and message. */
  fail(call: string, failure: Failure): void;
  close(): Promise<void>;
}

/** An unsigned JWT carrying the `scp` claim from which the client reads the run's backend ids. */
function runtimeToken(runId: string, jobId: string): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ scp: `Actions.GenericRead Actions.Results:${runId}:${jobId}`, exp: 4102444800 })}.sig`;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startArtifactService(): Promise<ArtifactService> {
  const runId = 'ce7f54c7-61c7-4aae-887f-30da475f5f1a';
  const jobId = 'ca395085-040a-526b-2ce8-bdc85f692774';
  const token = runtimeToken(runId, jobId);
  const signature = randomBytes(12).toString('hex');
  const artifacts = new Map<string, StoredArtifact>();
  const staged = new Map<string, Buffer>();
  const requests: RecordedRequest[] = [];
  const failures = new Map<string, Failure>();
  let nextId = 1000;

  const twirpError = (res: http.ServerResponse, status: number, code: string, msg: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code, msg }));
  };
  const json = (res: http.ServerResponse, body: object): void => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const azureError = (res: http.ServerResponse, status: number, code: string, msg: string): void => {
    res
      .writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': code })
      .end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${msg}</Message></Error>`);
  };

  const handleTwirp = async (req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> => {
    const raw = (await readBody(req)).toString('utf8');
    const body = JSON.parse(raw || '{}') as Record<string, unknown>;
    requests.push({ method: req.method ?? '', path: req.url ?? '', call: method, body, authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${token}`) return twirpError(res, 401, 'unauthenticated', 'invalid runtime token');
    if (req.method !== 'POST' || !String(req.headers['content-type']).startsWith('application/json')) {
      return twirpError(res, 400, 'malformed', 'expected a JSON POST');
    }
    const failure = failures.get(method);
    if (failure) return twirpError(res, failure.status, failure.code ?? 'internal', failure.msg);
    if (body.workflow_run_backend_id !== runId || body.workflow_job_run_backend_id !== jobId) {
      return twirpError(res, 400, 'invalid_argument', 'backend ids do not match the runtime token');
    }
    const name = String(body.name ?? '');
    switch (method) {
      case 'CreateArtifact': {
        if (artifacts.get(name)?.finalized) {
          return twirpError(res, 409, 'already_exists', 'an artifact with this name already exists on the workflow run');
        }
        artifacts.set(name, {
          id: nextId++,
          name,
          mimeType: body.mime_type as string | undefined,
          expiresAt: body.expires_at as string | undefined,
          blob: undefined,
          finalized: false,
          size: undefined,
          hash: undefined,
        });
        const blobPath = `/devstoreaccount1/actions-results/${runId}/${encodeURIComponent(name)}.zip`;
        return json(res, { ok: true, signed_upload_url: `${serviceUrl}${blobPath}?sv=2023-11-03&sr=b&sp=cw&sig=${signature}` });
      }
      case 'FinalizeArtifact': {
        const artifact = artifacts.get(name);
        if (!artifact?.blob) return twirpError(res, 404, 'not_found', 'no upload found for this artifact');
        const hash = `sha256:${createHash('sha256').update(artifact.blob).digest('hex')}`;
        if (String(body.size) !== String(artifact.blob.length) || body.hash !== hash) {
          return twirpError(res, 400, 'invalid_argument', 'size or hash does not match the uploaded blob');
        }
        Object.assign(artifact, { finalized: true, size: String(body.size), hash: body.hash as string });
        return json(res, { ok: true, artifact_id: String(artifact.id) });
      }
      case 'ListArtifacts': {
        const filter = body.name_filter as string | undefined;
        const list = [...artifacts.values()].filter((a) => a.finalized && (filter === undefined || a.name === filter));
        return json(res, {
          artifacts: list.map((a) => ({
            workflow_run_backend_id: runId,
            workflow_job_run_backend_id: jobId,
            database_id: String(a.id),
            name: a.name,
            size: a.size,
            created_at: new Date().toISOString(),
          })),
        });
      }
      case 'DeleteArtifact': {
        const artifact = artifacts.get(name);
        if (!artifact) return twirpError(res, 404, 'not_found', 'artifact not found');
        artifacts.delete(name);
        return json(res, { ok: true, artifact_id: String(artifact.id) });
      }
      default:
        return twirpError(res, 404, 'bad_route', `no handler for ${method}`);
    }
  };

  const handleBlob = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    const body = await readBody(req);
    const comp = url.searchParams.get('comp');
    const call = comp === 'block' ? 'blob:block' : comp === 'blocklist' ? 'blob:blocklist' : 'blob:put';
    requests.push({ method: req.method ?? '', path: url.pathname, call });
    if (url.searchParams.get('sig') !== signature) return azureError(res, 403, 'AuthenticationFailed', 'Signature did not match');
    if (req.method !== 'PUT') return azureError(res, 405, 'UnsupportedHttpVerb', 'only PUT is supported here');
    const failure = failures.get('blob');
    if (failure) return azureError(res, failure.status, failure.code ?? 'InternalError', failure.msg);
    const name = decodeURIComponent(url.pathname.split('/').pop() ?? '').replace(/\.zip$/, '');
    const artifact = artifacts.get(name);
    if (!artifact) return azureError(res, 404, 'BlobNotFound', 'no artifact was created for this blob');

    const key = (id: string): string => `${url.pathname}#${id}`;
    if (comp === 'block') {
      staged.set(key(url.searchParams.get('blockid') ?? ''), body);
    } else if (comp === 'blocklist') {
      const ids = [...body.toString('utf8').matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)<\//g)].map((m) => m[1]!);
      const blocks = ids.map((id) => staged.get(key(id)));
      if (blocks.some((block) => block === undefined)) return azureError(res, 400, 'InvalidBlockList', 'unknown block id');
      artifact.blob = Buffer.concat(blocks as Buffer[]);
    } else {
      artifact.blob = body;
    }
    res.writeHead(201, { etag: '"0x1"', 'last-modified': new Date().toUTCString(), 'x-ms-request-server-encrypted': 'true' }).end();
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', serviceUrl);
    const work = url.pathname.startsWith(SERVICE)
      ? handleTwirp(req, res, url.pathname.slice(SERVICE.length))
      : handleBlob(req, res, url);
    work.catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: serviceUrl,
    runId,
    jobId,
    token,
    env: {
      GITHUB_ACTIONS: 'true',
      ACTIONS_RUNTIME_TOKEN: token,
      ACTIONS_RESULTS_URL: `${serviceUrl}/`,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_RUN_ID: '4242',
    },
    artifacts,
    requests,
    fail: (call, failure) => failures.set(call, failure),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Reads the entries of a zip (what the artifact service stores) without a zip library. */
export async function readZip(zip: Buffer): Promise<Map<string, Buffer>> {
  const { inflateRawSync, crc32 } = await import('node:zlib');
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip: no end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('bad central directory entry');
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressed);
    const content = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : undefined;
    if (!content) throw new Error(`zip entry ${name} uses unsupported method ${method}`);
    if (crc32(content) !== crc) throw new Error(`zip entry ${name} fails its CRC check`);
    entries.set(name, content);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
