// Telling people: notices POSTed to the environment's targets (docs/notifications.md), each in
// its format. A target's URL is read on the worker, from a secret, so a token in it never
// enters workflow history; runs name targets by their secret's name only.
import { ApplicationFailure, type MetricCounter } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { loadEnvironment } from '../src/inventory';
import type { IdentityMode } from '../common/signed-message';
import type { Notice, NoticeEvent, NoticeFormat } from '../common/notice';
import { FailureType } from '../common/failure-types';
import { noticeBody, runLink } from './notice-format';
import { resolveSecret } from './secrets';
import { temporalClient } from './temporal-client';
import { postJson, webhookUrl } from './webhook';

export interface GateNotice {
  env: string;
  runId: string;
  runbook: string;
  initiator: string;
  gate: string;
  required: number;
  approvers: string[];
  deadline: string;
  /** How the run takes decisions; absent in notices from runs recorded before it was sent. */
  identity?: IdentityMode;
}

/** Returns false when the environment has no approval webhook. */
export async function notifyApprovers(notice: GateNotice): Promise<boolean> {
  const webhook = loadEnvironment(notice.env).approvals.webhook;
  if (!webhook) return false;
  const url = webhookUrl(webhook, `${notice.env}: approvals.webhook`);
  await postJson(url, gateNoticeBody(notice));
  return true;
}

/** What the webhook receives: the gate, and how to decide at it the way this run takes decisions. */
export function gateNoticeBody(notice: GateNotice): Record<string, unknown> {
  const cli = `runbook approve ${notice.runId} --as <approver> [--comment ...]`;
  // A signed run refuses typed JSON: the Web UI takes the output of `runbook sign`, pasted as is.
  const webUi =
    notice.identity === 'signed'
      ? {
          signal: 'approval',
          input: `the output of \`runbook sign approve ${notice.runId} --as <approver> [--comment ...]\``,
          signed: 'this run takes signed decisions only: unsigned JSON is recorded as refused',
        }
      : { signal: 'approval', input: { approver: '<approver>', decision: 'approve', comment: '...' } };
  return { event: 'approval_requested', ...notice, howToApprove: { cli, webUi } };
}

/** The targets of `event` in the environment: the names of the secrets holding their URLs, and formats. */
export async function noticeTargets(input: { env: string; event: NoticeEvent }): Promise<NoticeTarget[]> {
  const env = loadEnvironment(input.env);
  // approvals.webhook is not among them: it is sent its own JSON by notifyApprovers, as before.
  return env.notify
    .filter((t) => !t.events || t.events.includes(input.event))
    .map(({ secret, format }) => ({ target: secret, format }));
}

export interface NoticeTarget {
  target: string;
  format: NoticeFormat;
}

/**
 * POSTs `notice` to one target of its environment, in the target's format. The URL is read
 * here, from the secret the inventory names, and never leaves the worker. Throttled per target
 * on this worker: past MAX_PER_MINUTE the attempt fails retryably and Temporal tries again later.
 */
export async function deliverNotice(input: { env: string; target: string; notice: Notice }): Promise<void> {
  const { notice } = input;
  const env = loadEnvironment(input.env);
  const listed = env.notify.find((t) => t.secret === input.target);
  if (!listed)
    throw ApplicationFailure.nonRetryable(
      `${input.env}: ${input.target} is not a notify target of the environment`,
      FailureType.BadInventory,
    );
  if (notice.env !== input.env)
    throw ApplicationFailure.nonRetryable(`a notice of ${notice.env} sent to ${input.env}`, FailureType.BadInput);
  const { format } = listed;
  throttle(`${input.env}\n${input.target}`);
  const tags = { format, event: notice.event };
  try {
    const url = await resolveSecret(env, listed.secret);
    const client = await temporalClient();
    const link = runLink(process.env.RUNBOOK_UI_URL, client.options.namespace, notice.runId);
    await postJson(url, noticeBody(format, notice, link));
  } catch (err) {
    meters().failed.add(1, tags);
    throw err;
  }
  meters().sent.add(1, tags);
}

/** At most this many notices a minute to one target from one worker (Slack takes about one a second). */
export const MAX_PER_MINUTE = 30;
const sentAt = new Map<string, number[]>();

function throttle(key: string): void {
  const now = Date.now();
  const recent = (sentAt.get(key) ?? []).filter((t) => now - t < 60_000);
  if (recent.length >= MAX_PER_MINUTE)
    throw ApplicationFailure.retryable(
      `more than ${MAX_PER_MINUTE} notices a minute to this target: held back`,
      FailureType.WebhookFailed,
    );
  recent.push(now);
  sentAt.set(key, recent);
}

let made: { sent: MetricCounter; failed: MetricCounter } | undefined;
function meters() {
  const meter = Runtime.instance().metricMeter;
  made ??= {
    sent: meter.createCounter('runbook_notifications_sent', 'notices', 'notices delivered, by format and event'),
    failed: meter.createCounter(
      'runbook_notifications_failed',
      'attempts',
      'notice deliveries that failed (each attempt; Temporal retries), by format and event',
    ),
  };
  return made;
}
