// The worker's side of the workflows' metrics sink (workflows/kernel/metrics.ts): each metric
// made once on the runtime's meter, labelled in snake_case with the run's namespace, task queue
// and workflow type beside the tags the workflow gives. Not called during replay, so a run is
// counted once whichever worker ran it.
import type { WorkflowInfo } from '@temporalio/workflow';
import { Runtime, type InjectedSinks } from '@temporalio/worker';
import type { MetricCounter, MetricHistogram } from '@temporalio/common';
import { WORKFLOW_METRICS, type MetricSinks, type WorkflowMetric } from '../workflows/kernel/metrics';

export function workflowMetricSinks(): InjectedSinks<MetricSinks> {
  const made = new Map<WorkflowMetric, MetricCounter | MetricHistogram>();
  const meter = (metric: WorkflowMetric): MetricCounter | MetricHistogram => {
    let m = made.get(metric);
    if (!m) {
      const { kind, unit, help } = WORKFLOW_METRICS[metric];
      const runtimeMeter = Runtime.instance().metricMeter;
      m =
        kind === 'counter'
          ? runtimeMeter.createCounter(metric, unit, help)
          : runtimeMeter.createHistogram(metric, 'float', unit, help);
      made.set(metric, m);
    }
    return m;
  };
  return {
    runbookMetrics: {
      emit: {
        fn(info: WorkflowInfo, metric: WorkflowMetric, value: number, tags: Record<string, string>) {
          // Only the metrics the engine declares: the sink is called by workflow code, ours.
          if (!Object.hasOwn(WORKFLOW_METRICS, metric)) return;
          const labels = {
            ...tags,
            namespace: info.namespace,
            task_queue: info.taskQueue,
            workflow_type: info.workflowType,
          };
          const m = meter(metric);
          if ('add' in m) m.add(value, labels);
          else m.record(value, labels);
        },
        callDuringReplay: false,
      },
    },
  };
}
