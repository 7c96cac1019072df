// A verdict forged by completing an admission activity by its id (RespondActivityTaskCompletedById,
// open to anyone with Temporal access) cannot open a gate: the attacker, with the SDK only,
// answers the run's signature check for a junk decision in alice's name, first with a verdict
// of their own, then with a genuine sealed verdict taken from another run's history. The gate
// takes it, and the worker refuses the next step that acts: the switch never happens.
import { strict as assert } from 'node:assert';
import type { WorkflowHandle } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { proveStart } from '../activities/identity/start';
import { verifySignature, verifySignatures } from '../activities/identity/verify';
import { approvalSignal, type RunProgress } from '../common/shared';
import { bedEnvironment } from './bed-inventory';
import { atGate, startTestRun, testClient, uniqueQueue, waitForProgress, withWorker } from './helpers';
import { signedDecision, signedInventory, type SignedInventory } from './identity-keys';
import type { ActivityCall } from './plan-facts';
import { stubActivities } from './stub-activities';

const ENV = 'sealed';
const STARTER = 'olivia';
const SWITCH = 'switch traffic';
/** Long enough for the attacker to answer first; the worker's own answer then finds no activity. */
const CHECK_DELAY_MS = 15_000;

describe('admission verdicts are sealed: one completed by id from outside opens nothing', function () {
  this.timeout(240_000);
  let inv: SignedInventory;
  const calls: ActivityCall[] = [];
  let slow = false;
  const activities = {
    ...stubActivities(calls),
    proveStart,
    verifySignature,
    verifySignatures: async (req: Parameters<typeof verifySignatures>[0]) => {
      if (slow) await new Promise((r) => setTimeout(r, CHECK_DELAY_MS));
      return verifySignatures(req);
    },
  };

  before(function () {
    inv = signedInventory(ENV, [STARTER, 'alice', 'bob'], ['alice', 'bob'], 1, bedEnvironment(ENV));
  });
  after(() => inv?.remove());
  beforeEach(() => {
    calls.length = 0;
    slow = false;
  });

  const startDeploy = (queue: string) =>
    startTestRun(queue, {
      runbook: 'deploy',
      env: ENV,
      params: { ref: 'v1.0.0', 'rollback-window': '1s' },
      initiator: STARTER,
      signWith: inv.key(STARTER),
    });

  /** Sends a junk decision in alice's name (signed with mallory's key) and answers its check with `verdict`. */
  async function forgeApproval(handle: WorkflowHandle, verdict: unknown): Promise<void> {
    slow = true;
    await handle.signal(approvalSignal, {
      ...(await signedDecision(handle, 'alice', inv.key('mallory'))),
      approver: 'alice',
    });
    const client = await testClient();
    const activityId = await until(async () => {
      const { raw } = await handle.describe();
      return raw.pendingActivities?.find((a) => a.activityType?.name === 'verifySignatures')?.activityId ?? undefined;
    });
    await client.activity.complete({ workflowId: handle.workflowId, activityId }, verdict);
  }

  it('a verdict of the attacker’s own: the gate opens, the switch is refused', async function () {
    const queue = uniqueQueue('seal-own');
    await withWorker(
      queue,
      async () => {
        const handle = await startDeploy(queue);
        await waitForProgress(handle, atGate(SWITCH), 'the switch gate');
        await forgeApproval(handle, { verdicts: [{ ok: true, key: 'ED25519 SHA256:forged', signatureId: 'forged' }] });
        const failed = await refusedStep(handle);
        assert.match(failed, /verifySignatures verdict \(activity \d+\) was not made by a worker holding the seal key/);
        assert.equal(calls.filter((c) => c.type === 'switchUpstream').length, 0, 'traffic never switched');
        await end(handle);
      },
      activities,
    );
  });

  it('a genuine sealed verdict from another run: refused too, the seal names its own activity', async function () {
    const queue = uniqueQueue('seal-copied');
    await withWorker(
      queue,
      async () => {
        // A run alice genuinely approves: its history holds a sealed verdict for her.
        const genuine = await startDeploy(queue);
        await waitForProgress(genuine, atGate(SWITCH), 'the genuine run at its switch');
        await genuine.signal(approvalSignal, await signedDecision(genuine, 'alice', inv.key('alice')));
        await genuine.result();
        const copied = await sealedVerdictOf(genuine);
        assert.equal(typeof (copied as { seal?: unknown }).seal, 'string', 'the genuine verdict is sealed');
        assert.equal(calls.filter((c) => c.type === 'switchUpstream').length, 1, 'the genuine run switched');

        calls.length = 0;
        const victim = await startDeploy(queue);
        await waitForProgress(victim, atGate(SWITCH), 'the victim at its switch');
        await forgeApproval(victim, copied);
        assert.match(await refusedStep(victim), /was not made by a worker holding the seal key/);
        assert.equal(calls.filter((c) => c.type === 'switchUpstream').length, 0, 'traffic never switched');
        await end(victim);
      },
      activities,
    );
  });
});

/** The error of the first step the worker refused, once the run records it. */
async function refusedStep(handle: WorkflowHandle): Promise<string> {
  const p = await waitForProgress(
    handle,
    (p: RunProgress) => p.steps.some((s) => /seal key/.test(s.error ?? '')),
    'a step refused by the seal check',
  );
  return p.steps.find((s) => /seal key/.test(s.error ?? ''))!.error!;
}

/** The verifySignatures answer recorded in a run's history, decoded as the worker reads it. */
async function sealedVerdictOf(handle: WorkflowHandle): Promise<unknown> {
  const client = await testClient();
  const history = await handle.fetchHistory();
  const scheduled = history.events!.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'verifySignatures',
  )!;
  const completed = history.events!.find(
    (e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId),
  )!;
  const [result] = await decodeArrayFromPayloads(
    client.options.loadedDataConverter,
    completed.activityTaskCompletedEventAttributes!.result!.payloads!,
  );
  return result;
}

async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting');
}

async function end(handle: WorkflowHandle): Promise<void> {
  await handle.terminate('test over').catch(() => undefined);
}
