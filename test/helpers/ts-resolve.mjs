// Lets Node 24 run the TypeScript sources directly (type stripping): an import of './x.js' that does
// not exist resolves to './x.ts', as tsc resolves it. Used by child processes of the tests.
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (/^\\.{1,2}\\//.test(specifier) && specifier.endsWith('.js')) return next(specifier.slice(0, -3) + '.ts', context);
    throw error;
  }
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
