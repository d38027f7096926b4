#!/usr/bin/env bash
# Validates action.yml, every workflow in .github/workflows/ and every example caller in examples/
# against GitHub's schemas for action metadata and workflows, with action-validator (the npm package
# @action-validator/cli, a devDependency, so `npm ci` installs it; it runs offline).
#
# Usage: bash scripts/validate-workflows.sh        (from anywhere; exits 1 when a file is invalid)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

validator="$root/node_modules/.bin/action-validator"
if [[ ! -x "$validator" ]]; then
  echo "validate-workflows: $validator is missing; run npm ci first" >&2
  exit 1
fi
version="$(node -p "require('./node_modules/@action-validator/cli/package.json').version")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The validator must reject a broken workflow, or a pass below would mean nothing.
cat >"$work/broken-workflow.yml" <<'YAML'
on: push
jobs:
  build:
    steps:
      - run: echo no runs-on
YAML
if "$validator" "$work/broken-workflow.yml" >/dev/null 2>&1; then
  echo "validate-workflows: action-validator $version accepted a workflow without runs-on; not trusting it" >&2
  exit 1
fi

failed=0
passed=0
check() {
  local label="$1" file="$2" output
  if output="$("$validator" "$file" 2>&1)"; then
    echo "  ok    $label"
    passed=$((passed + 1))
  else
    echo "  FAIL  $label" >&2
    echo "$output" | sed 's/^/        /' >&2
    failed=$((failed + 1))
  fi
}

echo "validate-workflows: action-validator $version"

# action.yml. The validator's bundled schema (0.6.0) predates `runs.using: node24` and rejects it, so
# the copy it checks says node20 there; everything else is checked as written, and the real value is
# pinned here (and by test/action/action-metadata.test.ts).
if ! grep -Eq '^  using: node24$' action.yml; then
  echo "  FAIL  action.yml: runs.using must be node24" >&2
  failed=$((failed + 1))
fi
mkdir -p "$work/action"
sed -E 's/^  using: node24$/  using: node20/' action.yml >"$work/action/action.yml"
check action.yml "$work/action/action.yml"

shopt -s nullglob
files=(.github/workflows/*.yml .github/workflows/*.yaml examples/*.yml examples/*.yaml)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "validate-workflows: no workflow files found" >&2
  exit 1
fi
for file in "${files[@]}"; do
  check "$file" "$file"
done

if [[ $failed -gt 0 ]]; then
  echo "validate-workflows: $failed of $((passed + failed)) files invalid" >&2
  exit 1
fi
echo "validate-workflows: all $passed files valid"
