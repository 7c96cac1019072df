// Telling people: a JSON POST to the environment's webhook (chat, paging, ...). The URL is read
// on the worker, so a token in it never enters workflow history.
import { loadEnvironment } from '../src/inventory';
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
}

/** Returns false when the environment has no approval webhook. */
export async function notifyApprovers(notice: GateNotice): Promise<boolean> {
  const webhook = loadEnvironment(notice.env).approvals.webhook;
  if (!webhook) return false;
  const url = webhookUrl(webhook, `${notice.env}: approvals.webhook`);
  await postJson(url, {
    event: 'approval_requested',
    ...notice,
    howToApprove: {
      cli: `runbook approve ${notice.runId} --as <approver> [--comment ...]`,
      webUi: { signal: 'approval', input: { approver: '<approver>', decision: 'approve', comment: '...' } },
    },
  });
  return true;
}
