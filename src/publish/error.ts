/** A destination could not take the backup; the message says why and what to do. */
export class PublishError extends Error {
  override name = 'PublishError';
}
