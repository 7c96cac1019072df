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

  after(function () {
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
});
