// `runbook schedule create|approve|list|delete|trigger`: runbooks on a timetable (see src/schedules.ts).
import { UsageError } from '../src/errors';
import {
  checkScheduleId,
  cosignSchedule,
  createSchedule,
  deleteSchedule,
  describeSchedule,
  listSchedules,
  needsCosign,
  prepareSchedule,
  scheduleNonce,
  scheduleSubject,
  triggerSchedule,
} from '../src/schedules';
import { taskQueue, temporalConnectConfig } from '../src/config';
import { signClaim, signSchedule } from '../src/identity/sign';
import { prepareRun } from '../src/start';
import type { ScheduledRequest } from '../src/schedules';
import { signerFrom, SIGNING_OPTIONS } from './sign';
import { actor, asksHelp, paramsGiven, parse, runbookArg } from './args';
import { runbookHelp, usage } from './help';
import { printJson } from './output';
import type { Command } from './commands';
import { inertText } from '../common/inert';

const create: Command = async (args, connect) => {
  if (asksHelp(args)) {
    // The runbook's parameters are the same whether started now or on a timetable.
    console.log(
      args[0] && !args[0].startsWith('-')
        ? runbookHelp(runbookArg(args, 'schedule create').spec, 'schedule create')
        : usage(),
    );
    return 0;
  }
  const { spec, paramOptions } = runbookArg(args, 'schedule create');
  const name = spec.name;
  const { values, positionals } = parse(args.slice(1), {
    env: { type: 'string' },
    as: { type: 'string' },
    cron: { type: 'string' },
    timezone: { type: 'string' },
    interval: { type: 'string' },
    'catchup-window': { type: 'string' },
    ...SIGNING_OPTIONS,
    ...paramOptions,
  });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (typeof values.env !== 'string') throw new UsageError(`schedule create ${name} needs --env <environment>`);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const prepared = prepareSchedule(
    {
      runbook: name,
      env: values.env,
      params: paramsGiven(spec, values),
      initiator: actor(values.as),
      cron: str(values.cron),
      timezone: str(values.timezone),
      interval: str(values.interval),
      catchupWindow: str(values['catchup-window']),
    },
    taskQueue(),
  );
  if (prepared.run.environment.identity === 'signed') {
    // Checked on the worker at every firing: the creator is then the initiator of each run.
    const request = (prepared.options.action.args as readonly ScheduledRequest[])[0];
    const signer = signerFrom(values, prepared.run.input.initiator);
    request.proof = await signSchedule(
      prepared.scheduleId,
      prepared.run.input,
      temporalConnectConfig().namespace,
      signer,
    );
  }
  const description = await createSchedule(await connect(), prepared);
  const pending = description.state.paused === true;
  const next = description.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString());
  if (values.json)
    printJson({
      scheduleId: prepared.scheduleId,
      runbook: spec.name,
      env: prepared.run.input.env,
      when: prepared.when,
      params: prepared.run.input.params,
      nextRuns: next,
      ...(pending ? { pending: 'paused until another approver co-signs it (runbook schedule approve)' } : {}),
    });
  else if (pending) {
    console.log(
      `created schedule ${prepared.scheduleId}: ${spec.name} on ${prepared.run.input.env} ${prepared.when}, PAUSED: ` +
        `${prepared.run.input.env} is protected, so another approver co-signs it before it runs`,
    );
    console.log(`  to co-sign: runbook schedule approve ${prepared.scheduleId} --as <approver>`);
  } else {
    console.log(
      `created schedule ${prepared.scheduleId}: ${spec.name} on ${prepared.run.input.env} ${prepared.when} ` +
        `(a run still going makes the next one skip)`,
    );
    console.log(`  next runs: ${next.join(', ') || 'none'}`);
    console.log(`  its runs:  runbook list --runbook ${spec.name} --env ${prepared.run.input.env}`);
  }
  return 0;
};

const list: Command = async (args, connect) => {
  const { values, positionals } = parse(args, {});
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const schedules = await listSchedules(await connect());
  if (values.json) printJson({ schedules });
  else if (!schedules.length) console.log('no schedules');
  else {
    // Anyone who can reach Temporal can create a schedule: what it says is shown inert.
    for (const s of schedules) {
      console.log(
        inertText(
          `${s.scheduleId}  ${s.runbook} on ${s.env} ${s.when}${s.paused ? '  PAUSED' : ''}  ` +
            `next: ${s.nextRuns[0] ?? 'none'}  last fired: ${s.recentFirings.at(-1)?.at ?? 'never'}`,
        ),
      );
    }
  }
  return 0;
};

const remove: Command = async (args, connect) => {
  const { values, positionals } = parse(args, {});
  const id = checkScheduleId(positionals[0], 'delete');
  if (positionals.length > 1)
    throw new UsageError(`schedule delete takes one schedule id, got also: ${positionals.slice(1).join(' ')}`);
  await deleteSchedule(await connect(), id);
  if (values.json) printJson({ scheduleId: id, deleted: true });
  else console.log(`deleted schedule ${id} (a run it already started keeps going)`);
  return 0;
};

const trigger: Command = async (args, connect) => {
  const { values, positionals } = parse(args, {});
  const id = checkScheduleId(positionals[0], 'trigger');
  if (positionals.length > 1)
    throw new UsageError(`schedule trigger takes one schedule id, got also: ${positionals.slice(1).join(' ')}`);
  const client = await connect();
  const overlap = await triggerSchedule(client, id);
  if (values.json) printJson({ scheduleId: id, triggered: true, overlap });
  else {
    const { info } = await describeSchedule(client, id);
    console.log(
      `triggered schedule ${id} (overlap policy ${String(overlap ?? 'skip').toLowerCase()}: ` +
        `nothing starts while its previous run is going; runs taken so far: ${info.numActionsTaken})`,
    );
  }
  return 0;
};

/** `runbook schedule approve <id> --as <approver>`: the second signature a protected environment's schedule needs. */
const approve: Command = async (args, connect) => {
  const { values, positionals } = parse(args, { as: { type: 'string' }, ...SIGNING_OPTIONS });
  const id = checkScheduleId(positionals[0], 'approve');
  if (positionals.length > 1)
    throw new UsageError(`schedule approve takes one schedule id, got also: ${positionals.slice(1).join(' ')}`);
  const by = actor(values.as);
  const client = await connect();
  const namespace = client.options.namespace;
  const after = await cosignSchedule(client, id, by, async (d) => {
    const request = d.action.args?.[0] as ScheduledRequest;
    const run = prepareRun({ runbook: request.runbook, env: request.env, params: request.params, initiator: by });
    if (!needsCosign(run))
      throw new UsageError(
        `${request.runbook} on ${request.env} waits at no gate: its schedule needs no second signature`,
      );
    const approvers = run.environment.approvals.approvers;
    if (!approvers.includes(by)) throw new UsageError(`${by} is not an approver for ${request.env}`);
    const claim = {
      namespace,
      runId: id,
      action: 'cosign' as const,
      gate: '',
      nonce: scheduleNonce(d),
      by,
      subject: scheduleSubject(d),
      comment: '',
    };
    return { by, ...(await signClaim(claim, signerFrom(values, by))) };
  });
  const next = after.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString());
  if (values.json) printJson({ scheduleId: id, cosignedBy: by, nextRuns: next });
  else {
    console.log(`co-signed schedule ${id} as ${by}: it runs as scheduled, its firings within bounds without a gate`);
    console.log(`  next runs: ${next.join(', ') || 'none'}`);
  }
  return 0;
};

/** `runbook schedule <subcommand>`: what the docs may name (test/docs-links.fast.test.ts reads it). */
export const SUBCOMMANDS: Record<string, Command> = { create, list, delete: remove, trigger, approve };

export const schedule: Command = async (args, connect) => {
  const [sub, ...rest] = args;
  const command = sub ? SUBCOMMANDS[sub] : undefined;
  if (!command) throw new UsageError(`schedule needs a subcommand: ${Object.keys(SUBCOMMANDS).join(', ')}`);
  return command(rest, connect);
};
