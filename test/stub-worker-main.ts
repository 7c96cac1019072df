// The production worker entry (worker/main.ts: its telemetry, its log) with stub activities, for
// workflow-tier tests that read a worker process's output: no host is touched.
import { exitWhenDone, runWorker } from '../worker/main';
import { workerOptions } from '../worker/worker-options';
import { stubActivities } from './stub-activities';
import { kernelStubs } from './kernel-stubs';
import { deliverNotice, noticeTargets } from '../activities/notify';
import './test-runbooks';

// RUNBOOK_TEST_NOTICES=1: notices go to the environment's real targets (local receivers).
const notices = process.env.RUNBOOK_TEST_NOTICES === '1' ? { noticeTargets, deliverNotice } : {};
exitWhenDone(runWorker(workerOptions(undefined, { ...stubActivities([]), ...kernelStubs, ...notices })));
