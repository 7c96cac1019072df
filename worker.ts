#!/usr/bin/env node
// The worker's entry: every runbook and activity on one task queue until SIGINT or SIGTERM
// (worker/main.ts). `runbook-worker`, the installed package's, is worker/bin.ts.
import { exitWhenDone, runWorker } from './worker/main';

export { runWorker };

if (require.main === module) exitWhenDone(runWorker());
