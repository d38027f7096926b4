#!/usr/bin/env bash
# What the tests need beyond `npm ci` and Debian's postgresql and age packages, installed once and
# reused: PostgreSQL 17 (server and client, for the tests that run on 17 as new hosted projects do),
# Node 24 (GitHub's runtime for the action), and the fixture's supautils emulation built for 15 and
# 17. `npm test` runs it first (pretest); each step takes well under a second when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-postgres-17.sh >/dev/null
bash scripts/install-node-24.sh >/dev/null
bash scripts/build-fixture-extension.sh 15 >/dev/null
bash scripts/build-fixture-extension.sh 17 >/dev/null
