// Proven identity, the workflow's side: whether this run takes signed decisions, who signed its
// start, and the checks of a signed decision that need the run's own state (which gate, which
// nonce, which keys already decided). The signatures themselves are checked by activities on
// the worker, never here.
import { patched, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../../activities';
import {
  malformedSignature,
  type Claim,
  type IdentityMode,
  type Signed,
  type SignedAction,
} from '../../common/signed-message';
import type { RunInput, RunProgress } from '../../common/shared';
import { stepActivities } from './activities';
import { startToProve } from '../../common/start-to-prove';

// A missing ssh-keygen or a broken people.yaml is retried briefly; after that the decision is refused, not the run.
const { proveStart, verifySignature } = stepActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

/** The worker's verdict on one signature. */
export type Verified = Awaited<ReturnType<typeof activities.verifySignature>>;

export interface RunIdentity {
  mode: IdentityMode;
  /** The key that signed the start. */
  initiatorKey?: string;
  /**
   * Proven on the worker: a signed schedule co-signed by a second approver fired this run at a
   * time its own timetable called for. Such a run goes without the gates the rules let it skip.
   */
  cosignedFiring?: boolean;
}

/** Decides how the run takes identity, from the worker's inventory; a signed start is checked. */
export type Proven = RunIdentity | { refused: string };

export async function proveInitiator(input: RunInput, progress: RunProgress): Promise<Proven> {
  // Runs recorded before signed identity replay as typed, without this step.
  if (!patched('signed-identity')) return { mode: 'typed' };
  const info = workflowInfo();
  const proven = await proveStart(
    startToProve(input, {
      namespace: info.namespace,
      workflowId: info.workflowId,
      runId: info.runId,
      ...(info.parent ? { parent: info.parent } : {}),
    }),
  );
  if ('refused' in proven) return { refused: proven.refused };
  progress.identity = proven.mode;
  if (proven.key) progress.initiatorKey = proven.key;
  if (proven.scheduled) progress.scheduled = proven.scheduled;
  const cosignedFiring = proven.scheduled?.cosignedBy !== undefined && proven.scheduled.firing === 'spec';
  return { mode: proven.mode, initiatorKey: proven.key, ...(cosignedFiring ? { cosignedFiring } : {}) };
}

/** How to send a signed decision, for refusals of unsigned or badly signed ones. */
export function howToSign(action: SignedAction): string {
  const runId = workflowInfo().workflowId;
  const flags = action === 'skip' || action === 'reject' ? ' --comment <why>' : '';
  return (
    `this run takes signed decisions only: \`runbook ${action} ${runId} --as <you>${flags}\` signs with your ` +
    `SSH key, or paste the output of \`runbook sign ${action} ${runId} --as <you>${flags}\` into the Web UI's signal`
  );
}

/** Why the signature fields of a decision cannot even be checked; undefined when they can. */
export function unsignedRefusal(action: SignedAction, input: Signed): string | undefined {
  const malformed = malformedSignature(input);
  if (!malformed) return undefined;
  if (malformed === 'unsigned') return `unsigned: ${howToSign(action)}`;
  return `malformed signature: ${malformed}; ${howToSign(action)}`;
}

export type Proof = { key: string; signatureId: string } | { refused: string };

export interface DecisionToProve extends Signed {
  action: SignedAction;
  gate: string;
  nonce: string;
  by: string;
  comment?: string;
}

/** What a decision's signature must cover: this run, its gate and nonce, who, the comment, the expiry. */
export function claimOf(d: DecisionToProve): Claim {
  const info = workflowInfo();
  return {
    namespace: info.namespace,
    runId: info.workflowId,
    action: d.action,
    gate: d.gate,
    nonce: d.nonce,
    by: d.by,
    subject: '',
    comment: d.comment ?? '',
    expires: String(d.expires),
  };
}

/** The worker's verdict on a signature as the run records it. */
export function proofOf(verified: Verified, action: SignedAction): Proof {
  if (!verified.ok) return { refused: `${verified.refused}; ${howToSign(action)}` };
  return { key: verified.key, signatureId: verified.signatureId };
}

/**
 * Checks one decision's signature over this run, gate and nonce on the worker: how runs
 * recorded before batched checks (./signature-checks.ts) replay.
 */
export async function proveDecision(d: DecisionToProve): Promise<Proof> {
  try {
    return proofOf(await verifySignature({ claim: claimOf(d), signature: String(d.signature) }), d.action);
  } catch (err) {
    return { refused: `the signature could not be checked: ${(err as Error).message}` };
  }
}

/** The key rules of four eyes in a signed run, and a signature used once only. */
export function keyRefusal(
  proof: { key: string; signatureId: string },
  identity: RunIdentity,
  decided: { key?: string; signatureId?: string }[],
  counted: { key?: string }[],
): string | undefined {
  if (decided.some((d) => d.signatureId === proof.signatureId)) {
    return 'this signature was already used: sign each decision anew';
  }
  if (identity.initiatorKey && proof.key === identity.initiatorKey) {
    return `the key ${proof.key} started this run and cannot also decide on it (four eyes)`;
  }
  if (counted.some((d) => d.key === proof.key)) return `the key ${proof.key} has already decided here`;
  return undefined;
}
