/**
 * Which object names Storage's API can read and write at all (storage-s3-reference.md, "Object names"):
 * letters, digits and `_ / ! . * ' ( ) space & $ = @ ; : + , ? -`. Any other character (unicode, `%`,
 * `#`, `~`, brackets, quotes, backslash, emoji) gives 400 InvalidKey on GET and PUT alike, so such a file
 * is reported and skipped instead of being asked for.
 */
const ALLOWED_NAME = /^[A-Za-z0-9_/!.*'() &$=@;:+,?-]+$/;

export function isReadableName(name: string): boolean {
  return ALLOWED_NAME.test(name);
}

/** Bucket ids follow the same rules for our purposes (they are part of the path). */
export function isReadableBucket(bucket: string): boolean {
  return ALLOWED_NAME.test(bucket) && !bucket.includes('/');
}
