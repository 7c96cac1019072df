// TLS certificates on the load balancer: what each domain serves, obtaining a new one with
// certbot from the environment's ACME directory, checking it, installing it where nginx reads
// it (keeping the previous pair to put back), and confirming nginx serves it.
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityKinds } from '../../activities/registry';
import { runOn } from '../../activities/ssh/run';
import { markerPath, runOnce } from '../../activities/ssh/once';
import { resolveTarget } from '../../activities/ssh/target';
import { environment, hostsWithRole, serviceCommand } from '../../activities/env-vars';
import { requiredVar } from '../../src/vars';
import {
  checkCertificate,
  classifyCertbotFailure,
  facts,
  type CertificateFacts,
} from '../../activities/tls/certificate-check';
import { servedCertificate } from '../../activities/tls/handshake';
import { FailureType } from '../../common/failure-types';

const BACKUP_DIR = '/var/backups/runbook/tls';
const LIVE_DIR = '/etc/letsencrypt/live';
const HTTPS_PORT = 443;

function tlsContext(env: string) {
  const e = environment(env);
  const [lb] = hostsWithRole(e, 'lb');
  if (!lb) throw ApplicationFailure.nonRetryable(`${env}: no host has the lb role`, FailureType.BadInventory);
  // Each a DNS name (src/inventory.ts checks them when it reads the inventory).
  const { domains } = e.vars;
  if (!domains.length)
    throw ApplicationFailure.nonRetryable(`${env}: vars.domains lists no domain to renew`, FailureType.BadInventory);
  return {
    e,
    lb,
    address: e.hosts[lb].address,
    target: resolveTarget({ env, host: lb }),
    domains,
    tlsDir: requiredVar(e, 'tlsDir'),
  };
}

function knownDomain(domains: string[], domain: string): string {
  if (!domains.includes(domain))
    throw ApplicationFailure.nonRetryable(
      `${domain} is not one of the environment's domains (${domains.join(', ')})`,
      FailureType.BadInput,
    );
  return domain;
}

export interface ServedCertificate extends CertificateFacts {
  domain: string;
}

/** The certificate each domain is served with now, read by a TLS handshake with the load balancer. */
export async function servedCertificates({ env }: { env: string }): Promise<ServedCertificate[]> {
  const { address, domains } = tlsContext(env);
  const served: ServedCertificate[] = [];
  for (const domain of domains) {
    try {
      served.push({ domain, ...facts(await servedCertificate(address, HTTPS_PORT, domain)) });
    } catch (err) {
      throw ApplicationFailure.retryable(`${env}: ${(err as Error).message}`, FailureType.TlsUnreachable);
    }
  }
  return served;
}

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

/**
 * certbot certonly for one domain, from the environment's ACME directory, through nginx's
 * webroot. Once per run (a marker on the host): a retried activity does not order twice.
 */
export async function obtainCertificate({
  env,
  runId,
  domain,
}: {
  env: string;
  runId: string;
  domain: string;
}): Promise<{ ran: boolean }> {
  const { e, target, domains } = tlsContext(env);
  knownDomain(domains, domain);
  const directory = requiredVar(e, 'acmeDirectory');
  const { acmeCaBundle: caBundle, acmeEmail: email } = e.vars;
  const argv = [
    ...(caBundle ? ['env', `REQUESTS_CA_BUNDLE=${caBundle}`] : []),
    'certbot',
    'certonly',
    '--non-interactive',
    '--agree-tos',
    ...(email ? ['--email', email] : ['--register-unsafely-without-email']),
    '--server',
    directory,
    '--webroot',
    '-w',
    e.vars.acmeWebroot,
    '--cert-name',
    domain,
    '-d',
    domain,
    // Whether it is due was decided by the runbook (its threshold, or --force), not by certbot.
    '--force-renewal',
  ];
  const result = await runOnce(target, runId, `obtain-${domain}`, argv, { timeoutMs: 300_000, okExitCodes: ANY_EXIT });
  if (result.exitCode === 0) return { ran: result.ran };
  const output = `${result.stderr}\n${result.stdout}`.trim();
  const shown = output.split('\n').slice(-8).join('\n').slice(-1500);
  const failure = classifyCertbotFailure(output);
  if (failure.kind === 'rate-limited') {
    // Retrying soon only spends more of the limit: the run fails now and says when to try again.
    const when = failure.retryAfter ? ` (retry after ${failure.retryAfter})` : '';
    throw ApplicationFailure.nonRetryable(
      `${target.name}: the ACME server ${directory} refused ${domain}: rate limited${when}: ${shown}`,
      FailureType.AcmeRateLimited,
    );
  }
  throw ApplicationFailure.retryable(
    `${target.name}: certbot could not obtain a certificate for ${domain} (exit ${result.exitCode}): ${shown}`,
    FailureType.AcmeFailed,
  );
}

/** Checks what certbot obtained before anything serves it (see tls/certificate-check.ts). */
export async function checkObtainedCertificate({
  env,
  domain,
  servedFingerprint,
}: {
  env: string;
  domain: string;
  servedFingerprint?: string;
}): Promise<CertificateFacts> {
  const { target, domains } = tlsContext(env);
  const live = `${LIVE_DIR}/${knownDomain(domains, domain)}`;
  const fullchain = (await runOn(target, ['cat', '--', `${live}/fullchain.pem`])).stdout;
  // Only the public half of the key leaves the host.
  const keyPublicPem = (
    await runOn(target, ['openssl', 'pkey', '-in', `${live}/privkey.pem`, '-pubout'], { okExitCodes: [0, 1] })
  ).stdout;
  try {
    return checkCertificate({ fullchain, keyPublicPem, domain, servedFingerprint, now: new Date() });
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`${target.name}: ${(err as Error).message}`, FailureType.BadCertificate);
  }
}

function backupDir(runId: string, domain: string): string {
  markerPath(runId, 'tls'); // refuses a run id unfit for a path
  return `${BACKUP_DIR}/${runId}/${domain}`;
}

// The previous pair is copied aside once per run (a retry must not back up the new files), then
// the new pair is written beside nginx's files and renamed over them.
const INSTALL = `set -eu
live=$1 dir=$2 backup=$3
if [ ! -e "$backup/.complete" ]; then
  rm -rf "$backup" "$backup.tmp"
  mkdir -p "$backup.tmp"
  for f in fullchain.pem privkey.pem; do
    if [ -e "$dir/$f" ]; then cp -p "$dir/$f" "$backup.tmp/$f"; fi
  done
  : > "$backup.tmp/.complete"
  mv "$backup.tmp" "$backup"
fi
mkdir -p "$dir"
install -m 0644 "$live/fullchain.pem" "$dir/fullchain.pem.new"
install -m 0600 "$live/privkey.pem" "$dir/privkey.pem.new"
mv -f "$dir/fullchain.pem.new" "$dir/fullchain.pem"
mv -f "$dir/privkey.pem.new" "$dir/privkey.pem"`;

/** Copies certbot's new pair to where nginx reads it, after keeping the previous pair. */
export async function installCertificate({
  env,
  runId,
  domain,
}: {
  env: string;
  runId: string;
  domain: string;
}): Promise<{ backup: string }> {
  const { target, domains, tlsDir } = tlsContext(env);
  knownDomain(domains, domain);
  const backup = backupDir(runId, domain);
  await runOn(target, ['sh', '-c', INSTALL, 'install', `${LIVE_DIR}/${domain}`, `${tlsDir}/${domain}`, backup]);
  return { backup };
}

const RESTORE = `set -eu
dir=$1 backup=$2
if [ ! -e "$backup/.complete" ]; then echo nothing; exit 0; fi
for f in fullchain.pem privkey.pem; do
  if [ -e "$backup/$f" ]; then
    cp -p "$backup/$f" "$dir/$f.restore" && mv -f "$dir/$f.restore" "$dir/$f"
  else
    rm -f "$dir/$f"
  fi
done
echo restored`;

/**
 * Undo of installCertificate: puts the previous pair back and reloads nginx. Safe when the
 * install never ran (nothing was kept aside, so nothing is touched). When nginx -t refuses the
 * configuration, nginx cannot be reloaded: that is fine only if it still serves the previous
 * certificate (it never loaded the new one), and left to a human otherwise.
 */
export async function restoreCertificate(input: {
  env: string;
  runId: string;
  domain: string;
  servedFingerprint: string;
}): Promise<{ restored: boolean; reloaded: boolean }> {
  const { e, target, domains, tlsDir, address } = tlsContext(input.env);
  const domain = knownDomain(domains, input.domain);
  const out = await runOn(target, [
    'sh',
    '-c',
    RESTORE,
    'restore',
    `${tlsDir}/${domain}`,
    backupDir(input.runId, domain),
  ]);
  if (out.stdout.trim() !== 'restored') return { restored: false, reloaded: false };
  const test = await runOn(target, serviceCommand(e, 'nginx', 'test'), { okExitCodes: ANY_EXIT });
  if (test.exitCode === 0) {
    await runOn(target, serviceCommand(e, 'nginx', 'reload'));
    return { restored: true, reloaded: true };
  }
  const served = (await servedCertificate(address, HTTPS_PORT, domain)).fingerprint256;
  if (served === input.servedFingerprint) return { restored: true, reloaded: false };
  throw ApplicationFailure.nonRetryable(
    `${target.name}: the previous certificate for ${domain} is back on disk, but nginx -t refuses the configuration ` +
      `(${test.stderr.trim().split('\n').pop()}), so nginx was not reloaded and still serves ${served}: ` +
      `fix the configuration, then reload nginx`,
    'RestoreIncomplete',
  );
}

/** nginx -t on the load balancer: a refused configuration is not retried. */
export async function testNginx({ env }: { env: string }): Promise<void> {
  const { e, target } = tlsContext(env);
  await runOn(target, serviceCommand(e, 'nginx', 'test'), { retryable: false });
}

export async function reloadNginx({ env }: { env: string }): Promise<void> {
  const { e, target } = tlsContext(env);
  await runOn(target, serviceCommand(e, 'nginx', 'reload'));
}

/** Fails (retryably: a reload takes a moment) until the domain is served with `fingerprint`. */
export async function expectServedCertificate({
  env,
  domain,
  fingerprint,
}: {
  env: string;
  domain: string;
  fingerprint: string;
}): Promise<ServedCertificate> {
  const { address, domains } = tlsContext(env);
  knownDomain(domains, domain);
  const served = facts(await servedCertificate(address, HTTPS_PORT, domain));
  if (served.fingerprint !== fingerprint) {
    throw ApplicationFailure.retryable(
      `${env}: ${domain} is served with ${served.fingerprint} (issuer ${served.issuer}), ` +
        `not the new certificate ${fingerprint}`,
      FailureType.WrongCertificate,
    );
  }
  return { domain, ...served };
}

/** What each activity above does, for the registry (activities/registry.ts). */
export default {
  servedCertificates: 'reads',
  obtainCertificate: 'acts',
  checkObtainedCertificate: 'reads',
  installCertificate: 'acts',
  restoreCertificate: 'acts',
  testNginx: 'reads',
  reloadNginx: 'acts',
  expectServedCertificate: 'reads',
} satisfies ActivityKinds;
