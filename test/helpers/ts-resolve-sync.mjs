// As ts-resolve.mjs, but with synchronous hooks on the main thread (module.registerHooks, Node 22.15+):
// register() runs its hooks on a thread of their own, ~25 MB of RSS that a memory test should not
// count. Used by test/s3/large-upload.test.ts's child.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (error) {
      if (/^\.{1,2}\//.test(specifier) && specifier.endsWith('.js')) return next(specifier.slice(0, -3) + '.ts', context);
      throw error;
    }
  },
});
