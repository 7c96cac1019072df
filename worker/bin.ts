#!/usr/bin/env node
// `runbook-worker`, the installed package's worker: checks the Node version, then runs the worker
// on the workflow bundle prebuilt when the package was packed (dist/workflow-bundle.js, no webpack
// at start), unless RUNBOOK_WORKFLOW_BUNDLE names another.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeRefusal } from './check-node';

/** The bundle `npm pack` builds into the package (scripts/prepack.sh). */
export const packagedBundle = path.join(__dirname, '..', 'workflow-bundle.js');

async function main(): Promise<void> {
  const refusal = nodeRefusal();
  if (refusal) throw new Error(refusal);
  if (process.argv.includes('--make-seal-key')) {
    const { makeSealKey } = await import('./seal.js');
    console.log(`made the worker seal key ${makeSealKey()}: give every worker of the namespace this same file`);
    return;
  }
  if (!process.env.RUNBOOK_WORKFLOW_BUNDLE && fs.existsSync(packagedBundle))
    process.env.RUNBOOK_WORKFLOW_BUNDLE = packagedBundle;
  // Loaded after the check: on an old Node the SDK fails without saying why.
  const { exitWhenDone, runWorker } = await import('./main.js');
  exitWhenDone(runWorker());
}

main().catch((err) => {
  console.error(`runbook-worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
