/**
 * S3 failures in words a user can act on: which input to check (credentials, bucket, endpoint,
 * region) and what the service said. Messages carry no secret: the SDK's errors hold none, and the
 * access key id (not a secret) is not repeated either.
 */
export class S3Error extends Error {
  override name = 'S3Error';
  /** The S3 error code (NoSuchBucket, AccessDenied, …) or the network error code. */
  readonly code: string;

  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

export interface S3ErrorContext {
  /** What was being done, e.g. 'checking the bucket', 'uploading full_….sql'. */
  action: string;
  bucket: string;
  /** describeEndpoint(settings) */
  endpoint: string;
}

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'TimeoutError', 'RequestTimeout']);

const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequests', 'RequestThrottled', 'RequestLimitExceeded']);

/**
 * Whether the same request may succeed when sent again: a server error (5xx, not 501), throttling (429,
 * SlowDown), a cut, refused or timed-out connection. A cancellation (AbortError) is not.
 */
export function isTransientS3Error(error: unknown): boolean {
  const { code, status, message } = facts(error);
  if (status !== undefined && ((status >= 500 && status !== 501) || status === 429)) return true;
  return THROTTLING.has(code) || NETWORK.has(code) || /socket hang up|ECONNRESET|EPIPE/.test(message);
}

/** An S3 SDK (or network) error as an S3Error naming the input to check. */
export function explainS3Error(error: unknown, context: S3ErrorContext): S3Error {
  if (error instanceof S3Error) return error;
  const { code, status, message } = facts(error);
  const where = `bucket '${context.bucket}' at ${context.endpoint}`;
  const failed = `S3: ${context.action} failed`;
  switch (code) {
    case 'InvalidAccessKeyId':
      return new S3Error(`${failed}: ${context.endpoint} does not know the access key id; check 's3-access-key-id' (or AWS_ACCESS_KEY_ID)`, code);
    case 'SignatureDoesNotMatch':
      return new S3Error(`${failed}: the secret access key does not match the access key id; check 's3-secret-access-key' (or AWS_SECRET_ACCESS_KEY)`, code);
    case 'ExpiredToken':
    case 'InvalidToken':
    case 'TokenRefreshRequired':
      return new S3Error(`${failed}: the session token is expired or invalid; check 's3-session-token' (or AWS_SESSION_TOKEN)`, code);
    case 'NoSuchBucket':
      return new S3Error(`${failed}: ${where} does not exist; check 's3-bucket-url' (and 's3-endpoint'), or create the bucket first`, code);
    case 'CredentialsProviderError':
      return new S3Error(
        `${failed}: no S3 credentials; set 's3-access-key-id' and 's3-secret-access-key' from secrets, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
        code,
      );
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return new S3Error(`${failed}: ${where} is in another region, or 's3-region' is wrong: ${message}`, code);
  }
  if (NETWORK.has(code) || /socket hang up|getaddrinfo|connect /.test(message)) {
    // Without path style the SDK asks for <bucket>.<endpoint host>, a name MinIO-like servers do not have.
    const pathStyleHint =
      (code === 'ENOTFOUND' || code === 'EAI_AGAIN') && context.endpoint.startsWith('http')
        ? ", or set 's3-force-path-style: true' when the server has no host name per bucket (MinIO)"
        : '';
    return new S3Error(`${failed}: cannot reach ${context.endpoint} (${code || message}); check 's3-endpoint' and the network${pathStyleHint}`, code || 'NetworkError');
  }
  // HEAD answers carry no error body: only the status says what went wrong.
  if (status === 404 && (code === 'NotFound' || code === '')) {
    return new S3Error(`${failed}: ${where} was not found; check 's3-bucket-url' (and 's3-endpoint'), or create the bucket first`, 'NoSuchBucket');
  }
  if (status === 403 || code === 'AccessDenied' || code === 'Forbidden') {
    return new S3Error(
      `${failed}: access to ${where} was denied: the credentials are wrong, or they lack permission for it; check 's3-access-key-id', 's3-secret-access-key' and the key's permissions`,
      code || 'AccessDenied',
    );
  }
  if (status === 301) {
    return new S3Error(`${failed}: ${where} is in another region; set 's3-region'`, code || 'PermanentRedirect');
  }
  return new S3Error(`${failed} (${where}): ${code ? `${code}: ` : ''}${message}`, code || 'Unknown');
}

function facts(error: unknown): { code: string; status: number | undefined; message: string } {
  if (!(error instanceof Error)) return { code: '', status: undefined, message: String(error) };
  const e = error as Error & { Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const code = e.Code ?? (typeof e.code === 'string' ? e.code : undefined) ?? (e.name !== 'Error' && e.name !== 'S3ServiceException' ? e.name : '');
  const unknownMessage = e.message === 'UnknownError' || e.message === '';
  return { code, status: e.$metadata?.httpStatusCode, message: unknownMessage ? `HTTP ${e.$metadata?.httpStatusCode ?? '?'}` : e.message };
}
