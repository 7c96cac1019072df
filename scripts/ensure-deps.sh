#!/usr/bin/env bash
# Makes a fresh clone runnable: npm packages as locked, then the TypeScript build (incremental).
# Called by the npm scripts, so `npm run demo` and `npm test` work on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "installing npm packages (package-lock.json)..." >&2
  # Not `npm ci`: the registry reached here serves no metadata for some other platforms'
  # optional packages (@swc/core-darwin-*), so the lock file lacks them and ci refuses it;
  # install still takes the locked version of everything it installs.
  npm install --no-audit --no-fund --loglevel=error >&2
fi
node_modules/.bin/tsc -p tsconfig.json
