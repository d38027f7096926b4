import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // tmpdir-leaks first: it gives the test processes their own TMPDIR before they start, and its
    // failure (something left in the temp directory) reaches the default and count reporters.
    reporters: ['./test/tmpdir-leaks.ts', 'default', './test/helpers/count-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start their own PostgreSQL clusters; two cores, so keep files in one fork each.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
