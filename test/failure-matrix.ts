// The workflow tier's failure matrix (test/failure-matrix.workflow.test.ts): each runbook is run
// once against stub activities that succeed, and its run's record (its steps, the undos each had
// registered, the points of no return it had passed, the gates it opened) is what every case is
// generated from: the same run with one step failing, an undo failing too, a gate rejected or
// left to expire, a failure gate decided, the environment's lock contested, every attempt of a
// step's activity failing once. An activity is tied to the step it runs for by asking the run
// (the progress query) when it is called, so a fault lands in the step it is meant for whatever
// the order of calls. What each case must end as is computed from that clean run and from the
// runbook's plan (the undos its definition declares), never written down per runbook.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { stringify as stringifyYaml } from 'yaml';
import { lockHolder } from '../activities/temporal';
import {
  approveUpdate,
  decideFailureUpdate,
  progressQuery,
  type RunProgress,
  type RunResult,
  type RunState,
  type StepStatus,
} from '../common/shared';
import type { RunbookSpec } from '../src/runbooks';
import { HEALTH_STEPS } from '../common/step-names';
import { prepareRun, startRun, type StartRequest } from '../src/start';
import { bedEnvironment } from './bed-inventory';
import { gatesOf, stepsOf, type ActivityCall } from './plan-facts';
import type { PlanItem } from '../common/plan';
import { ended } from './run-ended';
import { stubActivities } from './stub-activities';

export const INITIATOR = 'carol';
/** An approver of the test bed's inventory who did not start the runs (four eyes). */
export const APPROVER = 'alice';

/** One activity call of a driven run, and where the run was when it was made. */
export interface MatrixCall extends ActivityCall {
  /** `step`: made by a step running forward; `undo`: by a step's undo; `other`: the kernel's own. */
  phase: 'step' | 'undo' | 'other';
  /** The index of the step (in the run's record) it was made for. */
  step?: number;
  attempt: number;
  /** The run's record when it was made: undos registered since the last point of no return, and how many passed. */
  undos: string[];
  settled: number;
  stepsSoFar: number;
  failed?: boolean;
}

/** What the stubs do wrong in a run: nothing, fail a step (and an undo), or fail every step's first attempt. */
export type Fault = { kind: 'none' } | { kind: 'step'; step: number; undo?: number } | { kind: 'flaky' };

/**
 * What a driver answers at a failure gate: go on without the cause (skip where allowed, else
 * retry), roll back, or nothing.
 */
export type FailureAnswer = 'fix' | 'rollback' | 'none';

export interface Case {
  runbook: string;
  label: string;
  kind: 'step' | 'undo' | 'ask' | 'gate' | 'flaky';
  fault: Fault;
  request?: Pick<StartRequest, 'onFailure' | 'failureTimeoutMs' | 'approvalTimeoutMs'>;
  /** Approval gates answered otherwise than `approve`: `reject`, or `none` (it expires). */
  gates?: Record<string, 'reject' | 'none'>;
  failure?: FailureAnswer;
  /** At the failure gate, a second run of the runbook on the same environment must be refused, naming this one. */
  contestLock?: boolean;
  expect: Expected;
}

export interface Expected {
  state: RunState;
  /** How many steps the run records (a prefix of the clean run's). */
  steps: number;
  /** Each recorded step's status; `fixed` marks the step that failed and was retried or skipped. */
  statuses: (StepStatus | 'fixed')[];
  /** The undos that run, in order, and whether each is done or failed. */
  undone: { step: number; status: 'done' | 'failed' }[];
  /** The step a SETTLED_THEN_FAILED record names as failed (none for a rejection). */
  settledFailedStep?: number;
  gateOutcome?: { gate: string; outcome: 'rejected' | 'timed_out' };
  failureGateOutcome?: 'rollback' | 'timed_out' | 'fixed';
  /** The health check's per-host steps: their failure is the check's result, alerted, not the run's. */
  alertFor?: string;
}

/** A driven run: its fault, its calls, and how its gates are answered. */
interface Driven {
  runId: string;
  fault: Fault;
  calls: MatrixCall[];
  problems: string[];
  atGate(gate: string): Promise<void>;
  atFailureGate(): Promise<void>;
  /** What the failure gate said of its step, once it opened. */
  skippable?: boolean;
  /** Past its fault (retried or skipped at its failure gate): its calls are no longer placed (a query saved each). */
  settledDown?: boolean;
}

const runs = new Map<string, Driven>();

/** The driven run a workflow belongs to: itself, a batch child (`<run>-batch-1`) or a notice (`<run>:notice:...`). */
function runOf(workflowId: string): Driven | undefined {
  const direct = runs.get(workflowId);
  if (direct) return direct;
  for (const [id, run] of runs) if (workflowId.startsWith(`${id}-`) || workflowId.startsWith(`${id}:`)) return run;
  return undefined;
}

/** Where the run is, from its record: the step running forward or being undone that this call is for. */
function locate(call: MatrixCall, p: RunProgress, input: unknown): void {
  call.undos = [...(p.undosRegistered ?? [])];
  call.settled = p.settled.length;
  call.stepsSoFar = p.steps.length;
  const withStatus = (status: StepStatus) => p.steps.flatMap((s, i) => (s.status === status ? [i] : []));
  // Steps that run side by side (the health check's hosts) are told apart by the host the call names.
  const host = (input as { host?: unknown } | undefined)?.host;
  const pick = (indices: number[]) =>
    indices.length === 1 ? indices[0] : indices.find((i) => p.steps[i].name.endsWith(` ${String(host)}`));
  const running = withStatus('running');
  const undoing = withStatus('compensating');
  if (running.length) Object.assign(call, { phase: 'step', step: pick(running) });
  else if (undoing.length) Object.assign(call, { phase: 'undo', step: pick(undoing) });
}

function injected(fault: Fault, call: MatrixCall, p: RunProgress): ApplicationFailure | undefined {
  if (call.step === undefined) return undefined;
  const name = p.steps[call.step].name;
  if (fault.kind === 'flaky')
    return call.phase === 'step' && call.attempt === 1
      ? ApplicationFailure.retryable(`${name}: the connection dropped (failure matrix)`, 'MatrixFlaky')
      : undefined;
  if (fault.kind !== 'step') return undefined;
  // Fails until a person at its failure gate decided to retry (having "fixed the cause").
  const retried = p.failureGates?.some((g) => g.step === name && g.outcome === 'retry');
  if (call.phase === 'step' && call.step === fault.step && !retried)
    return ApplicationFailure.create({
      type: 'CommandFailed',
      message: `${name}: told to fail (failure matrix)`,
      nonRetryable: true,
      details: [{ host: 'matrix-host', stderrTail: 'told to fail' }],
    });
  if (call.phase === 'undo' && call.step === fault.undo)
    return ApplicationFailure.nonRetryable(`undo of ${name}: told to fail (failure matrix)`, 'CommandFailed');
  return undefined;
}

type Activity = (input: unknown) => Promise<unknown>;

/**
 * The stubs (test/stub-activities.ts) as the matrix's worker runs them: each call of a driven
 * run recorded with where the run was, failed where its fault says, and an opened gate handed to
 * the run's driver. The lock's holder is looked up for real, so a refusal names the run holding it.
 */
export function matrixActivities(client: Client): ReturnType<typeof stubActivities> {
  const base = { ...stubActivities([]), lockHolder } as unknown as Record<string, Activity>;
  const wrapped = Object.entries(base).map(([type, fn]) => {
    const activity = async (input: unknown) => {
      const info = Context.current().info;
      const id = info.workflowExecution?.workflowId ?? '';
      const run = runOf(id);
      // The activity boundary proves each run's start with it, inside another activity's call: never a step's.
      if (!run || type === 'proveStart') return fn(input);
      const call: MatrixCall = {
        type,
        input,
        phase: 'other',
        attempt: info.attempt,
        undos: [],
        settled: 0,
        stepsSoFar: 0,
      };
      run.calls.push(call);
      let progress: RunProgress | undefined;
      // A notice's activities run beside the run, for no step.
      if (!id.startsWith(`${run.runId}:`) && !run.settledDown) {
        progress = await client.workflow.getHandle(run.runId).query(progressQuery);
        locate(call, progress, input);
      }
      const later = (what: string, fn: () => Promise<void>) =>
        setImmediate(() => void fn().catch((err: Error) => run.problems.push(`${what}: ${err.message}`)));
      if (type === 'notifyApprovers') {
        const gate = (input as { gate: string }).gate;
        later(`answering gate ${gate}`, () => run.atGate(gate));
      }
      if (type === 'noticeTargets' && (input as { event: string }).event === 'failure_gate_opened')
        later('answering the failure gate', () => run.atFailureGate());
      const failure = progress && injected(run.fault, call, progress);
      if (failure) {
        call.failed = true;
        throw failure;
      }
      call.result = await fn(input);
      return call.result;
    };
    return [type, activity];
  });
  return Object.fromEntries(wrapped) as ReturnType<typeof stubActivities>;
}

/** Environments of the matrix, one per run (a mutating run holds its own): copies of the test bed's `local`. */
export class MatrixInventory {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'matrix-inventory-'));
  private readonly previous = process.env.RUNBOOK_INVENTORY_DIR;
  private count = 0;

  constructor() {
    process.env.RUNBOOK_INVENTORY_DIR = [this.dir, this.previous].filter(Boolean).join(':');
  }

  add(): string {
    const name = `matrix-${++this.count}`;
    fs.writeFileSync(path.join(this.dir, `${name}.yaml`), stringifyYaml(bedEnvironment(name)));
    return name;
  }

  remove(): void {
    process.env.RUNBOOK_INVENTORY_DIR = this.previous;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Driving {
  client: Client;
  queue: string;
  inventory: MatrixInventory;
}

/** A driven run's end: its result (absent when it did not end as a run ends), its calls, what went wrong driving it. */
export interface Ran {
  result?: RunResult;
  calls: MatrixCall[];
  problems: string[];
  skippable?: boolean;
}

const RUN_DEADLINE_MS = 180_000;

/** Starts one run of `spec` on an environment of its own, with `c`'s fault and answers, and waits for its end. */
export async function drive(d: Driving, spec: RunbookSpec, params: Record<string, unknown>, c?: Case): Promise<Ran> {
  const env = d.inventory.add();
  const prepared = prepareRun({
    runbook: spec.name,
    env,
    params: params as StartRequest['params'],
    initiator: INITIATOR,
    ...c?.request,
  });
  const handle = () => d.client.workflow.getHandle(prepared.runId);
  let failureGates = 0;
  const run: Driven = {
    runId: prepared.runId,
    fault: c?.fault ?? { kind: 'none' },
    calls: [],
    problems: [],
    atGate: async (gate) => {
      const answer = c?.gates?.[gate] ?? 'approve';
      if (answer === 'none') return;
      await handle().executeUpdate(approveUpdate, {
        args: [{ approver: APPROVER, decision: answer, comment: 'failure matrix' }],
      });
    },
    atFailureGate: async () => {
      // Left to expire: nothing to do, and under load the gate may be gone before its notice is out.
      if (c?.failure === 'none' && !c.contestLock) return;
      const gate = (await handle().query(progressQuery)).failureGate;
      if (!gate) throw new Error('no failure gate open when its notice went out');
      const decide = (decision: 'retry' | 'rollback' | 'skip', comment = 'failure matrix') =>
        handle().executeUpdate(decideFailureUpdate, { args: [{ decision, by: APPROVER, comment }] });
      if (++failureGates > 1) {
        run.problems.push(`a failure gate opened again, at ${gate.step}: ${gate.error}`);
        await decide('rollback');
        return;
      }
      run.skippable = gate.skippable;
      if (c?.contestLock) await contest(d, spec, params, env, prepared.runId, run.problems);
      if (c?.failure === 'rollback') await decide('rollback');
      if (c?.failure !== 'fix') return;
      if (gate.skippable) {
        await decide('skip', 'failure matrix: safe to go on without it');
        run.settledDown = true;
        return;
      }
      const refused = await decide('skip', 'failure matrix: try to skip').then(
        () => undefined,
        (err: Error) => (err.cause instanceof Error ? err.cause.message : err.message),
      );
      if (!refused || !/may not be skipped/.test(refused))
        run.problems.push(`skipping ${gate.step} (not skippable) was not refused: ${refused ?? 'accepted'}`);
      else {
        await decide('retry');
        run.settledDown = true;
      }
    },
  };
  runs.set(prepared.runId, run);
  try {
    const { admission } = await startRun(d.client, prepared, d.queue);
    if (!admission.admitted) return { calls: run.calls, problems: [`refused: ${admission.reason}`] };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<undefined>(
      (resolve) => (timer = setTimeout(() => resolve(undefined), RUN_DEADLINE_MS)),
    );
    const outcome = await Promise.race([ended(handle()).catch((err: Error) => err), deadline]);
    clearTimeout(timer);
    if (outcome === undefined) {
      await handle().terminate('the failure matrix gave up on it');
      return { ...run, problems: [...run.problems, `did not end within ${RUN_DEADLINE_MS / 1000}s`] };
    }
    if (outcome instanceof Error) return { ...run, problems: [...run.problems, `ended oddly: ${outcome.message}`] };
    return { result: outcome.result, calls: run.calls, problems: run.problems, skippable: run.skippable };
  } finally {
    runs.delete(prepared.runId);
  }
}

/** A second mutating run on the environment `holder` holds: refused at once, naming the holder. */
async function contest(
  d: Driving,
  spec: RunbookSpec,
  params: Record<string, unknown>,
  env: string,
  holder: string,
  problems: string[],
): Promise<void> {
  const second = prepareRun({
    runbook: spec.name,
    env,
    params: params as StartRequest['params'],
    initiator: INITIATOR,
  });
  const { handle, admission } = await startRun(d.client, second, d.queue);
  if (admission.admitted) {
    problems.push(`a second ${spec.name} on ${env} was admitted while ${holder} held it`);
    await handle.terminate('the failure matrix: should have been refused');
  } else if (!admission.reason?.includes(holder))
    problems.push(`the second run's refusal does not name ${holder}: ${admission.reason}`);
  else {
    const { result } = await ended(handle);
    if (result.state !== 'REFUSED') problems.push(`the refused run ended ${result.state}`);
  }
}

/** What the matrix learns from a runbook's clean run, and cases are generated from. */
export interface Profile {
  spec: RunbookSpec;
  params: Record<string, unknown>;
  steps: string[];
  /** Per step: the undos registered and points of no return passed when it ran; absent where it calls no activity. */
  at: ({ undos: string[]; settled: number } | undefined)[];
  /** Whether the runbook's plan declares an undo for the step. */
  undoes: boolean[];
  /** Whether the plan says an approver may skip the step at its failure gate. */
  skippable: boolean[];
  /** The undos a completed run still has registered: those after its last point of no return. */
  registeredAtEnd: string[];
  gates: { name: string; stepsBefore: number; settled: number }[];
  /** The health check's per-host steps, whose failure is the check's result: the host each checks. */
  tolerated: (string | undefined)[];
  calls: MatrixCall[];
}

/** Step names that differ run to run (a backup's time, a database kept aside under a fresh tag), made comparable. */
export const comparable = (name: string) =>
  name
    .replace(/\bmatrix-\d+\b/g, '<env>')
    .replace(/\d{8}T\d{6}Z/g, '<time>')
    .replace(/runbook_previous_[0-9a-f]{12}/g, 'runbook_previous_<tag>');

/** Reads the clean run (every gate approved, nothing failing); returns what is wrong with it, or its profile. */
export function profileOf(
  spec: RunbookSpec,
  params: Record<string, unknown>,
  ran: Ran,
  plan: PlanItem[],
): Profile | string[] {
  const problems = [...ran.problems];
  if (!ran.result) return [...problems, 'the clean run did not end'];
  const p = ran.result.progress;
  if (ran.result.state !== 'COMPLETED') return [...problems, `the clean run ended ${ran.result.state}: ${p.reason}`];
  const steps = p.steps.map((s) => s.name);
  const planned = plan.filter((i): i is Extract<typeof i, { step: string }> => 'step' in i);
  // The plan is what the matrix reads undos from: it must be this run's steps (workflow-plans checks the names too).
  if (JSON.stringify(stepsOf(plan).map(comparable)) !== JSON.stringify(steps.map(comparable)))
    problems.push(`the plan's steps ${JSON.stringify(stepsOf(plan))} are not the run's ${JSON.stringify(steps)}`);
  const undoes = planned.map((s) => s.undo !== undefined);
  const skippable = planned.map((s) => s.skippable !== undefined);
  // What the run registered (kept at each point of no return, then since the last) is what the plan says has an undo.
  const registered = [...p.settled.flatMap((s) => s.steps), ...(p.undosRegistered ?? [])];
  const declared = steps.filter((_, i) => undoes[i]);
  if (JSON.stringify(registered) !== JSON.stringify(declared))
    problems.push(
      `the run registered undos for ${JSON.stringify(registered)}; its plan declares ${JSON.stringify(declared)}`,
    );
  const at = steps.map((_, i) => {
    const first = ran.calls.find((c) => c.phase === 'step' && c.step === i);
    return first && { undos: first.undos, settled: first.settled };
  });
  const gates = ran.calls
    .filter((c) => c.type === 'notifyApprovers')
    .map((c) => ({ name: (c.input as { gate: string }).gate, stepsBefore: c.stepsSoFar, settled: c.settled }));
  if (JSON.stringify(gates.map((g) => g.name)) !== JSON.stringify(gatesOf(plan)))
    problems.push(
      `the gates that opened ${JSON.stringify(gates.map((g) => g.name))} ` +
        `are not the plan's ${JSON.stringify(gatesOf(plan))}`,
    );
  // A step run beside others (the health check's hosts) is one the procedure goes on past: its failure is a result.
  const overlapping = (i: number) =>
    p.steps.some((s, j) => j !== i && s.startedAt < p.steps[i].endedAt! && p.steps[i].startedAt < s.endedAt!);
  const tolerated = steps.map((name, i) =>
    spec.name === 'health-check' && overlapping(i) ? name.replace(/^check /, '') : undefined,
  );
  if (problems.length) return problems;
  const registeredAtEnd = p.undosRegistered ?? [];
  return { spec, params, steps, at, undoes, skippable, registeredAtEnd, gates, tolerated, calls: ran.calls };
}

const failable = (pr: Profile) => pr.steps.flatMap((_, i) => (pr.at[i] ? [i] : []));

/** The undos a run stopped after `count` steps runs, newest first: those since its last point of no return. */
function undosAfter(pr: Profile, count: number, settled: number): number[] {
  const segment = (j: number) => pr.at[j]?.settled ?? -1;
  return pr.steps.flatMap((_, j) => (j < count && pr.undoes[j] && segment(j) === settled ? [j] : [])).reverse();
}

/** A run stopped after `count` steps (the last failed when `failed`), every undo since its last settle point run. */
function stopped(pr: Profile, count: number, settled: number, failed?: number, undoFails?: number): Expected {
  const undone = undosAfter(pr, count, settled).map((step) => ({
    step,
    status: step === undoFails ? ('failed' as const) : ('done' as const),
  }));
  const statuses = pr.steps.slice(0, count).map((_, i): StepStatus => {
    const u = undone.find((x) => x.step === i);
    if (u) return u.status === 'done' ? 'compensated' : 'compensation_failed';
    return i === failed ? 'failed' : 'done';
  });
  const left = undone.some((u) => u.status === 'failed');
  return {
    state: settled > 0 ? 'SETTLED_THEN_FAILED' : left ? 'FAILED_COMPENSATION' : 'COMPENSATED',
    steps: count,
    statuses,
    undone,
    ...(settled > 0 && failed !== undefined ? { settledFailedStep: failed } : {}),
  };
}

const completed = (pr: Profile, fixed?: number): Expected => ({
  state: 'COMPLETED',
  steps: pr.steps.length,
  statuses: pr.steps.map((_, i) => (i === fixed ? 'fixed' : 'done')),
  undone: [],
});

/** Every case of a runbook, generated from its clean run. */
export function casesOf(pr: Profile): Case[] {
  const name = pr.spec.name;
  const steps = failable(pr);
  const ruled = steps.filter((i) => !pr.tolerated[i]);
  const label = (i: number) => `step ${i + 1} "${pr.steps[i]}"`;
  const cases: Case[] = [];
  for (const i of steps) {
    const host = pr.tolerated[i];
    cases.push({
      runbook: name,
      kind: 'step',
      label: `${label(i)} fails`,
      fault: { kind: 'step', step: i },
      // Its checks count as failing: an alert step comes before the summary, which is the last step.
      expect: host
        ? {
            state: 'COMPLETED',
            steps: pr.steps.length - 1,
            statuses: pr.steps.slice(0, -1).map((_, j) => (j === i ? 'failed' : 'done')),
            undone: [],
            alertFor: host,
          }
        : stopped(pr, i + 1, pr.at[i]!.settled, i),
    });
    // A skip is tried at every skippable step, and refused at the first step that is not (the lock checked there).
    if (!pr.skippable[i] && i !== steps[0]) continue;
    cases.push({
      runbook: name,
      kind: 'ask',
      label: `${label(i)} fails, on-failure ask: fixed at its failure gate`,
      fault: { kind: 'step', step: i },
      request: { onFailure: 'ask', failureTimeoutMs: 600_000 },
      failure: 'fix',
      // The first failable step of a mutating runbook also checks the lock while the run waits.
      contestLock: pr.spec.mutating && i === steps[0],
      expect: { ...completed(pr, i), failureGateOutcome: 'fixed' },
    });
  }
  // An undo failing: the latest failable step of the undo's stretch (between points of no return) fails.
  for (const j of pr.steps.keys()) {
    if (!pr.undoes[j]) continue;
    const settled = pr.at[j]?.settled;
    const last = ruled.filter((i) => i >= j && pr.at[i]!.settled === settled).pop();
    if (last === undefined || settled === undefined) continue;
    cases.push({
      runbook: name,
      kind: 'undo',
      label: `${label(last)} fails and the undo of ${label(j)} fails too`,
      fault: { kind: 'step', step: last, undo: j },
      expect: stopped(pr, last + 1, settled, last, j),
    });
  }
  if (ruled.length) {
    const first = ruled[0];
    const beforeSettle = ruled.filter((i) => pr.at[i]!.settled === 0);
    const rollback = beforeSettle.length ? beforeSettle[beforeSettle.length - 1] : ruled[ruled.length - 1];
    cases.push({
      runbook: name,
      kind: 'ask',
      label: `${label(rollback)} fails, on-failure ask: rolled back at its failure gate`,
      fault: { kind: 'step', step: rollback },
      request: { onFailure: 'ask', failureTimeoutMs: 600_000 },
      failure: 'rollback',
      expect: { ...stopped(pr, rollback + 1, pr.at[rollback]!.settled, rollback), failureGateOutcome: 'rollback' },
    });
    cases.push({
      runbook: name,
      kind: 'ask',
      label: `${label(first)} fails, on-failure ask: nobody decides within 2 s`,
      fault: { kind: 'step', step: first },
      request: { onFailure: 'ask', failureTimeoutMs: 2_000 },
      failure: 'none',
      expect: { ...stopped(pr, first + 1, pr.at[first]!.settled, first), failureGateOutcome: 'timed_out' },
    });
  }
  for (const gate of pr.gates) {
    for (const answer of ['reject', 'none'] as const) {
      const outcome = answer === 'reject' ? 'rejected' : 'timed_out';
      cases.push({
        runbook: name,
        kind: 'gate',
        label: `gate "${gate.name}" ${outcome === 'rejected' ? 'rejected' : 'left to expire (5 s)'}`,
        fault: { kind: 'none' },
        gates: { [gate.name]: answer },
        ...(answer === 'none' ? { request: { approvalTimeoutMs: 5_000 } } : {}),
        expect: { ...stopped(pr, gate.stepsBefore, gate.settled), gateOutcome: { gate: gate.name, outcome } },
      });
    }
  }
  cases.push({
    runbook: name,
    kind: 'flaky',
    label: "every step's activities fail their first attempt (a dropped connection), then succeed",
    fault: { kind: 'flaky' },
    expect: completed(pr),
  });
  return cases;
}

/** What is wrong with how a case's run ended, given the clean run it was generated from. */
export function verdict(c: Case, pr: Profile, ran: Ran): string[] {
  const problems = [...ran.problems];
  const e = c.expect;
  if (!ran.result) return problems.length ? problems : ['no result'];
  const p = ran.result.progress;
  const same = (what: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected))
      problems.push(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  };
  same('state', ran.result.state, e.state);
  // A failed host check adds its alert, and the summary says so: those two are checked below.
  const recorded = e.alertFor ? p.steps.slice(0, e.steps) : p.steps;
  same(
    'steps',
    recorded.map((s) => comparable(s.name)),
    pr.steps.slice(0, e.steps).map(comparable),
  );
  const fixed = ran.skippable ? 'skipped' : 'done';
  // The failure gate's word on skipping is the dry run's.
  if (e.failureGateOutcome === 'fixed' && c.fault.kind === 'step' && ran.skippable !== undefined)
    same('skippable as planned', ran.skippable, pr.skippable[c.fault.step]);
  same(
    'step statuses',
    recorded.map((s) => s.status),
    e.statuses.map((s) => (s === 'fixed' ? fixed : s)),
  );
  same(
    'undos run',
    p.compensations.map((u) => [comparable(u.step), u.status]),
    e.undone.map((u) => [comparable(pr.steps[u.step]), u.status]),
  );
  same(
    'left to undo',
    p.leftToUndo.map(comparable),
    e.undone.filter((u) => u.status === 'failed').map((u) => comparable(pr.steps[u.step])),
  );
  // A run that completed keeps the undos registered since its last point of no return; one undone, none.
  same('undos still registered', p.undosRegistered ?? [], e.state === 'COMPLETED' ? pr.registeredAtEnd : []);
  // Each undo the record says ran called its activities; nothing else was undone.
  const undoCalls = ran.calls.filter((x) => x.phase === 'undo');
  same(
    'steps whose undo called an activity',
    [...new Set(undoCalls.map((x) => x.step))].sort(),
    e.undone.map((u) => u.step).sort(),
  );
  if (e.state === 'SETTLED_THEN_FAILED') {
    const record = p.settledFailure;
    if (!record) problems.push('no settledFailure record');
    else {
      same(
        'settledFailure.failedStep',
        record.failedStep && comparable(record.failedStep),
        e.settledFailedStep === undefined ? undefined : comparable(pr.steps[e.settledFailedStep]),
      );
      if (e.undone.some((u) => u.status === 'failed') && !record.todo.some((t) => t.startsWith('undo by hand')))
        problems.push(`settledFailure.todo does not say what to undo by hand: ${JSON.stringify(record.todo)}`);
    }
  } else if (p.settledFailure) problems.push(`a settledFailure record on a run that ended ${ran.result.state}`);
  if (e.gateOutcome) {
    const gate = p.gates.find((g) => g.name === e.gateOutcome!.gate);
    same(`gate ${e.gateOutcome.gate}`, gate?.outcome, e.gateOutcome.outcome);
  } else
    same(
      'gate outcomes',
      p.gates.map((g) => g.outcome),
      p.gates.map(() => 'approved'),
    );
  const gates = p.failureGates ?? [];
  if (e.failureGateOutcome) {
    const want = e.failureGateOutcome === 'fixed' ? (ran.skippable ? 'skip' : 'retry') : e.failureGateOutcome;
    const failedStep = e.statuses.findIndex((s) => s === 'fixed' || s === 'failed' || s === 'compensated');
    same(
      'failure gates',
      gates.map((g) => [comparable(g.step), g.outcome]),
      [[comparable(pr.steps[c.fault.kind === 'step' ? c.fault.step : failedStep]), want]],
    );
  } else same('failure gates', gates.length, 0);
  if (e.alertFor) {
    const key = `${e.alertFor}/checks`;
    const [alert, summary, ...more] = p.steps.slice(e.steps).map((s) => s.name);
    same('alert step', alert, HEALTH_STEPS.alertFailing([key]));
    if (!summary?.endsWith(`checks failing: ${key}`) || more.length)
      problems.push(`the summary does not name ${key} failing: ${JSON.stringify([summary, ...more])}`);
  }
  if (c.kind === 'flaky') {
    // Each activity a step called failed once and then acted once: as many successes of each as the clean run had.
    const acted = (calls: MatrixCall[]) =>
      calls
        .filter((x) => x.phase === 'step' && !x.failed)
        .map((x) => x.type)
        .sort();
    same('activities that acted', acted(ran.calls), acted(pr.calls));
    same(
      'first attempts failed',
      ran.calls
        .filter((x) => x.failed)
        .map((x) => x.type)
        .sort(),
      acted(pr.calls),
    );
  }
  return problems;
}

/** Runs `fn` on every item, at most `limit` at a time. */
export async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
