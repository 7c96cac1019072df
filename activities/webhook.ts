// POSTing to a webhook (approval notices, health alerts). Not an activity module (nothing here
// is exported by activities/index.ts): these are helpers of the activities that notify.
import { ApplicationFailure } from '@temporalio/common';
import { expandPath } from '../src/inventory';
import { redact } from './ssh/redact';
import { FailureType } from '../common/failure-types';

/**
 * POSTs `body` to `url`. Its errors never carry the URL (a webhook's token is often in its path
 * or query): they say what went wrong in words of their own, and the URL's forms are redacted.
 */
export async function postJson(url: string, body: unknown): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw ApplicationFailure.retryable(
      `webhook unreachable: ${withoutUrl(whyFetchFailed(err), url)}`,
      FailureType.WebhookFailed,
    );
  }
  // The body is not read: a webhook may echo the request, URL included.
  if (!response.ok)
    throw ApplicationFailure.retryable(`webhook answered ${response.status}`, FailureType.WebhookFailed);
}

function whyFetchFailed(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer within 10s';
  if (e.cause?.code) return e.cause.code;
  return e.cause?.message ?? e.message ?? 'fetch failed';
}

/** `text` without `url` in any form, nor anything that looks like a URL. */
export function withoutUrl(text: string, url: string): string {
  return redact(text, [url]).replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, '<webhook URL>');
}

/** The webhook's URL, expanded on the worker; an error names the setting, never its value. */
export function webhookUrl(template: string, setting: string): string {
  try {
    return expandPath(template);
  } catch {
    throw ApplicationFailure.nonRetryable(
      `${setting} uses a variable that is not set on the worker`,
      FailureType.BadInventory,
    );
  }
}
