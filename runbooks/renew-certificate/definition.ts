// renew-certificate: its parameters, its steps' names and its definition. Workflow-safe: its
// workflow imports the step names and parameters from here.
import { defineParams } from '../../common/params';
import { defineRunbook, type RunbookSpec } from '../../common/runbook-definition';

export const RENEW_PARAMS = defineParams({
  force: { type: 'boolean', description: 'renew even when the served certificate is not due' },
  threshold: {
    type: 'duration',
    default: '30d',
    description: 'renew a certificate expiring within this long',
  },
});

export const CERTIFICATE_STEPS = {
  served: 'read the served certificates',
  gate: 'renew the certificates',
  nothingDue: (soonest: string, threshold: string) =>
    `nothing to renew: the first expiry is in ${soonest}, beyond ${threshold}`,
  obtain: (domain: string) => `obtain a certificate for ${domain}`,
  check: (domain: string) => `check the new certificate for ${domain}`,
  install: (domain: string) => `install the new certificate for ${domain}`,
  testNginx: 'nginx -t',
  reloadNginx: 'reload nginx',
  verify: (domain: string) => `verify ${domain} serves the new certificate`,
} as const;

export const DEFINITIONS: RunbookSpec[] = [
  defineRunbook({
    name: 'renew-certificate',
    workflow: 'renewCertificate',
    description:
      'renews the TLS certificate of each domain that expires within the threshold (or --force) with certbot, ' +
      'installs it on the load balancer, checks nginx serves it; puts the previous one back on failure',
    mutating: true,
    params: RENEW_PARAMS,
    protectedGates: [CERTIFICATE_STEPS.gate],
  }),
];
