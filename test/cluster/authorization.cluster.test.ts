// The cluster's authorization (cluster/server/policy.go), called as each identity would call it:
// with the SDK's raw gRPC service, so each refusal is the server's and not the SDK's. An
// operator's certificate cannot take the engine's tasks, report a step done, touch an
// environment lock or destroy runs; the worker's can poll; an admin's can terminate.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { google, temporal } from '@temporalio/proto';
import { environmentLockId } from '../../common/shared';
import { clusterEnv, tlsOptions } from '../../dev/cluster';
import { temporalCliPath } from '../../dev/dev-server';
import { connectionOptions, identityEnv, testClient, uniqueQueue, type Identity } from '../helpers';

const namespace = 'default';
// grpc status codes
const PERMISSION_DENIED = 7;
const NOT_FOUND = 5;

const connections = new Map<Identity, Connection>();
async function connect(who: Identity): Promise<Connection> {
  let c = connections.get(who);
  if (!c) {
    c = await Connection.connect(connectionOptions(who));
    connections.set(who, c);
  }
  return c;
}
const as = async (who: Identity) => (await connect(who)).workflowService;

type GrpcError = { code?: number; details?: string; message?: string; metadata?: { get(key: string): unknown[] } };

/** The authorizer's reason (policy.go), which the server sends in the error's details, not its message. */
function reason(err: GrpcError): string {
  const [bin] = (err.metadata?.get('grpc-status-details-bin') ?? []) as Buffer[];
  if (!bin) return '';
  const status = google.rpc.Status.decode(bin);
  const denied = status.details.find((d) => d.type_url?.endsWith('PermissionDeniedFailure'));
  return denied?.value ? temporal.api.errordetails.v1.PermissionDeniedFailure.decode(denied.value).reason : '';
}

/** The call is refused by the authorizer (not by the handler behind it), for `why`. */
async function refused(call: Promise<unknown>, why: RegExp): Promise<void> {
  await assert.rejects(call, (err: GrpcError) => {
    assert.equal(err.code, PERMISSION_DENIED, `${err.code}: ${err.details ?? err.message}`);
    assert.match(reason(err), why);
    return true;
  });
}

/** The call got past the authorizer: it succeeds, or fails for another reason than permission. */
async function authorized(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: number; details?: string; message?: string };
    assert.notEqual(e.code, PERMISSION_DENIED, `refused: ${e.details ?? e.message}`);
  }
}

describe('authorization on the cluster: operators are not workers', function () {
  const started: string[] = [];
  let taskQueue: string;

  before(async function () {
    assert.ok(process.env.RUNBOOK_TEST_IDENTITIES, 'the cluster fixture gives the identities');
    taskQueue = uniqueQueue('cluster-authz');
  });

  after(async function () {
    const admin = await testClient('admin');
    for (const id of started)
      await admin.workflow
        .getHandle(id)
        .terminate('authorization test')
        .catch(() => undefined);
    for (const c of connections.values()) await c.close();
  });

  /** A run of a type no worker has, on a queue nobody else polls: its tasks wait for whoever may take them. */
  async function startIdle(): Promise<string> {
    const handle = await (
      await testClient('operator')
    ).workflow.start('authorizationTestIdle', {
      taskQueue,
      workflowId: `${taskQueue}-${started.length}`,
    });
    started.push(handle.workflowId);
    return handle.workflowId;
  }

  it("refuses an operator's poll of the engine's task queues, and lets the worker take the task", async function () {
    await startIdle();
    const operator = await as('operator');
    const poll = { namespace, taskQueue: { name: taskQueue }, identity: 'operator-poller' };
    await refused(operator.pollWorkflowTaskQueue(poll), /PollWorkflowTaskQueue is the engine's/);
    await refused(operator.pollActivityTaskQueue(poll), /PollActivityTaskQueue is the engine's/);
    await refused(operator.pollNexusTaskQueue(poll), /PollNexusTaskQueue is the engine's/);
    const admin = await as('admin');
    await refused(admin.pollWorkflowTaskQueue(poll), /is the engine's/);

    const worker = await connect('worker');
    // A long poll: the server wants a deadline (it answers at once here, the task is waiting).
    const task = await worker.withDeadline(Date.now() + 30_000, () =>
      worker.workflowService.pollWorkflowTaskQueue({ ...poll, identity: 'worker-poller' }),
    );
    assert.ok(task.taskToken?.length, 'the worker took the waiting workflow task');
    // ...and the operator cannot answer it for the worker either.
    await refused(
      operator.respondWorkflowTaskCompleted({ namespace, taskToken: task.taskToken, identity: 'operator' }),
      /RespondWorkflowTaskCompleted is the engine's/,
    );
  });

  it("refuses an operator's completion of a step by id, its heartbeat and a change of its options", async function () {
    const workflowId = await startIdle();
    const operator = await as('operator');
    const byId = { namespace, workflowId, activityId: '1', identity: 'operator' };
    await refused(operator.respondActivityTaskCompletedById(byId), /RespondActivityTaskCompletedById is the engine's/);
    await refused(operator.respondActivityTaskFailedById(byId), /is the engine's/);
    await refused(operator.recordActivityTaskHeartbeatById(byId), /is the engine's/);
    await refused(
      operator.updateActivityOptions({ namespace, execution: { workflowId }, id: '1', identity: 'operator' }),
      /UpdateActivityOptions is the engine's/,
    );
    // The SDK's own way to complete an activity from outside (async completion) is that call.
    await assert.rejects((await testClient('operator')).activity.complete({ workflowId, activityId: '1' }, 'done'));
  });

  const lockTitle =
    'refuses signals, signal-with-start, cancels and terminations of an environment lock to all but the engine';
  it(lockTitle, async function () {
    const lock = environmentLockId('test');
    const execution = { workflowId: lock };
    const locked = /only the engine acts on environment locks/;
    for (const who of ['operator', 'admin'] as const) {
      const svc = await as(who);
      await refused(
        svc.signalWorkflowExecution({ namespace, workflowExecution: execution, signalName: 'release' }),
        locked,
      );
      await refused(
        svc.signalWithStartWorkflowExecution({
          namespace,
          workflowId: lock,
          workflowType: { name: 'environmentLock' },
          taskQueue: { name: taskQueue },
          signalName: 'release',
          requestId: `${who}-${Date.now()}`,
        }),
        locked,
      );
      await refused(svc.requestCancelWorkflowExecution({ namespace, workflowExecution: execution }), locked);
      await refused(svc.terminateWorkflowExecution({ namespace, workflowExecution: execution }), locked);
      await refused(
        svc.startWorkflowExecution({
          namespace,
          workflowId: lock,
          workflowType: { name: 'environmentLock' },
          taskQueue: { name: taskQueue },
          requestId: `${who}-start-${Date.now()}`,
        }),
        locked,
      );
    }
    // The engine's certificate passes the authorizer (there is no such lock now: not found).
    await assert.rejects(
      (await as('worker')).signalWorkflowExecution({
        namespace,
        workflowExecution: { workflowId: environmentLockId(`none-${Date.now()}`) },
        signalName: 'release',
      }),
      (err: { code?: number }) => err.code === NOT_FOUND,
    );
    // Reading a lock is anyone's: the CLI and the Web UI show who holds an environment.
    await authorized((await as('operator')).describeWorkflowExecution({ namespace, execution }));
  });

  const destroyTitle = 'refuses terminating, resetting and deleting runs to operators and workers; an admin terminates';
  it(destroyTitle, async function () {
    const workflowId = await startIdle();
    const execution = { workflowId };
    for (const who of ['operator', 'worker'] as const) {
      const svc = await as(who);
      await refused(svc.terminateWorkflowExecution({ namespace, workflowExecution: execution }), /needs an admin/);
      await refused(svc.deleteWorkflowExecution({ namespace, workflowExecution: execution }), /needs an admin/);
      await refused(svc.resetWorkflowExecution({ namespace, workflowExecution: execution }), /needs an admin/);
      await refused(
        svc.startBatchOperation({ namespace, jobId: `authz-${who}`, visibilityQuery: `WorkflowId = "${workflowId}"` }),
        /needs an admin/,
      );
    }
    // The worker starts nothing by itself either: runs are started by people (and schedules).
    await refused(
      (await as('worker')).startWorkflowExecution({
        namespace,
        workflowId: `${workflowId}-by-worker`,
        workflowType: { name: 'authorizationTestIdle' },
        taskQueue: { name: taskQueue },
        requestId: `worker-${Date.now()}`,
      }),
      /StartWorkflowExecution is an operator's/,
    );
    // An operator cancels (the run undoes what it did); an admin terminates.
    await authorized(
      (await as('operator')).requestCancelWorkflowExecution({ namespace, workflowExecution: execution }),
    );
    await (await testClient('admin')).workflow.getHandle(workflowId).terminate('an admin may');
    const { status } = await (await testClient('operator')).workflow.getHandle(workflowId).describe();
    assert.equal(status.name, 'TERMINATED');
  });

  it('refuses namespace and search-attribute administration to operators', async function () {
    const operator = await connect('operator');
    await refused(
      operator.operatorService.addSearchAttributes({ namespace, searchAttributes: { AuthzTest: 2 } }),
      /needs an admin/,
    );
    await refused(
      operator.workflowService.updateNamespace({ namespace, updateInfo: { description: 'x' } }),
      /needs an admin/,
    );
    // What the CLI and the Web UI read stays open to operators.
    await authorized(operator.operatorService.listSearchAttributes({ namespace }));
    await authorized(operator.workflowService.describeNamespace({ namespace }));
    await authorized(operator.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 }));
  });

  it('accepts no connection without a client certificate of its CA', async function () {
    const operatorEnv = identityEnv('operator');
    const { address } = connectionOptions('operator');
    const serverOnly = tlsOptions(operatorEnv)!;
    const noCert = {
      serverNameOverride: serverOnly.serverNameOverride,
      serverRootCACertificate: serverOnly.serverRootCACertificate,
    };
    const connect = (tls: object | undefined) =>
      Connection.connect({ address, tls, connectTimeout: 5000 }).then((c) => c.close());
    await assert.rejects(connect(undefined), 'plaintext');
    await assert.rejects(connect(noCert), 'TLS without a client certificate');
    // An admin certificate from a CA of one's own: the subject says admin, the server's CA did not sign it.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forged-'));
    try {
      const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
      sh(
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key'].concat([
          '-out',
          'ca.pem',
          '-subj',
          '/CN=forged CA',
          '-days',
          '1',
        ]),
      );
      sh(
        [
          'req',
          '-new',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          'admin.key',
        ].concat(['-out', 'admin.csr', '-subj', '/O=runbook cluster/OU=admin/CN=mallory']),
      );
      fs.writeFileSync(path.join(dir, 'ext'), 'extendedKeyUsage=clientAuth\n');
      sh(
        ['x509', '-req', '-in', 'admin.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
          '-days',
          '1',
          '-extfile',
          'ext',
          '-out',
          'admin.pem',
        ]),
      );
      const forged = {
        ...noCert,
        clientCertPair: {
          crt: fs.readFileSync(path.join(dir, 'admin.pem')),
          key: fs.readFileSync(path.join(dir, 'admin.key')),
        },
      };
      await assert.rejects(connect(forged), 'a certificate of another CA');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a certificate of the cluster's CA without a role passes health checks only", async function () {
    const { TEMPORAL_TLS_SERVER_CA_CERT_PATH: caCert } = identityEnv('admin');
    const caKey = caCert.replace(/\.pem$/, '.key');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roleless-'));
    try {
      const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
      sh(
        ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'c.key'].concat([
          '-out',
          'c.csr',
          '-subj',
          '/O=runbook cluster/OU=nobody/CN=roleless',
        ]),
      );
      fs.writeFileSync(path.join(dir, 'ext'), 'extendedKeyUsage=clientAuth\n');
      sh(
        [
          'x509',
          '-req',
          '-in',
          'c.csr',
          '-CA',
          caCert,
          '-CAkey',
          caKey,
          '-CAcreateserial',
          '-CAserial',
          'ca.srl',
        ].concat(['-days', '1', '-extfile', 'ext', '-out', 'c.pem']),
      );
      const base = connectionOptions('operator');
      const connection = await Connection.connect({
        address: base.address,
        tls: {
          ...base.tls,
          clientCertPair: {
            crt: fs.readFileSync(path.join(dir, 'c.pem')),
            key: fs.readFileSync(path.join(dir, 'c.key')),
          },
        },
      });
      try {
        // Connecting asks GetSystemInfo: open to any certificate of the CA.
        await authorized(connection.workflowService.getSystemInfo({}));
        await refused(
          connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 }),
          /"roleless" has no role/,
        );
      } finally {
        await connection.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const uiTitle = 'serves the Web UI on loopback only, acting as an operator: it lists runs, it cannot terminate one';
  it(uiTitle, async function () {
    const ui = new URL(process.env.RUNBOOK_UI_URL!);
    assert.equal(ui.hostname, '127.0.0.1');
    // Every listening socket on the UI's port is bound to 127.0.0.1 (0100007F in /proc/net/tcp).
    const port = Number(ui.port).toString(16).toUpperCase().padStart(4, '0');
    const listening = fs
      .readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1]?.endsWith(`:${port}`) && f[3] === '0A')
      .map((f) => f[1]);
    assert.ok(listening.length > 0, `something listens on ${ui.port}`);
    assert.deepEqual([...new Set(listening)], [`0100007F:${port}`]);
    assert.equal(
      fs.readFileSync('/proc/net/tcp6', 'utf8').includes(`:${port} `),
      false,
      'nothing on IPv6 for the UI port',
    );

    const workflowId = await startIdle();
    // The UI's API wants its CSRF cookie echoed in a header for writes.
    const settings = await fetch(new URL('/api/v1/settings', ui));
    const csrf = /_csrf=([^;]+)/.exec(settings.headers.get('set-cookie') ?? '')?.[1];
    assert.ok(csrf, 'the UI set its CSRF cookie');
    const headers = { cookie: `_csrf=${csrf}`, 'x-csrf-token': csrf, 'content-type': 'application/json' };
    const list = await fetch(
      new URL(`/api/v1/namespaces/${namespace}/workflows?query=WorkflowId%3D%22${workflowId}%22`, ui),
      {
        headers,
      },
    );
    assert.equal(list.status, 200);
    const terminate = await fetch(new URL(`/api/v1/namespaces/${namespace}/workflows/${workflowId}/terminate`, ui), {
      method: 'POST',
      headers,
      body: JSON.stringify({ reason: 'from the Web UI' }),
    });
    const body = (await terminate.json()) as { code?: number; details?: { reason?: string }[] };
    assert.equal(body.code, PERMISSION_DENIED, JSON.stringify(body));
    assert.match(
      body.details?.[0]?.reason ?? '',
      /TerminateWorkflowExecution needs an admin certificate; runbook-web-ui is operator/,
    );
    const { status } = await (await testClient('operator')).workflow.getHandle(workflowId).describe();
    assert.equal(status.name, 'RUNNING');
  });

  it("runs the server and the Web UI as their own user, not root, their keys and the clients' owner-only", function () {
    const runDir =
      process.env.RUNBOOK_CLUSTER_RUN_DIR ?? `/tmp/runbook-cluster-${process.env.RUNBOOK_CLUSTER_PORT ?? 7333}`;
    const expected =
      process.getuid!() === 0
        ? Number(execFileSync('id', ['-u', 'runbook-temporal'], { encoding: 'utf8' }))
        : process.getuid!();
    assert.notEqual(expected, 0);
    for (const name of ['server', 'ui']) {
      const pid = fs.readFileSync(path.join(runDir, `${name}.pid`), 'utf8').trim();
      const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))!;
      assert.deepEqual(uids.slice(1).map(Number), [expected, expected, expected, expected], `${name} (pid ${pid})`);
    }
    // The server's copy of its keys: its own, 0600; the rest of its directory root's.
    const pid = fs.readFileSync(path.join(runDir, 'server.pid'), 'utf8').trim();
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const tls = path.join(path.dirname(argv[argv.indexOf('-config') + 1]), 'tls');
    const keys = fs.readdirSync(tls).filter((f) => f.endsWith('.key'));
    assert.deepEqual(keys.sort(), ['frontend.key', 'internode.key', 'system.key', 'web-ui.key']);
    for (const k of keys) {
      const st = fs.statSync(path.join(tls, k));
      assert.equal(st.mode & 0o777, 0o600, k);
      assert.equal(st.uid, expected, k);
    }
    for (const f of ['ca.pem', 'frontend.pem']) assert.equal(fs.statSync(path.join(tls, f)).uid, process.getuid!(), f);
    for (const who of ['worker', 'operator', 'admin'] as const) {
      const key = identityEnv(who).TEMPORAL_TLS_CLIENT_KEY_PATH;
      assert.equal(fs.statSync(key).mode & 0o777, 0o600, key);
      assert.equal(fs.statSync(path.join(path.dirname(key), 'ca.key')).mode & 0o777, 0o600);
    }
  });

  const cliTitle =
    'the stock Temporal CLI set up by `npm run cluster -- env --as`: an operator cannot terminate, an admin can';
  it(cliTitle, async function () {
    const workflowId = await startIdle();
    const cli = (who: Identity) =>
      spawnSync(temporalCliPath()!, ['workflow', 'terminate', '--workflow-id', workflowId, '--reason', `by ${who}`], {
        env: { ...process.env, ...clusterEnv(who) },
        encoding: 'utf8',
      });
    const byOperator = cli('operator');
    assert.notEqual(byOperator.status, 0, byOperator.stdout);
    assert.match(byOperator.stderr, /unauthorized/i);
    const byAdmin = cli('admin');
    assert.equal(byAdmin.status, 0, byAdmin.stderr);
    const { status } = await (await testClient('operator')).workflow.getHandle(workflowId).describe();
    assert.equal(status.name, 'TERMINATED');
  });
});
