#!/usr/bin/env bash
# Makes a fresh clone runnable: npm packages exactly as locked, then the TypeScript build
# (incremental). Called by the npm scripts, so `npm run demo` and `npm test` work on a fresh
# machine, and never change a tracked file: `npm ci` installs from package-lock.json and
# refuses to rewrite it. A clone is for developing the engine; hosts install the packed
# tarball (docs/install.md), which needs no TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
installed=node_modules/.package-lock.json
if [[ ! -f $installed || package-lock.json -nt $installed ]]; then
  echo "installing npm packages as locked (npm ci; first run on this clone: about a minute)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
if [[ ! -x node_modules/.bin/tsc ]]; then
  echo "TypeScript (a dev dependency) is not installed in this clone: was it installed with" \
    "--omit=dev? Run npm ci here, or install the packed tarball instead (docs/install.md)." >&2
  exit 1
fi
node_modules/.bin/tsc -p tsconfig.json
