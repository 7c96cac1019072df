// The worker's activation timeout is an option the SDK's types do not list: this checks the SDK
// still takes it, so an upgrade that drops it fails here rather than as a worker killed by a
// signal flood (worker/worker-options.ts says why).
import { strict as assert } from 'node:assert';
import { noopMetricMeter } from '@temporalio/common';
import { compileWorkerOptions } from '@temporalio/worker/lib/worker-options';
import { workerOptions } from '../worker/worker-options';

const noop = () => undefined;
const logger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

describe('worker options', function () {
  it('give a workflow activation 60 s before the SDK cuts it, not its 5 s', function () {
    const compiled = compileWorkerOptions(
      { ...workerOptions(), workflowBundle: { code: '' } },
      logger,
      noopMetricMeter,
    );
    assert.equal(compiled.isolateExecutionTimeoutMs, 60_000);
  });
});
