// renew-certificate: read the certificate each domain serves; when it expires within the
// threshold (or --force), obtain a new one from the ACME directory, check it, install it with
// the previous pair kept aside, nginx -t, reload, and confirm the new one is served. Anything
// failing after the install puts the previous pair back and reloads.
import { workflowInfo } from '@temporalio/workflow';
import type * as activities from './activities';
import { formatDuration, parseDuration } from '../../common/duration';
import type { RunInput, RunResult } from '../../common/shared';
import { paramValues, type ParamsOf } from '../../common/params';
import { runbook, stepActivities, undoActivities } from '../../workflows/kernel';
import { CERTIFICATE_STEPS, RENEW_PARAMS } from './definition';
import { hostWithRole } from '../../common/plan';
import { FailureType } from '../../common/failure-types';

const { servedCertificates, checkObtainedCertificate, installCertificate, testNginx, reloadNginx } = stepActivities<
  typeof activities
>({
  startToCloseTimeout: '2 minutes',
});
// Orders are slow to fail for good and rate limits are not lifted by asking again: few retries,
// far apart, and none at all for a rate limit (AcmeRateLimited is non-retryable).
const { obtainCertificate } = stepActivities<typeof activities>({
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '30 seconds',
    backoffCoefficient: 4,
    maximumAttempts: 3,
    nonRetryableErrorTypes: [FailureType.AcmeRateLimited, FailureType.BadInput, FailureType.BadInventory],
  },
});
// A reload takes effect within milliseconds; asked again for a few seconds.
const { expectServedCertificate } = stepActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 1.5,
    maximumInterval: '3 seconds',
    maximumAttempts: 8,
  },
});
const undo = undoActivities<typeof activities>({ startToCloseTimeout: '2 minutes' });

export type RenewParams = ParamsOf<typeof RENEW_PARAMS>;

/** What a dry run goes on with for a certificate it did not obtain. */
const NOT_OBTAINED = {
  fingerprint: '<new fingerprint>',
  subject: '',
  issuer: '',
  names: [],
  notBefore: '',
  notAfter: '',
  serial: '',
};

export async function renewCertificate(input: RunInput<RenewParams>): Promise<RunResult> {
  const { env } = input;
  const runId = workflowInfo().workflowId;
  const { threshold, force } = paramValues(RENEW_PARAMS, input.params);
  return runbook(input, async ({ step, gate }) => {
    const thresholdMs = parseDuration(threshold, 'threshold');
    const served = await step(CERTIFICATE_STEPS.served, {
      run: () => servedCertificates({ env }),
      reads: true,
      plan: (c) => ({
        where: hostWithRole(c, 'lb'),
        does: `TLS handshake on :443 with SNI ${c.vars.domains.join(', ')}: expiry and fingerprint`,
      }),
    });
    const due = served.filter((c) => force || Date.parse(c.notAfter) - Date.now() < thresholdMs);
    if (!due.length) {
      const soonest = Math.min(...served.map((c) => Date.parse(c.notAfter) - Date.now()));
      await step(CERTIFICATE_STEPS.nothingDue(formatDuration(soonest), threshold), {
        run: async () => served,
        reads: true,
        plan: { where: 'worker', does: 'nothing to renew' },
      });
      return;
    }

    // Four eyes before certbot is asked, where the worker's rules say (a protected environment).
    await gate(CERTIFICATE_STEPS.gate);
    const renewed: { domain: string; fingerprint: string }[] = [];
    for (const { domain, fingerprint: servedFingerprint } of due) {
      await step(CERTIFICATE_STEPS.obtain(domain), {
        run: () => obtainCertificate({ env, runId, domain }),
        plan: (c) => ({
          where: hostWithRole(c, 'lb'),
          does:
            `${force ? 'forced' : `expires within ${threshold}`}: certbot certonly --webroot ` +
            `-w ${c.vars.acmeWebroot} --server ${String(c.vars.acmeDirectory)} -d ${domain}`,
        }),
      });
      const fresh = await step(CERTIFICATE_STEPS.check(domain), {
        run: () => checkObtainedCertificate({ env, domain, servedFingerprint }),
        plan: (c) => ({
          where: hostWithRole(c, 'lb'),
          does:
            'names the domain, chain signed link by link, dates valid now, matches its key, ' +
            'differs from the served one',
          standIn: { ...NOT_OBTAINED, names: [domain] },
        }),
      });
      await step(CERTIFICATE_STEPS.install(domain), {
        run: () => installCertificate({ env, runId, domain }),
        undo: () => undo.restoreCertificate({ env, runId, domain, servedFingerprint }),
        plan: (c) => ({
          where: hostWithRole(c, 'lb'),
          does: `keep ${String(c.vars.tlsDir)}/${domain}/{fullchain,privkey}.pem aside, copy certbot's pair there`,
          undo: 'put the previous pair back, nginx -t, reload',
        }),
      });
      renewed.push({ domain, fingerprint: fresh.fingerprint });
    }
    await step(CERTIFICATE_STEPS.testNginx, {
      run: () => testNginx({ env }),
      plan: (c) => ({ where: hostWithRole(c, 'lb'), does: (c.services.nginx?.test ?? ['nginx', '-t']).join(' ') }),
    });
    await step(CERTIFICATE_STEPS.reloadNginx, {
      run: () => reloadNginx({ env }),
      plan: (c) => ({ where: hostWithRole(c, 'lb'), does: (c.services.nginx?.reload ?? []).join(' ') }),
    });
    for (const { domain, fingerprint } of renewed) {
      await step(CERTIFICATE_STEPS.verify(domain), {
        run: () => expectServedCertificate({ env, domain, fingerprint }),
        plan: (c) => ({ where: hostWithRole(c, 'lb'), does: 'TLS handshake: the served fingerprint is the new one' }),
      });
    }
  });
}
