/**
 * AWS Signature Version 4 header authentication, verified the way S3 verifies it: the canonical request
 * is rebuilt from what arrived (method, raw path, sorted query, the signed headers, the payload hash
 * header) and signed with the secret of the access key named in the Credential scope.
 *
 * Only header authentication (`Authorization: AWS4-HMAC-SHA256 …`) is supported; presigned URLs are
 * refused as AccessDenied, like a bucket that allows no anonymous access.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export type AuthResult =
  | { ok: true; accessKeyId: string; payloadHash: string }
  | { ok: false; status: number; code: string; message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';

/** Verifies the request's signature against `keys` (access key id → secret). */
export function verifySigV4(req: IncomingMessage, keys: ReadonlyMap<string, string>, region: string): AuthResult {
  const header = req.headers.authorization;
  if (!header) return denied(403, 'AccessDenied', 'Access Denied');
  if (!header.startsWith(`${ALGORITHM} `)) return denied(400, 'InvalidArgument', 'Unsupported Authorization Type');
  const fields = parseAuthorization(header.slice(ALGORITHM.length + 1));
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) return denied(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed');
  const [accessKeyId, date, scopeRegion, service, terminator] = credential.split('/');
  if (!accessKeyId || !date || !scopeRegion || service !== 's3' || terminator !== 'aws4_request') {
    return denied(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; the Credential is mal-formed');
  }
  const secret = keys.get(accessKeyId);
  if (secret === undefined) return denied(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (scopeRegion !== region) {
    return denied(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${scopeRegion}' is wrong; expecting '${region}'`);
  }
  const amzDate = headerValue(req, 'x-amz-date');
  if (!amzDate || !amzDate.startsWith(date)) return denied(403, 'AccessDenied', 'X-Amz-Date is missing or does not match the credential scope');
  const payloadHash = headerValue(req, 'x-amz-content-sha256');
  if (!payloadHash) return denied(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  const headerNames = signedHeaders.split(';');
  if (!headerNames.includes('host')) return denied(403, 'AccessDenied', 'The host header must be signed');

  const canonical = [
    req.method ?? 'GET',
    canonicalPath(req.url ?? '/'),
    canonicalQuery(req.url ?? '/'),
    headerNames.map((name) => `${name}:${canonicalHeaderValue(req, name)}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${scopeRegion}/s3/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
  const expected = hmac(signingKey(secret, date, scopeRegion), stringToSign).toString('hex');
  if (!sameHex(expected, signature)) {
    return denied(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  return { ok: true, accessKeyId, payloadHash };
}

function denied(status: number, code: string, message: string): AuthResult {
  return { ok: false, status, code, message };
}

function parseAuthorization(value: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return fields;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Trimmed, inner runs of spaces collapsed (the SigV4 rule for header values). */
function canonicalHeaderValue(req: IncomingMessage, name: string): string {
  return (headerValue(req, name) ?? '').trim().replace(/ +/g, ' ');
}

/** S3 signs the path as sent (each segment already URI-encoded once; no normalisation). */
function canonicalPath(url: string): string {
  const path = url.split('?', 1)[0] ?? '/';
  return path === '' ? '/' : path;
}

function canonicalQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return '';
  return url
    .slice(q + 1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      return [rfc3986(decodeURIComponent(key)), rfc3986(decodeURIComponent(value))] as const;
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

export function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function signingKey(secret: string, date: string, region: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), 's3'), 'aws4_request');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
