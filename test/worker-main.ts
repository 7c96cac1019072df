// The production worker entry with the test-only activities added, for tests that kill a
// worker process running the test workflows (the kernel's three-step runbook).
import { exitWhenDone, runWorker } from '../worker/main';
import { workerOptions } from '../worker/worker-options';
import { testActivities } from './activities';
import './test-runbooks';

exitWhenDone(runWorker(workerOptions(undefined, testActivities)));
