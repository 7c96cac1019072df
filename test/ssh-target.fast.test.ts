// Where and as whom the worker connects, from the inventory alone: a host's own user, port and
// jump host over the environment's, the agent or key file, and the schema's refusals.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { parseEnvironment } from '../src/inventory';
import { targetFor, type SshTarget } from '../activities/ssh/target';
import { opensshOptions, sshFailure } from '../activities/ssh/openssh';
import { FailureType } from '../common/failure-types';

const inventory = `
environment: fleet
ssh:
  user: deploy
  port: 2222
  privateKey: /keys/deploy
  knownHosts: /keys/known_hosts
  jump: { address: bastion.example.com }
hosts:
  web-1: { address: 10.0.0.5, roles: [web] }
  web-2: { address: 10.0.0.6, roles: [web], user: admin, port: 22 }
  db:    { address: 10.0.1.5, roles: [db], jump: { address: 10.0.1.1, port: 2200, user: hop } }
  edge:  { address: edge.example.com, jump: none }
`;

describe('SSH targets from the inventory', function () {
  it("takes a host's user, port and jump host over the environment's", function () {
    const env = parseEnvironment(inventory, 'fleet.yaml');
    const base = { privateKeyPath: '/keys/deploy', knownHostsPath: '/keys/known_hosts' };
    assert.deepEqual(targetFor(env, { host: 'web-1' }), {
      name: 'fleet/web-1',
      address: '10.0.0.5',
      port: 2222,
      username: 'deploy',
      ...base,
      jump: { address: 'bastion.example.com', port: 22, username: 'deploy' },
    });
    assert.deepEqual(targetFor(env, { host: 'web-2' }), {
      name: 'fleet/web-2',
      address: '10.0.0.6',
      port: 22,
      username: 'admin',
      ...base,
      jump: { address: 'bastion.example.com', port: 22, username: 'deploy' },
    });
    assert.deepEqual(targetFor(env, { host: 'db' }).jump, { address: '10.0.1.1', port: 2200, username: 'hop' });
    assert.equal(targetFor(env, { host: 'edge' }).jump, undefined, '`jump: none` connects directly');
    const asOps = targetFor(env, { host: 'web-2', login: 'ops' });
    assert.equal(asOps.username, 'ops', 'a login given by the runbook wins over the host');
    assert.equal(asOps.jump?.username, 'deploy', 'and never changes the jump host');
    assert.throws(() => targetFor(env, { host: 'web-9' }), /no host "web-9" in environment fleet/);
  });

  it('defaults to root on port 22 with ~/.ssh/id_ed25519 and no jump host', function () {
    const env = parseEnvironment('environment: lab\nhosts:\n  h: { address: h.lab }\n', 'lab.yaml');
    const t = targetFor(env, { host: 'h' });
    assert.deepEqual(
      [t.username, t.port, t.privateKeyPath, t.agentSocket, t.jump],
      ['root', 22, path.join(process.env.HOME ?? '/', '.ssh/id_ed25519'), undefined, undefined],
    );
  });

  it('uses an ssh-agent named by the inventory, with no key file unless one is named too', function () {
    const saved = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = '/run/agent.sock';
    try {
      const agentOnly = parseEnvironment(
        'environment: lab\nssh: { agent: "${SSH_AUTH_SOCK}" }\nhosts:\n  h: { address: h.lab }\n',
        'lab.yaml',
      );
      const t = targetFor(agentOnly, { host: 'h' });
      assert.deepEqual([t.agentSocket, t.privateKeyPath], ['/run/agent.sock', undefined]);
      const both = parseEnvironment(
        'environment: lab\nssh: { agent: /a.sock, privateKey: /k }\nhosts:\n  h: { address: h.lab }\n',
        'lab.yaml',
      );
      assert.deepEqual(
        [targetFor(both, { host: 'h' }).agentSocket, targetFor(both, { host: 'h' }).privateKeyPath],
        ['/a.sock', '/k'],
      );
      delete process.env.SSH_AUTH_SOCK;
      assert.throws(() => targetFor(agentOnly, { host: 'h' }), /uses \$\{SSH_AUTH_SOCK\}, which is not set/);
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
    }
  });

  it('refuses a bad user, port or jump host, naming the place', function () {
    const cases: [string, RegExp][] = [
      [inventory.replace('port: 22 }', 'port: 0 }'), /hosts\.web-2\.port: must be >= 1/],
      [inventory.replace('port: 22 }', 'port: 65536 }'), /hosts\.web-2\.port: must be <= 65535/],
      [inventory.replace('port: 2222', 'port: "2222"'), /ssh\.port: must be integer/],
      [inventory.replace('user: admin', 'user: "Admin; id"'), /hosts\.web-2\.user: must match pattern/],
      [inventory.replace('jump: none', 'jump: direct'), /hosts\.edge\.jump: must be equal to constant/],
      [inventory.replace('user: hop }', 'user: hop, via: x }'), /hosts\.db\.jump: unknown key "via"/],
      [inventory.replace('jump: { address: bastion.example.com }', 'jump: {}'), /ssh\.jump: must have required/],
      [inventory.replace('address: bastion.example.com', 'address: "-oProxyCommand=x"'), /ssh\.jump\.address/],
      [inventory.replace('privateKey: /keys/deploy', 'agent: ""'), /ssh\.agent: must NOT have fewer than 1/],
    ];
    for (const [text, error] of cases) assert.throws(() => parseEnvironment(text, 'fleet.yaml'), error);
  });

  describe('the OpenSSH transport', function () {
    const target: SshTarget = {
      name: 'fleet/db',
      address: '10.0.1.5',
      port: 2222,
      username: 'deploy',
      privateKeyPath: '/keys/deploy',
      knownHostsPath: '/keys/known_hosts',
      transport: 'openssh',
    };
    const option = (args: string[], name: string) =>
      args.flatMap((a, i) => (args[i - 1] === '-o' && a.startsWith(`${name}=`) ? [a.slice(name.length + 1)] : []));

    it('is chosen by `ssh.transport: openssh`', function () {
      const env = parseEnvironment(inventory.replace('user: deploy', 'user: deploy\n  transport: openssh'), 'f.yaml');
      assert.equal(targetFor(env, { host: 'db' }).transport, 'openssh');
      assert.equal(targetFor(parseEnvironment(inventory, 'f.yaml'), { host: 'db' }).transport, undefined);
    });

    it('takes every option from the inventory, none from ~/.ssh/config, and checks host keys strictly', function () {
      const args = opensshOptions(target, '/tmp/cm/x');
      assert.deepEqual(args.slice(0, 2), ['-F', 'none']);
      assert.deepEqual(option(args, 'StrictHostKeyChecking'), ['yes']);
      assert.deepEqual(option(args, 'BatchMode'), ['yes']);
      assert.deepEqual(option(args, 'UserKnownHostsFile'), ['/keys/known_hosts']);
      assert.deepEqual(option(args, 'GlobalKnownHostsFile'), ['/dev/null']);
      assert.deepEqual(option(args, 'IdentityFile'), ['/keys/deploy']);
      assert.deepEqual(option(args, 'IdentitiesOnly'), ['yes']);
      assert.deepEqual(option(args, 'IdentityAgent'), ['none']);
      assert.deepEqual(option(args, 'ControlPath'), ['/tmp/cm/x']);
      assert.deepEqual(option(args, 'ProxyCommand'), []);
      assert.equal(args[args.indexOf('-p') + 1], '2222');
      const agent = opensshOptions({ ...target, privateKeyPath: undefined, agentSocket: '/run/a.sock' }, '/tmp/cm/x');
      assert.deepEqual(
        [option(agent, 'IdentityAgent'), option(agent, 'IdentityFile'), option(agent, 'IdentitiesOnly')],
        [['/run/a.sock'], ['none'], []],
        "the agent's keys only, not ~/.ssh/id_*",
      );
    });

    it("reaches a jump host with the same known_hosts and key, not ProxyJump's defaults", function () {
      const args = opensshOptions({ ...target, jump: { address: 'bastion', port: 22, username: 'hop' } }, '/tmp/cm/x');
      const [proxy] = option(args, 'ProxyCommand');
      assert.ok(proxy.startsWith("'ssh' '-F' 'none'"), proxy);
      for (const part of [
        "'UserKnownHostsFile=/keys/known_hosts'",
        "'IdentityFile=/keys/deploy'",
        "'-W' '[%h]:%p' '--' 'hop@bastion'",
      ])
        assert.ok(proxy.includes(part), `${part} in ${proxy}`);
    });

    it('refuses paths ssh options cannot carry', function () {
      assert.throws(
        () => opensshOptions({ ...target, knownHostsPath: '/my keys/kh' }, '/tmp/cm/x'),
        /knownHosts "\/my keys\/kh" has blanks/,
      );
      assert.throws(() => opensshOptions({ ...target, privateKeyPath: '/k%h' }, '/tmp/cm/x'), /privateKey/);
    });

    it("reads ssh's own failures as the failure types of the ssh2 transport", function () {
      const type = (stderr: string) => {
        const f = sshFailure(target, stderr);
        return typeof f === 'object' ? f.type : f;
      };
      assert.equal(
        type('@@@@@@\n@       WARNING: REVOKED HOST KEY DETECTED!       @\nHost key verification failed.\n'),
        FailureType.HostKeyRevoked,
      );
      assert.equal(
        type('@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @\nHost key verification failed.\n'),
        FailureType.HostKeyMismatch,
      );
      assert.equal(
        type(
          'No ED25519 host key is known for 10.0.1.5 and you have requested strict checking.\n' +
            'Host key verification failed.\n',
        ),
        FailureType.HostKeyMismatch,
      );
      assert.equal(type('deploy@10.0.1.5: Permission denied (publickey).\n'), FailureType.SshAuthFailed);
      assert.equal(type('ssh: connect to host 10.0.1.5 port 2222: Connection timed out\n'), FailureType.SshUnreachable);
      assert.equal(type('Connection to 10.0.1.5 closed by remote host.\n'), 'lost');
      assert.equal(type('mux_client_read_packet_timeout: read header failed: Broken pipe\n'), 'lost');
      assert.equal(type('mux_client_request_session: read from master failed: Connection reset by peer\n'), 'lost');
      assert.equal(type('the remote command said this and exited 255\n'), undefined);
    });
  });
});
