// Who may make the worker act. The activities hold the SSH key, the secrets and the store, and
// Temporal hands them to whoever schedules them on this task queue: any workflow, on any queue,
// with any arguments. So before an activity that reads or acts runs, the worker looks at the
// execution that scheduled it (named by the server in the activity's own context, never by its
// arguments): it must be a runbook of ours running on this very task queue (so its code is
// ours), or one of a run's batches whose parent is that run; the run's start must still prove
// itself here (a forged "proven" verdict in its history proves nothing); and an `env` argument
// must be the run's own environment. Looking is cached per execution: the facts never change.
// Why a look rather than a capability carried in headers: a capability only shows that some
// admitted run made it, and is readable in history by every operator; the look shows which
// run is asking, and costs one history page per run and worker.
// What the run was told by the admission activities (which need no caller: they touch nothing)
// is sealed by the worker as it answers, and before acting the worker checks that every verdict
// the run holds bears that seal (./admission-audit.ts): a verdict forged by completing the
// activity by its id cannot open a gate or widen a run's rules.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import {
  Runtime,
  type ActivityExecuteInput,
  type ActivityInboundCallsInterceptor,
  type Next,
} from '@temporalio/worker';
import { activityKind, ANY_RUNBOOK, INTERNAL_WORKFLOWS } from '../activities/registry';
import { dryRunIdRefusal, isRunbookWorkflow } from '../activities/policy';
import { DRY_RUN_WORKFLOW } from '../common/plan-mode';
import type { StartIdentity, StartToProve } from '../activities/identity/start';
import { temporalClient } from '../activities/temporal-client';
import { FailureType } from '../common/failure-types';
import type { RunInput } from '../common/shared';
import { startToProve } from '../common/start-to-prove';
import { AdmissionAudit } from './admission-audit';
import { loadSealKey, seal, type SealKey } from './seal';

interface Execution {
  workflowId: string;
  runId: string;
}

/** What the server recorded when an execution started. */
interface Started {
  execution: Execution;
  type: string;
  taskQueue: string;
  parent?: Execution;
  startTime: Date;
  input: unknown;
}

/** Whether a run may have the worker read and act for it, and in which environment. */
type Verdict = RunFacts | { refused: string };

/** What the worker knows of an admitted run: what its activities' log lines name. */
export interface RunFacts {
  env: string;
  runbook: string;
}

// The facts of the run behind each admitted activity, for the activity log (worker/activity-log.ts).
const factsOf = new WeakMap<Context, RunFacts>();

/** The admitted run behind the activity of `ctx`, once the boundary has let it through. */
export function admittedRun(ctx: Context): RunFacts | undefined {
  return factsOf.get(ctx);
}

/** The start check the worker runs: the real proveStart, or a test worker's stand-in for it. */
export type ProveStart = (start: StartToProve) => Promise<StartIdentity>;

const MAX_CACHED = 10_000;

// Workflows of the tests' own that drive activities directly (test/workflows.ts): not runs.
const testDrivers = new Set<string>();

/** Lets the tests' driver workflows through (test/test-runbooks.ts). A production worker never calls it. */
export function admitTestDrivers(...workflowTypes: string[]): void {
  for (const t of workflowTypes) testDrivers.add(t);
}

export class ActivityBoundary {
  private readonly started = new Map<string, Promise<Started>>();
  private readonly verdicts = new Map<string, Promise<Verdict>>();
  private key?: { seal: SealKey; audit: AdmissionAudit };

  /** `sealKey`: the workers' seal key; read (or made) at the first activity, not when the worker is made. */
  constructor(
    private readonly proveStart: ProveStart,
    private readonly sealKey: () => SealKey = loadSealKey,
  ) {}

  private sealing(): { seal: SealKey; audit: AdmissionAudit } {
    if (!this.key) {
      const key = this.sealKey();
      this.key = { seal: key, audit: new AdmissionAudit(key) };
    }
    return this.key;
  }

  /** An admission activity's answer, sealed for the activity it answers (./seal.ts). */
  sealed(info: Context['info'], result: unknown): unknown {
    if (activityKind(info.activityType) !== 'admission' || !info.workflowExecution) return result;
    if (typeof result !== 'object' || result === null || Array.isArray(result)) return result;
    const what = {
      namespace: info.workflowNamespace ?? '',
      ...info.workflowExecution,
      activityId: info.activityId,
      activityType: info.activityType,
    };
    return { ...result, seal: seal(this.sealing().seal, what, result) };
  }

  /**
   * Refuses (non-retryable, CallerRefused) unless the activity's caller is a run the worker admits;
   * returns that run's facts (none for admission activities and the tests' drivers).
   */
  async check(info: Context['info'], args: unknown[]): Promise<RunFacts | undefined> {
    if (activityKind(info.activityType) === 'admission') return undefined;
    const refuse = (why: string): never => {
      Runtime.instance().logger.warn('activity refused', {
        activity: info.activityType,
        workflowType: String(info.workflowType ?? 'no workflow').slice(0, 100),
        workflowId: String(info.workflowExecution?.workflowId ?? '').slice(0, 200),
        why,
      });
      throw ApplicationFailure.create({
        type: FailureType.CallerRefused,
        message: `refused: ${info.activityType} answers only to runs this worker admitted; ${why}`,
        nonRetryable: true,
      });
    };
    const client = await temporalClient();
    if (info.workflowNamespace !== client.options.namespace)
      refuse(`scheduled from namespace ${info.workflowNamespace}`);
    if (!info.workflowExecution) return refuse('no workflow scheduled it');
    const caller = await this.startOf(info.workflowExecution);
    if (caller.taskQueue !== info.taskQueue)
      refuse(`its workflow runs on task queue ${show(caller.taskQueue)}, not ${info.taskQueue}`);
    if (testDrivers.has(caller.type)) return undefined;
    let run = caller;
    const parentType = INTERNAL_WORKFLOWS[caller.type];
    if (parentType !== undefined) {
      if (!caller.parent) return refuse(`a ${caller.type} was started on its own, not by a ${parentType} run`);
      run = await this.startOf(caller.parent);
      const expected = parentType === ANY_RUNBOOK ? isRunbookWorkflow(run.type) : run.type === parentType;
      if (!expected || run.taskQueue !== info.taskQueue)
        refuse(`a ${caller.type} whose parent is a ${show(run.type)} on ${show(run.taskQueue)}`);
    } else if (!isRunbookWorkflow(caller.type)) {
      refuse(`${show(caller.type)} is not a runbook of this worker`);
    }
    const wrongId = dryRunIdRefusal(run.type, run.execution.workflowId);
    if (wrongId) refuse(wrongId);
    const verdict = await this.verdictOf(run);
    if ('refused' in verdict) return refuse(verdict.refused);
    // A dry run reads to plan; whatever its code asks, it changes nothing.
    if (run.type === DRY_RUN_WORKFLOW && activityKind(info.activityType) === 'acts')
      refuse(`a dry run changes nothing`);
    if (activityKind(info.activityType) === 'acts') {
      // A batch acts on what its run had decided when it started it; a run, on all it decided so far.
      const covered = run === caller ? info.scheduledTimestampMs : caller.startTime.getTime();
      const forged = await this.sealing().audit.refusal(run.execution, covered);
      if (forged) refuse(forged);
    }
    const env = (args[0] as { env?: unknown } | undefined)?.env;
    if (env !== undefined && env !== verdict.env)
      refuse(`it names environment ${show(env)}, and its run is on ${verdict.env}`);
    return verdict;
  }

  private startOf(execution: Execution): Promise<Started> {
    return cached(this.started, key(execution), () => readStart(execution));
  }

  private verdictOf(run: Started): Promise<Verdict> {
    return cached(this.verdicts, key(run.execution), async () => {
      const input = run.input as RunInput | undefined;
      if (typeof input !== 'object' || input === null || typeof input.env !== 'string')
        return { refused: 'its run has no environment' };
      const client = await temporalClient();
      // As the run's own start check (workflows/kernel/identity.ts), at the instant it started.
      const proven = await this.proveStart({
        ...startToProve(input, { namespace: client.options.namespace, ...run.execution, parent: run.parent }),
        atMs: run.startTime.getTime(),
      }).catch((err: unknown) => {
        if (err instanceof ApplicationFailure && err.nonRetryable) return { refused: err.message };
        throw err;
      });
      if ('refused' in proven && proven.refused)
        return { refused: `its start does not prove itself: ${proven.refused}` };
      return { env: input.env, runbook: String(input.runbook).slice(0, 100) };
    });
  }
}

async function readStart(execution: Execution): Promise<Started> {
  const client = await temporalClient();
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution,
    maximumPageSize: 1,
  });
  const event = history?.events?.[0];
  const started = event?.workflowExecutionStartedEventAttributes;
  if (!started) throw new Error(`no start recorded for ${execution.workflowId} ${execution.runId}`);
  const [input] = await decodeArrayFromPayloads(
    client.options.loadedDataConverter,
    started.input?.payloads ?? [],
  ).catch(() => [undefined]);
  const parent = started.parentWorkflowExecution;
  return {
    execution,
    type: started.workflowType?.name ?? '',
    taskQueue: started.taskQueue?.name ?? '',
    ...(parent?.workflowId && parent.runId ? { parent: { workflowId: parent.workflowId, runId: parent.runId } } : {}),
    startTime: new Date(Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6)),
    input,
  };
}

/** A value computed once per key; a failure (Temporal unreachable) is not kept, so a retry asks again. */
function cached<T>(map: Map<string, Promise<T>>, k: string, make: () => Promise<T>): Promise<T> {
  let value = map.get(k);
  if (!value) {
    if (map.size >= MAX_CACHED) map.delete(map.keys().next().value!);
    value = make();
    map.set(k, value);
    value.catch(() => map.delete(k));
  }
  return value;
}

function key(e: Execution): string {
  return `${e.workflowId}\n${e.runId}`;
}

/** A name from a caller, quoted and cut short for a log line or an error. */
function show(value: unknown): string {
  return JSON.stringify(String(value).slice(0, 100));
}

class BoundaryInterceptor implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly boundary: ActivityBoundary,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const facts = await this.boundary.check(this.ctx.info, input.args);
    if (facts) factsOf.set(this.ctx, facts);
    return this.boundary.sealed(this.ctx.info, await next(input));
  }
}

/** The interceptor factory for a worker whose start check is `proveStart`. */
export function activityBoundary(proveStart: ProveStart, sealKey?: () => SealKey) {
  const boundary = new ActivityBoundary(proveStart, sealKey);
  return (ctx: Context) => ({ inbound: new BoundaryInterceptor(ctx, boundary) });
}
