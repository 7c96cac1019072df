// The production worker entry (worker/main.ts: its telemetry, its log) with stub activities, for
// workflow-tier tests that read a worker process's output: no host is touched.
import { exitWhenDone, runWorker } from '../worker/main';
import { workerOptions } from '../worker/worker-options';
import { stubActivities } from './stub-activities';
import { kernelStubs } from './kernel-stubs';
import './test-runbooks';

exitWhenDone(runWorker(workerOptions(undefined, { ...stubActivities([]), ...kernelStubs })));
