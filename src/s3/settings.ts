/**
 * The settings of an S3 client, from the action's inputs or the standard AWS variables, checked without
 * loading the SDK (config.ts checks the inputs up front; the client is built by client.ts).
 */
export interface S3Settings {
  /** Empty for AWS; e.g. https://<account>.r2.cloudflarestorage.com, https://<ref>.storage.supabase.co/storage/v1/s3. */
  endpoint?: string;
  region: string;
  /** Whether the region was given (else AWS redirects to the bucket's region are followed). */
  regionGiven: boolean;
  forcePathStyle: boolean;
  /** Static credentials; undefined: the SDK's default chain (profile, web identity, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts?: number;
}

/** The action's S3 inputs as text ('' when unset). */
export interface S3Inputs {
  endpoint: string;
  region: string;
  forcePathStyle: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

export class S3SettingsError extends Error {
  override name = 'S3SettingsError';
}

/** What is wrong with the inputs themselves (before any variable is consulted), or undefined. */
export function checkS3Inputs(inputs: S3Inputs): string | undefined {
  try {
    s3Settings(inputs, {});
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Settings from the inputs, each falling back to its standard AWS variable. */
export function s3Settings(inputs: S3Inputs, env: NodeJS.ProcessEnv = process.env): S3Settings {
  const endpoint = inputs.endpoint.trim() || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint)) {
    throw new S3SettingsError(`'s3-endpoint' is '${endpoint}'; give a URL such as https://<account>.r2.cloudflarestorage.com`);
  }
  const regionInput = inputs.region.trim() || env.AWS_REGION || env.AWS_DEFAULT_REGION || '';
  const region = regionInput || (endpoint && /\.r2\.cloudflarestorage\.com/.test(endpoint) ? 'auto' : 'us-east-1');
  return {
    ...(endpoint ? { endpoint } : {}),
    region,
    regionGiven: regionInput !== '',
    forcePathStyle: pathStyle(inputs.forcePathStyle, endpoint),
    ...credentialsFrom(inputs, env),
  };
}

/** Path-style when asked, and by default for a Supabase Storage endpoint (which only serves it). */
function pathStyle(value: string, endpoint: string | undefined): boolean {
  const text = value.trim().toLowerCase();
  if (text === '') return endpoint !== undefined && /\/storage\/v1\/s3\/?$/.test(endpoint);
  if (['true', 'yes', '1'].includes(text)) return true;
  if (['false', 'no', '0'].includes(text)) return false;
  throw new S3SettingsError(`unknown s3-force-path-style '${value}'; use true or false`);
}

function credentialsFrom(inputs: S3Inputs, env: NodeJS.ProcessEnv): Pick<S3Settings, 'credentials'> {
  const id = inputs.accessKeyId.trim();
  const secret = inputs.secretAccessKey.trim();
  if (id || secret) {
    if (!id || !secret) throw new S3SettingsError("set both 's3-access-key-id' and 's3-secret-access-key', or neither (then AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are used)");
    const token = inputs.sessionToken.trim();
    return { credentials: { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) } };
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    const token = env.AWS_SESSION_TOKEN;
    return { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(token ? { sessionToken: token } : {}) } };
  }
  return {};
}

/** Where the settings point, for messages: the endpoint, or AWS S3 and its region. */
export function describeEndpoint(settings: S3Settings): string {
  return settings.endpoint ?? `AWS S3 (${settings.region})`;
}

/** Every form of the credentials, for masking (the key id too: it names the account). */
export function s3SecretForms(inputs: Pick<S3Inputs, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>): string[] {
  return [inputs.accessKeyId, inputs.secretAccessKey, inputs.sessionToken]
    .map((value) => value.trim())
    .filter((value) => value.length > 0)
    .flatMap((value) => [value, encodeURIComponent(value)]);
}
