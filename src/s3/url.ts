/**
 * `s3://bucket/prefix` locations: the bucket and the key prefix under which objects go. Pure (no SDK),
 * so config.ts can check the input without loading the S3 client.
 */
export interface S3Location {
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
}

export class S3UrlError extends Error {
  override name = 'S3UrlError';
}

/**
 * Parses `s3://bucket[/prefix[/]]`. The prefix is taken as a folder: `s3://b/db` puts objects under
 * `db/`. Bucket names follow S3's rules (3-63 of a-z 0-9 . -, R2 and MinIO follow them too);
 * Supabase Storage allows a little more (upper case, `_`), so those are accepted as well.
 */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url.trim());
  if (!match) throw new S3UrlError(`'${url}' is not an s3:// URL; write it as s3://bucket or s3://bucket/prefix`);
  const bucket = match[1]!;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/.test(bucket)) {
    throw new S3UrlError(`'${bucket}' is not a bucket name (3 to 63 letters, digits, '.', '-' or '_')`);
  }
  const path = (match[2] ?? '').replace(/^\/+/, '');
  if (path.split('/').some((part, i, all) => part === '' && i < all.length - 1) || /(^|\/)\.\.?(\/|$)/.test(path)) {
    throw new S3UrlError(`the prefix '${path}' of '${url}' has an empty, '.' or '..' segment`);
  }
  return { bucket, prefix: path === '' || path.endsWith('/') ? path : `${path}/` };
}

/** `s3://bucket/key` */
export function formatS3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** The key of `name` under a location's prefix. */
export function keyOf(location: S3Location, name: string): string {
  return `${location.prefix}${name}`;
}

/** The last segment of a key. */
export function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
