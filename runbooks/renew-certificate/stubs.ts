// renew-certificate in the workflow tier: every certificate due, each renewal checks out.
import type * as activities from './activities';
import { loadEnvironment } from '../../src/inventory';
import { called, runbookStubs } from '../../test/runbook-stubs';

const DAY = 24 * 3600_000;
const nothing = async () => undefined;

function certificate(domain: string, fingerprint: string, expiresInMs: number) {
  const notAfter = new Date(Date.now() + expiresInMs).toISOString();
  const notBefore = new Date(Date.now() - DAY).toISOString();
  const subject = `CN=${domain}`;
  return { domain, fingerprint, subject, issuer: 'CN=stub CA', names: [domain], notBefore, notAfter, serial: '01' };
}

export default runbookStubs<typeof activities>({
  stubs: {
    // Every certificate is due (five days left), so a renewal runs its whole plan.
    servedCertificates: async ({ env }) =>
      loadEnvironment(env).vars.domains.map((d) => certificate(d, `old-${d}`, 5 * DAY)),
    obtainCertificate: async () => ({ ran: true }),
    checkObtainedCertificate: async ({ domain }) => certificate(domain, `new-${domain}`, 90 * DAY),
    installCertificate: async ({ domain }) => ({ backup: `/etc/nginx/tls/${domain}.previous` }),
    restoreCertificate: async () => ({ restored: true, reloaded: true }),
    testNginx: nothing,
    reloadNginx: nothing,
    expectServedCertificate: async ({ domain, fingerprint }) => certificate(domain, fingerprint, 90 * DAY),
  },
  params: { 'renew-certificate': {} },
  protectedParams: { 'renew-certificate': { force: true } },
  acted: { 'renew-certificate': (c) => called(c, 'obtainCertificate') },
});
