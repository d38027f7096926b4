/** The S3 module: client settings, s3:// URLs, operations and error wording (see each file). */
export * from './client.js';
export * from './errors.js';
export * from './settings.js';
export * from './objects.js';
export * from './url.js';
