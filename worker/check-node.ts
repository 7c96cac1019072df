// The Node version check of the worker's systemd unit (ExecStartPre) and of `runbook-worker`:
// Debian 12's own nodejs package is Node 18, below what the engine needs, and the SDK fails on it
// in ways that do not say so. Node built-ins only, so it loads on any Node that can say this.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The major version package.json's "engines" asks for (">=20" → 20). */
export function requiredNodeMajor(): number {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    engines?: { node?: string };
  };
  const wanted = /^>=\s*(\d+)/.exec(pkg.engines?.node ?? '');
  if (!wanted) throw new Error(`package.json: engines.node ${JSON.stringify(pkg.engines?.node)} is not ">=N"`);
  return Number(wanted[1]);
}

/** Why this Node cannot run the worker, if it cannot. */
export function nodeRefusal(version = process.versions.node, executable = process.execPath): string | undefined {
  const required = requiredNodeMajor();
  const major = Number(version.split('.')[0]);
  if (major >= required) return undefined;
  return (
    `runbook needs Node >= ${required}; ${executable} is Node ${version}` +
    ` (Debian 12's own nodejs package is 18): install Node ${required} or later from NodeSource's` +
    ` deb repository or the Node tarball (docs/install.md)`
  );
}

if (require.main === module) {
  const refusal = nodeRefusal();
  if (refusal) {
    console.error(refusal);
    process.exit(1);
  }
}
