// Telling people: a JSON POST to the environment's webhook (chat, paging, ...). The URL is read
// on the worker, so a token in it never enters workflow history.
import { ApplicationFailure } from '@temporalio/common';
import { expandPath, loadEnvironment } from '../src/inventory';
import { FailureType } from '../common/failure-types';

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

export async function postJson(url: string, body: unknown): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw ApplicationFailure.retryable(`webhook unreachable: ${(err as Error).message}`, FailureType.WebhookFailed);
  }
  if (!response.ok) throw ApplicationFailure.retryable(`webhook answered ${response.status}`, FailureType.WebhookFailed);
}

/** Returns false when the environment has no approval webhook. */
export async function notifyApprovers(notice: GateNotice): Promise<boolean> {
  const webhook = loadEnvironment(notice.env).approvals.webhook;
  if (!webhook) return false;
  let url: string;
  try {
    url = expandPath(webhook);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, FailureType.BadInventory);
  }
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
