// Telling people: a JSON POST to the environment's webhook (chat, paging, ...). The URL is read
// on the worker, so a token in it never enters workflow history.
import { loadEnvironment } from '../src/inventory';
import type { IdentityMode } from '../common/signed-message';
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
