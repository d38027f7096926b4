/**
 * Where a project's Storage speaks S3, derived from its database URL (storage-s3-reference.md): the
 * project ref is in the session pooler's user name (`postgres.<ref>`) or the direct host
 * (`db.<ref>.supabase.co`); the region in the pooler host (`aws-0-<region>.pooler.supabase.com`).
 * Pure (no SDK), so config.ts can use it.
 */
export interface StorageEndpoint {
  endpoint: string | undefined;
  region: string | undefined;
}

export function storageEndpointFor(databaseUrl: string): StorageEndpoint {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return { endpoint: undefined, region: undefined };
  }
  const user = decodeURIComponent(url.username);
  const ref = /^postgres\.([a-z0-9]{10,40})$/.exec(user)?.[1] ?? /^db\.([a-z0-9]{10,40})\.supabase\.co$/.exec(url.hostname)?.[1];
  const region = /^aws-\d+-([a-z0-9-]+)\.pooler\.supabase\.com$/.exec(url.hostname)?.[1];
  return { endpoint: ref ? `https://${ref}.storage.supabase.co/storage/v1/s3` : undefined, region };
}
