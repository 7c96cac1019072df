#!/usr/bin/env bash
# `npm pack` (prepack): what the installed package needs to run, built here so that installing it
# needs no TypeScript: the compiled code (without outputs whose source is gone), the workflow
# bundle `runbook-worker` loads without webpack, and npm-shrinkwrap.json (a copy of the lock, so
# the tarball installs the very versions the tests ran; postpack deletes it again).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
packed=(dist/activities dist/cli dist/common dist/runbooks dist/src dist/worker dist/workflows)
while IFS= read -r -d '' js; do
  source=${js#dist/}
  [[ -f ${source%.js}.ts ]] || rm -f -- "$js" "$js.map"
done < <(find "${packed[@]}" -name '*.js' -print0)
node dist/worker/build-bundle.js >&2
cp package-lock.json npm-shrinkwrap.json
