/**
 * An S3 client for any S3-compatible service (AWS, R2, B2, MinIO, Supabase Storage), built from the
 * action's inputs or the standard AWS variables. Used by the s3 destination, the CLI's list/restore
 * and the Storage-files backup alike, so it knows nothing about backups.
 *
 * Checksums: `WHEN_REQUIRED` for requests and responses. The SDK's newer default sends every body
 * aws-chunked with a CRC trailer, which several S3-compatible servers do not understand (some store
 * the chunk framing as the object's bytes); with WHEN_REQUIRED a body is sent plain and only the
 * operations S3 requires a checksum for (DeleteObjects) carry one. The backup's own sha256 (in its name
 * and its manifest) is what proves the bytes, and restore checks it.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { describeEndpoint, type S3Settings } from './settings.js';

const settingsOfClient = new WeakMap<S3Client, S3Settings>();

export function createS3Client(settings: S3Settings): S3Client {
  const client = new S3Client(clientConfig(settings));
  settingsOfClient.set(client, settings);
  return client;
}

function clientConfig(settings: S3Settings): S3ClientConfig {
  return {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Transient errors (5xx, throttling, a reset connection) are retried with backoff.
    maxAttempts: settings.maxAttempts ?? 5,
    retryMode: 'standard',
    // A dead endpoint fails in seconds; a stalled transfer after a minute without a byte.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
    followRegionRedirects: !settings.regionGiven && settings.endpoint === undefined,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
  };
}

/** A client for requests whose body is a stream, and how often the caller should try each one. */
export interface StreamingClient {
  client: S3Client;
  attempts: number;
  /** Closes the client's connections (when it is not the client it was made from). */
  close(): void;
}

const SILENT: NonNullable<S3ClientConfig['logger']> = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * For bodies streamed from a file: the SDK cannot send a stream twice, so it does not retry such a
 * request (and warns on the console that it did not); the caller retries with a fresh stream instead.
 * The client is like `client` but makes each request once and does not warn; `attempts` is what
 * `client` would make. A client not made by createS3Client is used as it is.
 */
export async function streamingClient(client: S3Client): Promise<StreamingClient> {
  const attempts = await client.config.maxAttempts();
  const settings = settingsOfClient.get(client);
  if (!settings) return { client, attempts, close: () => undefined };
  // Without Expect: 100-continue, which the SDK sends with a connection (and an agent) of its own per
  // request: hundreds of parts would each leave one for the garbage collector.
  const once = new S3Client({ ...clientConfig({ ...settings, maxAttempts: 1 }), logger: SILENT, expectContinueHeader: false });
  return { client: once, attempts, close: () => once.destroy() };
}

/** A client and the bucket it works on, with the endpoint's description for messages. */
export function s3Target(settings: S3Settings, bucket: string): { client: S3Client; bucket: string; endpoint: string } {
  return { client: createS3Client(settings), bucket, endpoint: describeEndpoint(settings) };
}
