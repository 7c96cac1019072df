// The `runbook` commands. Each validates its input fully before touching Temporal.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ConnectionError, UsageError } from '../src/errors';
import { parseDuration } from '../common/duration';
import { maskSecrets } from '../common/shared';
import {
  approveUpdate,
  freezeRefusal,
  prepareRun,
  readStatus,
  RunbookEnvKey,
  RunbookNameKey,
  RunbookStateKey,
  startRun,
  type ApprovalInput,
} from '../client';
import { taskQueue } from '../src/config';
import { actor, asksHelp, paramsGiven, parse, runbookArg, runIdArg } from './args';
import { paramsInUse, runbookHelp, START_OPTIONS, usage } from './help';
import { describeOnFailure, retry, rollback, skip } from './decide';
import { formatProgress, printJson, refusedUpdate, runsUrl, runUrl } from './output';
import { watchMode, watchRun } from './watch';
import { formatAuditTrail, readAuditTrail } from './history';
import { codecServer } from './codec-server';
import { codecKeys } from './codec-keys';
import { schedule } from './schedule';
import { sign, signDecision, signerFrom, SIGNING_OPTIONS } from './sign';
import { signStart } from '../src/identity/sign';
import { temporalConnectConfig } from '../src/config';
import { inertText } from '../common/inert';
import { cutOffText } from './cut-off';
import { codecRefusal } from '../src/codec/codec-refusal';
import { DryRunFailed, isDeadline, planLines, planOnWorker } from './dry-run';
import { inventory } from './inventory';
import { newRunbook } from './new-runbook';
import { loadKeyRing } from '../src/codec/keys';

export type Connect = () => Promise<Client>;
export type Command = (args: string[], connect: Connect) => Promise<number>;

const start: Command = async (allArgs, connect) => {
  // Words after `--` are a command's argv (run-command), kept as they are: never a shell string.
  const dashes = allArgs.indexOf('--');
  const args = dashes >= 0 ? allArgs.slice(0, dashes) : allArgs;
  const argv = dashes >= 0 ? allArgs.slice(dashes + 1) : undefined;
  if (asksHelp(args)) {
    const named = args[0] && !args[0].startsWith('-') ? runbookArg(args, 'start').spec : undefined;
    console.log(named ? runbookHelp(named) : usage());
    return 0;
  }
  const { spec, paramOptions } = runbookArg(args, 'start');
  const name = spec.name;
  if (argv && !Object.values(spec.params).some((p) => p.type === 'list'))
    throw new UsageError(`${name} takes no command after --`);
  const { values, positionals } = parse(args.slice(1), {
    ...startOptions(),
    ...SIGNING_OPTIONS,
    ...paramOptions,
  });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (typeof values.env !== 'string') throw new UsageError(`start ${name} needs --env <environment>`);
  const approvalTimeoutMs = durationOption(values, 'approval-timeout');
  const failureTimeoutMs = durationOption(values, 'failure-timeout');
  const onFailure = values['on-failure'] as string | undefined;
  const params = paramsGiven(spec, values, argv);
  const approvalsRequired = countOption(values, 'approvals');
  const run = prepareRun({
    runbook: name,
    env: values.env,
    params,
    initiator: actor(values.as),
    approvalTimeoutMs,
    approvalsRequired,
    onFailure,
    failureTimeoutMs,
    waitForWindow: values['wait-for-window'] === true,
    ...(typeof values['break-glass'] === 'string' ? { breakGlass: values['break-glass'] } : {}),
  });

  const frozen = freezeRefusal(run);
  if (frozen && !values['dry-run']) throw new UsageError(frozen);
  if (values['dry-run']) {
    const signer = run.environment.identity === 'signed' ? signerFrom(values, run.input.initiator) : undefined;
    let planned;
    try {
      planned = await planOnWorker(await connect(), run, { signer });
    } catch (err) {
      if (!(err instanceof DryRunFailed)) throw err;
      if (values.json) printJson({ dryRun: true, error: err.message, exitCode: 4 });
      else console.error(inertText(err.message));
      return 4;
    }
    const refusedNow = frozen ?? planned.refusedNow;
    if (values.json)
      printJson({
        dryRun: true,
        runbook: run.spec.name,
        env: run.input.env,
        params: run.input.params,
        inUse: maskSecrets(paramsInUse(run.spec, run.input.params)),
        plan: planned.plan,
        onFailure: run.policy.applied.onFailure,
        policy: run.policy.applied,
        ...(refusedNow ? { refusedNow } : {}),
      });
    else {
      console.log(`dry run: ${run.spec.name} on ${run.input.env} (nothing will change)`);
      console.log(`  on a failed step: ${describeOnFailure(run.policy.applied.onFailure)}`);
      const inUse = maskSecrets(paramsInUse(run.spec, run.input.params));
      for (const [name, value] of Object.entries(inUse))
        console.log(inertText(`  parameter ${name}: ${String(value)}`));
      if (refusedNow) console.log(inertText(`  refused now: ${refusedNow}`));
      for (const beyond of run.policy.applied.beyondBounds ?? []) console.log(`  beyond bounds: ${beyond}`);
      for (const line of planLines(planned.plan)) console.log(line);
    }
    return 0;
  }
  if (run.environment.identity === 'signed') {
    // The worker checks this against its own inventory, whatever this machine's says.
    run.input.proof = await signStart(
      run.input,
      run.runId,
      temporalConnectConfig().namespace,
      signerFrom(values, run.input.initiator),
    );
  }
  const client = await connect();
  let admission;
  try {
    // Waits for a worker to admit the run; without one, the run waits and so do we, briefly.
    const started = client.withDeadline(Date.now() + 30_000, () => startRun(client, run, taskQueue()));
    const first = await Promise.race([
      started.then((s) => ({ admission: s.admission, refusal: undefined })),
      unopenable(client, run.runId, started).then((refusal) => ({ admission: undefined, refusal })),
    ]);
    if (first.refusal) {
      // The run never started a step: end it rather than leave its tasks failing.
      await client.workflow
        .getHandle(run.runId)
        .terminate('no worker can open its input: the key rings differ')
        .catch(() => undefined);
      throw new Error(`${first.refusal} (${run.runId} was ended: it had run nothing)`);
    }
    admission = first.admission!;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new UsageError(`run ${run.runId} already exists`);
    if (isDeadline(err))
      throw new ConnectionError(
        `${run.runId} was sent but no worker admitted it within 30s: ` +
          `is a worker polling task queue ${taskQueue()}? (npm run worker)`,
      );
    throw err;
  }
  if (!admission.admitted) {
    if (values.json) printJson({ runId: run.runId, refused: admission.reason, heldBy: admission.heldBy });
    else
      console.error(`refused: ${admission.reason}${admission.heldBy ? ` (runbook status ${admission.heldBy})` : ''}`);
    return 4;
  }
  const url = runUrl(client.options.namespace, run.runId);
  const held = admission.freeze;
  if (held && !values.json) {
    const opens = held.opensAtLocal ?? held.opensAt;
    console.log(
      held.then === 'wait'
        ? `${run.runId} waits for freeze window ${held.window} to open: ${opens}`
        : `${run.runId} waits at gate "break glass: ${held.window}" for two signed approvals by others than you`,
    );
  }
  if (values.follow) {
    // JSON lines from here on, so the start is one line too.
    if (values.json)
      process.stdout.write(
        `${JSON.stringify({ event: 'started', runId: run.runId, runbook: run.spec.name, env: run.input.env, url })}\n`,
      );
    else console.log(`started ${run.runId}  (${url})`);
    return watchRun(client, run.runId, { mode: watchMode(Boolean(values.json)), url });
  }
  if (values.json) printJson({ runId: run.runId, runbook: run.spec.name, env: run.input.env, url });
  else console.log(`started ${run.runId}\n  watch it: ${url}\n  status:   runbook status ${run.runId}`);
  return 0;
};

/** The start options as parse options, from their description (cli/help.ts). */
function startOptions(): Record<string, { type: 'string' | 'boolean' }> {
  return Object.fromEntries(Object.entries(START_OPTIONS).map(([n, o]) => [n, { type: o.type }]));
}

function countOption(values: Record<string, unknown>, flag: string): number | undefined {
  if (values[flag] === undefined) return undefined;
  const text = String(values[flag]);
  if (!/^\d{1,3}$/.test(text))
    throw new UsageError(`--${flag} ${JSON.stringify(text.slice(0, 40))} is not a number of approvals`);
  return Number(text);
}

function durationOption(values: Record<string, unknown>, flag: string): number | undefined {
  if (values[flag] === undefined) return undefined;
  try {
    return parseDuration(String(values[flag]), `--${flag}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const status: Command = async (args, connect) => {
  const { values, positionals } = parse(args, {});
  const runId = runIdArg(positionals, 'status');
  const client = await connect();
  const result = await withRun(runId, () => readStatus(client, client.workflow.getHandle(runId)));
  if (values.json) printJson(result);
  else {
    console.log(
      result.progress
        ? formatProgress(runId, result.progress, runUrl(client.options.namespace, runId))
        : inertText(`${runId}: ${result.status}`),
    );
    console.log(inertText(`  workflow status: ${result.status}${result.note ? ` (${result.note})` : ''}`));
    const cutOff = cutOffText(result.status, result.progress);
    if (cutOff) console.log(`  ${cutOff}`);
  }
  return 0;
};

function decide(decision: ApprovalInput['decision']): Command {
  return async (args, connect) => {
    const { values, positionals } = parse(args, {
      as: { type: 'string' },
      comment: { type: 'string' },
      ...SIGNING_OPTIONS,
    });
    const runId = runIdArg(positionals, decision);
    const input: ApprovalInput = {
      approver: actor(values.as),
      decision,
      comment: values.comment as string | undefined,
    };
    if (decision === 'reject' && !input.comment) throw new UsageError('reject needs --comment saying why');
    const client = await connect();
    const handle = client.workflow.getHandle(runId);
    const signer = signerFrom(values, input.approver);
    Object.assign(
      input,
      await withRun(runId, () => signDecision(client, runId, decision, input.approver, input.comment, signer)),
    );
    try {
      const record = await withRun(runId, () =>
        client.withDeadline(Date.now() + 15_000, () => handle.executeUpdate(approveUpdate, { args: [input] })),
      );
      if (values.json) printJson({ runId, recorded: record });
      else
        console.log(
          inertText(
            `${decision === 'approve' ? 'approved' : 'rejected'} ${runId} at gate ${record.gate} as ${record.approver}`,
          ),
        );
      return 0;
    } catch (err) {
      return refusedUpdate(runId, err, values.json === true);
    }
  };
}

const cancel: Command = async (args, connect) => {
  const { values, positionals } = parse(args, {});
  const runId = runIdArg(positionals, 'cancel');
  const client = await connect();
  await withRun(runId, () => client.workflow.getHandle(runId).cancel());
  if (values.json) printJson({ runId, cancelRequested: true });
  else
    console.log(`cancellation requested for ${runId}: its completed steps are being undone (runbook status ${runId})`);
  return 0;
};

const KEYWORD = /^[A-Za-z0-9_.-]{1,100}$/;

const list: Command = async (args, connect) => {
  const { values, positionals } = parse(args, {
    env: { type: 'string' },
    runbook: { type: 'string' },
    state: { type: 'string' },
    limit: { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const clauses = [`${RunbookNameKey.name} IS NOT NULL`];
  for (const [flag, key] of [
    ['env', RunbookEnvKey],
    ['runbook', RunbookNameKey],
    ['state', RunbookStateKey],
  ] as const) {
    const value = values[flag];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !KEYWORD.test(value))
      throw new UsageError(`invalid --${flag} ${JSON.stringify(value)}`);
    clauses.push(`${key.name} = '${value}'`);
  }
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new UsageError('--limit must be a whole number from 1 to 1000');
  const client = await connect();
  const runs = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
    const attrs = wf.typedSearchAttributes;
    runs.push({
      runId: wf.workflowId,
      runbook: attrs.get(RunbookNameKey),
      env: attrs.get(RunbookEnvKey),
      state: attrs.get(RunbookStateKey),
      status: wf.status.name,
      startTime: wf.startTime.toISOString(),
      closeTime: wf.closeTime?.toISOString(),
    });
    if (runs.length >= limit) break;
  }
  if (values.json) printJson({ runs });
  else if (!runs.length) console.log('no runs');
  // Search attributes are whatever a run (or anyone starting one) set: shown inert.
  else for (const r of runs) console.log(inertText(`${r.runId}  ${r.state ?? r.status}  ${r.startTime}`));
  if (!values.json) console.log(`in the Web UI (runs only): ${runsUrl(client.options.namespace)}`);
  return 0;
};

/** Follows a run until it closes; the exit code says how it ended (see cli/watch.ts). */
const watch: Command = async (args, connect) => {
  const { values, positionals } = parse(args, {});
  const runId = runIdArg(positionals, 'watch');
  const client = await connect();
  const url = runUrl(client.options.namespace, runId);
  return withRun(runId, () => watchRun(client, runId, { mode: watchMode(Boolean(values.json)), url }));
};

/** The audit trail: who started it with what, every decision, every step and undo with times. */
const history: Command = async (args, connect) => {
  const { values, positionals } = parse(args, {});
  const runId = runIdArg(positionals, 'history');
  const client = await connect();
  const trail = await withRun(runId, () => readAuditTrail(client, runId));
  if (values.json) printJson(trail);
  else console.log(formatAuditTrail(trail).join('\n'));
  return 0;
};

/**
 * Why no worker can open what was sent, as soon as the run's history shows it (their key ring
 * lacks ours); never settles otherwise.
 */
async function unopenable(client: Client, runId: string, until: Promise<unknown>): Promise<string> {
  let settled = false;
  until.then(
    () => (settled = true),
    () => (settled = true),
  );
  const ring = loadKeyRing();
  while (!settled) {
    await new Promise((r) => setTimeout(r, 1000));
    const refusal = await codecRefusal(client, runId, ring).catch((err) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    });
    if (refusal && !settled) return refusal;
  }
  return new Promise<never>(() => undefined);
}

async function withRun<T>(runId: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no run ${runId}`);
    throw err;
  }
}

/** What prints the usage (cli/main.ts) rather than running a command. */
export const HELP = ['help', '--help', '-h'];

export const COMMANDS: Record<string, Command> = {
  start,
  status,
  approve: decide('approve'),
  reject: decide('reject'),
  cancel,
  list,
  watch,
  history,
  retry,
  rollback,
  skip,
  'codec-server': codecServer,
  'codec-keys': codecKeys,
  schedule,
  sign,
  inventory: (args) => inventory(args),
  new: (args) => newRunbook(args),
};
