// A worker process for the lost-worker bench: the production worker (its liveness heartbeat,
// throttling and shutdown) with the bench's workflows (RUNBOOK_WORKFLOW_BUNDLE) and activities.
import { exitWhenDone, runWorker } from '../worker/main';
import { workerOptions } from '../worker/worker-options';
import * as activities from './activities';

exitWhenDone(runWorker(workerOptions(undefined, activities)));
