// SSH as fleets use it, on the test bed's real sshd hosts, through the inventory as an operator
// writes it: a key held only by an ssh-agent, a host reachable only through a jump host, and a
// revoked host key. Each case is an environment of its own, written beside the bed's `local`.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { runCommand } from '../activities/hosts';
import { checkHost } from '../activities/health';
import { closeMasters } from '../activities/ssh/openssh';
import { pool } from '../activities/ssh/pool';
import { runOn } from '../activities/ssh/run';
import { pipeBetween, spawnOn } from '../activities/ssh/stream';
import { resolveTarget } from '../activities/ssh/target';
import { expandPath } from '../src/inventory';
import { projectRoot } from '../src/config';
import { FailureType } from '../common/failure-types';

const GATEWAY = '10.213.0.1'; // the worker's address on the bed's bridge
const TARGET = { host: 'db', address: '10.213.0.20', netns: 'rbtb-db' };
const JUMP = { host: 'lb', address: '10.213.0.30' };

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the connection to be refused');
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(check(), what);
}

describe('SSH as fleets use it, on the test bed', function () {
  let dir: string;
  let savedInventory: string | undefined;
  let local: Record<string, unknown> & { ssh: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> };
  let knownHosts: string;

  /** Writes environment `name`: the bed's `local`, changed by `edit`. */
  function environment(name: string, edit: (env: typeof local) => void): string {
    const env = structuredClone(local);
    env.environment = name;
    edit(env);
    fs.writeFileSync(path.join(dir, `${name}.yaml`), stringifyYaml(env));
    return name;
  }

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssh-fleet-'));
    local = parseYaml(fs.readFileSync(path.join(projectRoot, 'inventory', 'local.yaml'), 'utf8')) as typeof local;
    knownHosts = expandPath(local.ssh.knownHosts as string);
    savedInventory = process.env.RUNBOOK_INVENTORY_DIR;
    process.env.RUNBOOK_INVENTORY_DIR = [dir, savedInventory].filter(Boolean).join(':');
  });

  after(async function () {
    await closeMasters();
    if (savedInventory === undefined) delete process.env.RUNBOOK_INVENTORY_DIR;
    else process.env.RUNBOOK_INVENTORY_DIR = savedInventory;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('a key held by ssh-agent', function () {
    let agent: ChildProcess | undefined;
    let socket: string;

    before(async function () {
      socket = path.join(dir, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      await until('ssh-agent made its socket', () => fs.existsSync(socket));
    });

    after(() => void agent?.kill());

    it('logs in with the agent alone: refused while the agent is empty, in once the key is added', async function () {
      const env = environment('ssh-agent', (e) => {
        delete e.ssh.privateKey;
        e.ssh.agent = socket;
      });
      const refused = await failureOf(runCommand({ env, host: 'web-green', argv: ['true'] }));
      assert.equal(refused.type, FailureType.SshAuthFailed, refused.message);
      assert.match(refused.message, /and the agent's/);

      execFileSync('ssh-add', ['-q', expandPath(local.ssh.privateKey as string)], {
        env: { ...process.env, SSH_AUTH_SOCK: socket },
        stdio: 'ignore',
      });
      const r = await runCommand({ env, host: 'web-green', argv: ['cat', '/etc/hostname'] });
      assert.equal(r.stdout.trim(), 'web-green');
    });

    it('logs in with the agent alone through the OpenSSH transport too', async function () {
      const env = environment('ssh-agent-openssh', (e) => {
        delete e.ssh.privateKey;
        e.ssh.agent = socket;
        e.ssh.transport = 'openssh';
      });
      const r = await runCommand({ env, host: 'web-blue', argv: ['cat', '/etc/hostname'] });
      assert.equal(r.stdout.trim(), 'web-blue');
    });
  });

  describe('a host reachable only through a jump host', function () {
    // The target's namespace loses its route back to the worker (its own routes, never this
    // machine's): the worker's SYN reaches it, its answer cannot leave; the jump host, on the
    // same bridge, still reaches it.
    const route = ['unreachable', `${GATEWAY}/32`];
    const ip = (...args: string[]) => execFileSync('ip', ['-n', TARGET.netns, 'route', ...args], { stdio: 'pipe' });

    before(function () {
      try {
        ip('del', ...route);
      } catch {
        // not left over from an earlier run
      }
      ip('add', ...route);
    });

    after(() => ip('del', ...route));

    it('refuses a direct connection, and runs commands on the target through the jump host', async function () {
      // A new connection: one the suite's earlier files left in the pool died with the route.
      pool.forget(resolveTarget({ env: 'local', host: TARGET.host }));
      const direct = await failureOf(runCommand({ env: 'local', host: TARGET.host, argv: ['true'] }));
      assert.equal(direct.type, FailureType.SshUnreachable, direct.message);

      const env = environment('ssh-jump', (e) => (e.hosts[TARGET.host].jump = { address: JUMP.address }));
      const r = await runCommand({
        env,
        host: TARGET.host,
        argv: ['sh', '-c', 'cat /etc/hostname; echo $SSH_CONNECTION'],
      });
      const [hostname, connection] = r.stdout.trim().split('\n');
      assert.equal(hostname, TARGET.host);
      assert.equal(connection.split(' ')[0], JUMP.address, 'the target saw the session come from the jump host');
    });

    it('runs through the jump host with the OpenSSH transport too', async function () {
      const env = environment('ssh-jump-openssh', (e) => {
        e.ssh.transport = 'openssh';
        e.hosts[TARGET.host].jump = { address: JUMP.address };
      });
      const r = await runCommand({ env, host: TARGET.host, argv: ['sh', '-c', 'echo $SSH_CONNECTION'] });
      assert.equal(r.stdout.trim().split(' ')[0], JUMP.address);
    });

    it("checks the target's host key under the target's name, through the jump host too", async function () {
      const lines = fs.readFileSync(knownHosts, 'utf8').split('\n');
      const jumpKey = lines
        .find((l) => l.startsWith(`${JUMP.address} `))!
        .split(' ')
        .slice(1)
        .join(' ');
      const wrong = path.join(dir, 'known_hosts.wrong-target');
      // The jump host's line is right; the target's carries another host's key.
      fs.writeFileSync(
        wrong,
        lines.map((l) => (l.startsWith(`${TARGET.address} `) ? `${TARGET.address} ${jumpKey}` : l)).join('\n'),
      );
      const env = environment('ssh-jump-wrong-key', (e) => {
        e.ssh.knownHosts = wrong;
        e.hosts[TARGET.host].jump = { address: JUMP.address };
      });
      const mismatch = await failureOf(runCommand({ env, host: TARGET.host, argv: ['true'] }));
      assert.equal(mismatch.type, FailureType.HostKeyMismatch, mismatch.message);
      assert.match(mismatch.message, new RegExp(`host key of ${TARGET.address.replace(/\./g, '\\.')} does not match`));
    });
  });

  it('refuses a host whose key a @revoked line lists, though its own line lists it too', async function () {
    const text = fs.readFileSync(knownHosts, 'utf8');
    const own = text.split('\n').find((l) => l.startsWith(`${JUMP.address} `))!;
    const revoked = path.join(dir, 'known_hosts.revoked');
    fs.writeFileSync(revoked, `${text.trimEnd()}\n@revoked * ${own.split(' ').slice(1).join(' ')}\n`);
    const env = environment('ssh-revoked', (e) => (e.ssh.knownHosts = revoked));
    const refused = await failureOf(runCommand({ env, host: JUMP.host, argv: ['true'] }));
    assert.equal(refused.type, FailureType.HostKeyRevoked, refused.message);
    assert.equal(refused.nonRetryable, true);
    assert.match(refused.message, /revoked/);
    // The same file without the @revoked line lets the same host in.
    const r = await runCommand({ env: 'local', host: JUMP.host, argv: ['cat', '/etc/hostname'] });
    assert.equal(r.stdout.trim(), JUMP.host);
  });

  describe('a host certificate signed by a CA listed with @cert-authority', function () {
    const HOST = JUMP; // lb: its sshd presents a certificate for the duration of these tests
    const CERT = '/etc/ssh/ssh_host_ed25519_key-cert.pub';
    const DROP_IN = '/etc/ssh/sshd_config.d/05-runbook-test-certificate.conf';
    let caKey: string;
    before(async function () {
      const ca = path.join(dir, 'host-ca');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test host CA', '-f', ca]);
      caKey = fs.readFileSync(`${ca}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
      const hostKey = path.join(dir, `${HOST.host}.pub`);
      fs.copyFileSync(expandPath(`\${RUNBOOK_CACHE_DIR}/testbed/ssh/hostkeys/${HOST.host}.pub`), hostKey);
      execFileSync('ssh-keygen', [
        '-q',
        '-s',
        ca,
        '-I',
        `${HOST.host}-test`,
        '-h',
        '-n',
        HOST.address,
        '-V',
        '-5m:+1h',
        hostKey,
      ]);
      const cert = fs.readFileSync(path.join(dir, `${HOST.host}-cert.pub`), 'utf8');
      await writeOnHost(CERT, cert);
      await writeOnHost(DROP_IN, `HostCertificate ${CERT}\n`);
      await runCommand({ env: 'local', host: HOST.host, argv: ['service', 'ssh', 'reload'] });
    });

    after(async function () {
      await runCommand({ env: 'local', host: HOST.host, argv: ['rm', '-f', '--', DROP_IN, CERT] });
      await runCommand({ env: 'local', host: HOST.host, argv: ['service', 'ssh', 'reload'] });
    });

    function writeOnHost(file: string, text: string) {
      return runOn(resolveTarget({ env: 'local', host: HOST.host }), ['sh', '-c', 'cat > "$1"', 'sh', file], {
        stdin: text,
      });
    }

    function certEnvironment(name: string, lines: string[], transport: 'openssh' | 'ssh2') {
      const known = path.join(dir, `known_hosts.${name}`);
      fs.writeFileSync(known, lines.join('\n') + '\n');
      return environment(name, (e) => {
        e.ssh.knownHosts = known;
        e.ssh.transport = transport;
      });
    }

    it('is accepted through the OpenSSH transport with only the CA in known_hosts', async function () {
      const env = certEnvironment('ssh-cert', [`@cert-authority 10.213.0.* ${caKey}`], 'openssh');
      const r = await runCommand({ env, host: HOST.host, argv: ['cat', '/etc/hostname'] });
      assert.equal(r.stdout.trim(), HOST.host);
      // The health check's SSH probe logs in afresh, without the host's master.
      const ssh = (await checkHost({ env, host: HOST.host })).find((c) => c.check === 'ssh');
      assert.equal(ssh?.state, 'ok', ssh?.detail);
    });

    it('is refused when the CA is revoked, or another CA is listed', async function () {
      const revoked = certEnvironment(
        'ssh-cert-revoked',
        [`@cert-authority 10.213.0.* ${caKey}`, `@revoked * ${caKey}`],
        'openssh',
      );
      const r = await failureOf(runCommand({ env: revoked, host: HOST.host, argv: ['true'] }));
      assert.equal(r.type, FailureType.HostKeyRevoked, r.message);
      const other = fs.readFileSync(knownHosts, 'utf8').split('\n')[0].split(' ').slice(1).join(' ');
      const wrongCa = certEnvironment('ssh-cert-other-ca', [`@cert-authority 10.213.0.* ${other}`], 'openssh');
      const w = await failureOf(runCommand({ env: wrongCa, host: HOST.host, argv: ['true'] }));
      assert.equal(w.type, FailureType.HostKeyMismatch, w.message);
    });

    it('is refused by the ssh2 transport, which cannot check it, naming the OpenSSH transport', async function () {
      const env = certEnvironment('ssh-cert-ssh2', [`@cert-authority 10.213.0.* ${caKey}`], 'ssh2');
      const r = await failureOf(runCommand({ env, host: HOST.host, argv: ['true'] }));
      assert.equal(r.type, FailureType.UnknownHostKey, r.message);
      assert.match(r.message, /host certificates need the OpenSSH transport/);
    });
  });

  describe('streams through the OpenSSH transport', function () {
    it('pipes a command on one host into a command on another, counted and hashed on the way', async function () {
      const env = environment('ssh-openssh', (e) => (e.ssh.transport = 'openssh'));
      const from = resolveTarget({ env, host: 'web-blue' });
      const to = resolveTarget({ env, host: 'web-green' });
      const file = `/tmp/ssh-fleet-stream-${process.pid}`;
      const piped = await pipeBetween(
        { target: from, argv: ['head', '-c', '3000000', '/dev/urandom'] },
        { target: to, argv: ['sh', '-c', 'cat > "$1"', 'sh', file] },
        { timeoutMs: 60_000 },
      );
      const r = await runOn(to, ['sh', '-c', 'wc -c < "$1"; sha256sum < "$1"; rm -f -- "$1"', 'sh', file]);
      const [bytes, sum] = r.stdout.trim().split('\n');
      assert.equal(piped.bytes, 3_000_000);
      assert.equal(Number(bytes), piped.bytes);
      assert.equal(sum.split(' ')[0], piped.sha256);
    });

    it("reports ssh's refusal of a streamed command as the host key failure it is", async function () {
      const text = fs.readFileSync(knownHosts, 'utf8');
      const own = text.split('\n').find((l) => l.startsWith(`${JUMP.address} `))!;
      const revoked = path.join(dir, 'known_hosts.stream-revoked');
      fs.writeFileSync(revoked, `${text.trimEnd()}\n@revoked * ${own.split(' ').slice(1).join(' ')}\n`);
      const env = environment('ssh-openssh-revoked', (e) => {
        e.ssh.transport = 'openssh';
        e.ssh.knownHosts = revoked;
      });
      const p = await spawnOn({ target: resolveTarget({ env, host: JUMP.host }), argv: ['cat'] });
      const code = await p.exited;
      assert.throws(
        () => p.check(code),
        (err: unknown) => err instanceof ApplicationFailure && err.type === FailureType.HostKeyRevoked,
      );
    });
  });
});
