// Certificate renewal. Unit tests check what makes a new certificate fit and what a certbot
// failure means; on the test bed, certbot obtains a certificate from Pebble that nginx then
// serves, and a broken nginx configuration, an unfit certificate or an ACME rate limit leave
// the previous certificate served and on disk.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCommand } from '../../activities/hosts';
import { checkCertificate, classifyCertbotFailure } from '../../activities/tls/certificate-check';
import { servedCertificate } from '../../activities/tls/handshake';
import type { RunResult } from '../../common/shared';
import { bedInventory } from '../../test/bed-inventory';
import { startTestRun, uniqueQueue, withWorker } from '../../test/helpers';
import { recordHistory } from '../../test/history-recorder';
import { compensated } from '../../test/run-ended';

const DOMAIN = 'app.local.test';
const TLS_DIR = `/etc/nginx/tls/${DOMAIN}`;

/** A throwaway CA, intermediate and leaves made with openssl, for the unit tests. */
class TestPki {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-'));
  constructor() {
    this.self('root', '/CN=Test Root', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
    this.signed('inter', '/CN=Test Intermediate', 'root', [
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }
  private openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }
  private ext(name: string, lines: string[]): string {
    fs.writeFileSync(path.join(this.dir, `${name}.ext`), `${lines.join('\n')}\n`);
    return `${name}.ext`;
  }
  self(name: string, subject: string, ext: string[]): void {
    this.openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '30',
      '-subj',
      subject,
      ...ext.flatMap((e) => ['-addext', e]),
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
    ]);
  }
  signed(name: string, subject: string, ca: string, ext: string[]): void {
    this.openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ]);
    this.openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '30',
      '-extfile',
      this.ext(name, ext),
      '-out',
      `${name}.pem`,
    ]);
  }
  leaf(name: string, domain: string): void {
    this.signed(name, `/CN=${domain}`, 'inter', [`subjectAltName=DNS:${domain}`]);
  }
  read(name: string, ext = 'pem'): string {
    return fs.readFileSync(path.join(this.dir, `${name}.${ext}`), 'utf8');
  }
  publicKey(name: string): string {
    return createPublicKey(this.read(name, 'key')).export({ format: 'pem', type: 'spki' }).toString();
  }
  fullchain(name: string): string {
    return this.read(name) + this.read('inter');
  }
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('renew-certificate: checking a new certificate', function () {
  let pki: TestPki;
  before(function () {
    pki = new TestPki();
    pki.leaf('good', DOMAIN);
    pki.leaf('other', 'wrong.local.test');
    pki.self('selfsigned', `/CN=${DOMAIN}`, [`subjectAltName=DNS:${DOMAIN}`]);
  });
  after(() => pki.remove());

  const check = (overrides: Partial<Parameters<typeof checkCertificate>[0]> = {}) =>
    checkCertificate({
      fullchain: pki.fullchain('good'),
      keyPublicPem: pki.publicKey('good'),
      domain: DOMAIN,
      now: new Date(),
      ...overrides,
    });

  it('accepts a certificate for the domain, signed by its intermediate, valid now and matching its key', function () {
    const facts = check();
    assert.deepEqual(facts.names, [DOMAIN]);
    assert.equal(facts.fingerprint, new X509Certificate(pki.read('good')).fingerprint256);
    assert.match(facts.issuer, /Test Intermediate/);
  });

  it('refuses a certificate for another domain', function () {
    assert.throws(
      () => check({ fullchain: pki.fullchain('other'), keyPublicPem: pki.publicKey('other') }),
      /unfit: it is for wrong\.local\.test, not app\.local\.test/,
    );
  });

  it('refuses a chain that does not link up, or has no intermediate', function () {
    assert.throws(
      () => check({ fullchain: pki.read('good') + pki.read('root') }),
      /certificate 1 of the chain is not signed by certificate 2/,
    );
    assert.throws(
      () => check({ fullchain: pki.read('selfsigned'), keyPublicPem: pki.publicKey('selfsigned') }),
      /the chain has no intermediate certificate/,
    );
  });

  it('refuses a certificate that is expired or not yet valid', function () {
    assert.throws(() => check({ now: new Date(Date.now() + 60 * 86_400_000) }), /it expired at/);
    assert.throws(() => check({ now: new Date(Date.now() - 86_400_000) }), /it is not valid before/);
  });

  it('refuses a certificate that does not match its private key', function () {
    assert.throws(() => check({ keyPublicPem: pki.publicKey('other') }), /it does not match its private key/);
    assert.throws(() => check({ keyPublicPem: 'not a key' }), /its private key does not parse/);
  });

  it('refuses the certificate already served, and a truncated file', function () {
    const served = new X509Certificate(pki.read('good')).fingerprint256;
    assert.throws(() => check({ servedFingerprint: served }), /already served, not a new one/);
    const full = pki.fullchain('good');
    assert.throws(
      () => check({ fullchain: full.slice(0, full.length / 3) }),
      /no certificate in the file|does not parse/,
    );
  });
});

describe('renew-certificate: ACME failures', function () {
  it('classifies rate-limit answers as rate limited, with the time to retry after when given', function () {
    const duplicate =
      'An unexpected error occurred:\n' +
      'Error creating new order :: too many certificates (5) already issued for this exact set of domains ' +
      'in the last 168h0m0s, retry after 2026-11-25 03:12:44 UTC: ' +
      'see https://letsencrypt.org/docs/rate-limits/#new-certificates-per-exact-set-of-hostnames';
    assert.deepEqual(classifyCertbotFailure(duplicate), {
      kind: 'rate-limited',
      retryAfter: '2026-11-25 03:12:44 UTC',
    });
    assert.deepEqual(
      classifyCertbotFailure('urn:ietf:params:acme:error:rateLimited :: too many failed authorizations recently'),
      { kind: 'rate-limited' },
    );
    assert.deepEqual(classifyCertbotFailure('Error creating new account :: too many registrations for this IP'), {
      kind: 'rate-limited',
    });
  });

  it('classifies other failures as other (retried, far apart)', function () {
    assert.deepEqual(
      classifyCertbotFailure(
        'Certbot failed to authenticate some domains (authenticator: webroot). ' +
          'Invalid response from http://app.local.test/.well-known/acme-challenge/x: 404',
      ),
      { kind: 'other' },
    );
    assert.deepEqual(classifyCertbotFailure('Failed to connect to https://acme.example/dir: Connection refused'), {
      kind: 'other',
    });
  });
});

// ----------------------------------------------------------------------------------------

const lb = (argv: string[], okExitCodes?: number[]) => runCommand({ env: 'local', host: 'lb', argv, okExitCodes });

async function served(): Promise<X509Certificate> {
  return servedCertificate('10.213.0.30', 443, DOMAIN);
}

/** sha256 of nginx's certificate files on lb: what "the files on disk" are. */
async function filesOnDisk(): Promise<string> {
  return (await lb(['sh', '-c', 'cd "$1" && sha256sum fullchain.pem privkey.pem', 'sum', TLS_DIR])).stdout;
}

/** Puts a stand-in for certbot on lb for the duration of `fn` (the real one is moved aside). */
async function withFakeCertbot<T>(script: string, fn: () => Promise<T>): Promise<T> {
  await lb([
    'sh',
    '-c',
    'mv /usr/bin/certbot /usr/bin/certbot.real && printf %s "$1" > /usr/bin/certbot && chmod 0755 /usr/bin/certbot',
    'fake',
    script,
  ]);
  try {
    return await fn();
  } finally {
    await lb(['sh', '-c', 'if [ -e /usr/bin/certbot.real ]; then mv -f /usr/bin/certbot.real /usr/bin/certbot; fi']);
  }
}

describe('renew-certificate on the test bed', function () {
  const taskQueue = uniqueQueue('renew');

  it('renews the self-signed certificate with one from Pebble, which nginx then serves', async function () {
    await withWorker(taskQueue, async () => {
      const before = await served();
      const filesBefore = await filesOnDisk();
      const handle = await startTestRun(taskQueue, { runbook: 'renew-certificate', env: 'local' });
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED', result.progress.reason);
      assert.deepEqual(
        result.progress.steps.map((s) => [s.name, s.status]),
        [
          ['read the served certificates', 'done'],
          [`obtain a certificate for ${DOMAIN}`, 'done'],
          [`check the new certificate for ${DOMAIN}`, 'done'],
          [`install the new certificate for ${DOMAIN}`, 'done'],
          ['nginx -t', 'done'],
          ['reload nginx', 'done'],
          [`verify ${DOMAIN} serves the new certificate`, 'done'],
        ],
      );
      const after = await served();
      assert.notEqual(after.fingerprint256, before.fingerprint256, 'a new certificate is served');
      assert.match(after.issuer, /Pebble/i, `issued by Pebble, not ${after.issuer}`);
      assert.match(after.subjectAltName ?? '', /DNS:app\.local\.test/);
      const onDisk = new X509Certificate((await lb(['cat', `${TLS_DIR}/fullchain.pem`])).stdout);
      assert.equal(onDisk.fingerprint256, after.fingerprint256, 'nginx serves the file the runbook installed');
      const kept = (await lb(['cat', `/var/backups/runbook/tls/${handle.workflowId}/${DOMAIN}/fullchain.pem`])).stdout;
      assert.equal(
        new X509Certificate(kept).fingerprint256,
        before.fingerprint256,
        'the previous certificate is kept aside',
      );
      assert.notEqual(await filesOnDisk(), filesBefore);
      await recordHistory(handle, 'renew-certificate-completed');
    });
  });

  it('changes nothing when the served certificate is not due within the threshold', async function () {
    await withWorker(taskQueue, async () => {
      const before = (await served()).fingerprint256;
      const handle = await startTestRun(taskQueue, {
        runbook: 'renew-certificate',
        env: 'local',
        params: { threshold: '1d' },
      });
      const result = (await handle.result()) as RunResult;
      assert.equal(result.state, 'COMPLETED');
      assert.equal(result.progress.steps.length, 2);
      assert.match(result.progress.steps[1].name, /^nothing to renew: the first expiry is in .*, beyond 1d$/);
      assert.equal((await served()).fingerprint256, before);
    });
  });

  it('restores the previous certificate when nginx -t refuses the config: the old one still serves', async function () {
    await withWorker(taskQueue, async () => {
      const before = (await served()).fingerprint256;
      const filesBefore = await filesOnDisk();
      const broken = '/etc/nginx/conf.d/zz-broken-by-test.conf';
      await lb(['sh', '-c', 'echo "this is not nginx syntax" > "$1"', 'inject', broken]);
      try {
        const handle = await startTestRun(taskQueue, {
          runbook: 'renew-certificate',
          env: 'local',
          params: { force: true },
        });
        const result = await compensated(handle.result());
        assert.match(result.progress.reason ?? '', /'nginx' '-t' exited with 1/);
        assert.deepEqual(
          result.progress.compensations.map((c) => [c.step, c.status]),
          [[`install the new certificate for ${DOMAIN}`, 'done']],
        );
        assert.equal(await filesOnDisk(), filesBefore, 'the previous files are back on disk');
        assert.equal((await served()).fingerprint256, before, 'the previous certificate still serves');
        await recordHistory(handle, 'renew-certificate-nginx-refused');
      } finally {
        await lb(['rm', '-f', '--', broken]);
      }
    });
  });

  it('puts the previous certificate back when the reload does not take: the old one still serves', async function () {
    // A reload that does nothing (a lost signal, a hung master): the new files are on disk,
    // but nginx still serves the old certificate, so the check after the reload fails.
    const inventory = bedInventory('bed-no-reload', (env) => (env.services.nginx.reload = ['true']));
    try {
      await withWorker(taskQueue, async () => {
        const before = (await served()).fingerprint256;
        const filesBefore = await filesOnDisk();
        const handle = await startTestRun(taskQueue, {
          runbook: 'renew-certificate',
          env: 'bed-no-reload',
          params: { force: true },
        });
        const result = await compensated(handle.result());
        assert.match(result.progress.reason ?? '', /is served with .*, not the new certificate/);
        assert.equal(result.progress.steps.find((s) => s.name === 'reload nginx')?.status, 'done');
        assert.deepEqual(
          result.progress.compensations.map((c) => [c.step, c.status]),
          [[`install the new certificate for ${DOMAIN}`, 'done']],
        );
        assert.equal(await filesOnDisk(), filesBefore, 'the previous files are back on disk');
        assert.equal((await served()).fingerprint256, before);
      });
    } finally {
      inventory.remove();
    }
  });

  it('changes nothing when the served certificate cannot be read (nginx down)', async function () {
    await withWorker(taskQueue, async () => {
      const filesBefore = await filesOnDisk();
      await lb(['nginx', '-s', 'quit']);
      try {
        const handle = await startTestRun(taskQueue, {
          runbook: 'renew-certificate',
          env: 'local',
          params: { force: true },
        });
        const result = await compensated(handle.result());
        assert.match(
          result.progress.reason ?? '',
          /TLS handshake with 10\.213\.0\.30:443 \(SNI app\.local\.test\) failed/,
        );
        assert.deepEqual(
          result.progress.steps.map((s) => s.name),
          ['read the served certificates'],
        );
        assert.equal(await filesOnDisk(), filesBefore);
      } finally {
        await lb(['sh', '-c', 'pgrep -x nginx >/dev/null || nginx']);
      }
    });
  });

  it('puts the previous pair back when the install fails half-way (certificate replaced, key not)', async function () {
    await withWorker(taskQueue, async () => {
      const before = (await served()).fingerprint256;
      const filesBefore = await filesOnDisk();
      // A directory where the new key is staged: the certificate is renamed into place, then
      // renaming the key fails, on every attempt.
      const blocker = `${TLS_DIR}/privkey.pem.new`;
      await lb(['mkdir', '-p', `${blocker}/blocked`]);
      try {
        const handle = await startTestRun(taskQueue, {
          runbook: 'renew-certificate',
          env: 'local',
          params: { force: true },
        });
        const result = await compensated(handle.result());
        assert.match(result.progress.reason ?? '', /cannot overwrite non-directory/);
        assert.deepEqual(
          result.progress.compensations.map((c) => [c.step, c.status]),
          [[`install the new certificate for ${DOMAIN}`, 'done']],
        );
        // Retries did not back up the half-installed pair over the previous one.
        assert.equal(await filesOnDisk(), filesBefore, 'the previous files are back on disk');
        assert.equal((await served()).fingerprint256, before);
      } finally {
        await lb(['rm', '-rf', '--', blocker]);
      }
    });
  });

  it('does not retry an ACME rate limit: one certbot call, and nothing changes', async function () {
    const fake =
      `#!/bin/sh
echo "$*" >> /var/tmp/fake-certbot.calls
echo "An unexpected error occurred:" >&2
echo "Error creating new order :: too many certificates (5) already issued for this exact set of domains ` +
      `in the last 168h0m0s, retry after 2026-11-30 03:12:44 UTC: see https://letsencrypt.org/docs/rate-limits/" >&2
exit 1
`;
    await withWorker(taskQueue, async () => {
      const before = (await served()).fingerprint256;
      const filesBefore = await filesOnDisk();
      await lb(['rm', '-f', '/var/tmp/fake-certbot.calls']);
      await withFakeCertbot(fake, async () => {
        const handle = await startTestRun(taskQueue, {
          runbook: 'renew-certificate',
          env: 'local',
          params: { force: true },
        });
        const result = await compensated(handle.result());
        assert.match(result.progress.reason ?? '', /rate limited \(retry after 2026-11-30 03:12:44 UTC\)/);
        assert.equal(result.progress.steps.at(-1)?.name, `obtain a certificate for ${DOMAIN}`);
      });
      const calls = (await lb(['cat', '/var/tmp/fake-certbot.calls'])).stdout.trim().split('\n');
      assert.equal(calls.length, 1, `certbot was called ${calls.length} times`);
      assert.match(calls[0], /certonly .*--server https:\/\/10\.213\.0\.1:14000\/dir .*-d app\.local\.test/);
      assert.equal(await filesOnDisk(), filesBefore);
      assert.equal((await served()).fingerprint256, before);
    });
  });

  it('refuses a certificate for the wrong domain: nothing is installed, the old one still serves', async function () {
    // Stands in for certbot and leaves a certificate for another name where certbot's would be.
    const fake = `#!/bin/sh
set -e
live=/etc/letsencrypt/live/${DOMAIN}
mkdir -p "$live"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=wrong.local.test \\
  -addext subjectAltName=DNS:wrong.local.test -keyout "$live/privkey.pem.tmp" -out "$live/fullchain.pem.tmp" 2>/dev/null
cat "$live/privkey.pem.tmp" > "$live/privkey.pem"; cat "$live/fullchain.pem.tmp" > "$live/fullchain.pem"
rm -f "$live/privkey.pem.tmp" "$live/fullchain.pem.tmp"
`;
    await withWorker(taskQueue, async () => {
      const before = (await served()).fingerprint256;
      const filesBefore = await filesOnDisk();
      await withFakeCertbot(fake, async () => {
        const handle = await startTestRun(taskQueue, {
          runbook: 'renew-certificate',
          env: 'local',
          params: { force: true },
        });
        const result = await compensated(handle.result());
        assert.match(result.progress.reason ?? '', /unfit: it is for wrong\.local\.test, not app\.local\.test/);
        assert.equal(result.progress.steps.at(-1)?.name, `check the new certificate for ${DOMAIN}`);
      });
      assert.equal(await filesOnDisk(), filesBefore);
      assert.equal((await served()).fingerprint256, before);
    });
  });

  it('is refused before anything runs for a malformed threshold', async function () {
    await assert.rejects(
      startTestRun(taskQueue, {
        runbook: 'renew-certificate',
        env: 'local',
        params: { threshold: '30 days; rm -rf /' },
      }),
      /--threshold .* is not valid/,
    );
    await assert.rejects(
      startTestRun(taskQueue, { runbook: 'renew-certificate', env: 'local', params: { threshold: '0d' } }),
      /--threshold "0d" is not valid/,
    );
  });
});
