// Signed decisions from the CLI. `runbook approve|reject|retry|rollback|skip` sign by themselves
// when the run takes signed decisions; `runbook sign <decision> <run id> --as <you>` prints the
// signed JSON to paste into the Web UI's "Send a Signal", for those who decide from there.
import type { Client } from '@temporalio/client';
import { UsageError } from '../src/errors';
import { parseDuration } from '../common/duration';
import { SIGNED_ACTIONS, type Signed, type SignedAction } from '../common/signed-message';
import { signClaim, type Signer } from '../src/identity/sign';
import { progressQuery, type ApprovalInput, type FailureDecisionInput } from '../common/shared';
import { actor, parse, runIdArg } from './args';
import type { Command } from './commands';

/** The options every signing command takes, besides --as and --comment. */
export const SIGNING_OPTIONS = { key: { type: 'string' }, expires: { type: 'string' } } as const;

export function signerFrom(values: Record<string, unknown>, as: string): Signer {
  let validityMs: number | undefined;
  if (values.expires !== undefined) {
    try {
      validityMs = parseDuration(String(values.expires), '--expires');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const key = typeof values.key === 'string' ? values.key : process.env.RUNBOOK_SIGNING_KEY || undefined;
  return { as, key, validityMs };
}

/**
 * The signature fields for a decision on `runId`, when the run takes signed ones: the open gate's
 * nonce comes from the run itself. Empty for a run that takes typed names.
 */
export async function signDecision(
  client: Client,
  runId: string,
  action: SignedAction,
  by: string,
  comment: string | undefined,
  signer: Signer,
): Promise<Signed> {
  const progress = await client.workflow.getHandle(runId).query(progressQuery);
  if (progress.identity !== 'signed') return {};
  const approval = action === 'approve' || action === 'reject';
  const gate = approval ? progress.gate?.name : progress.failureGate?.step;
  const nonce = approval ? progress.gate?.nonce : progress.failureGate?.nonce;
  if (!gate || !nonce) {
    throw new UsageError(`${runId} has no ${approval ? 'approval' : 'failure'} gate open to ${action} at`);
  }
  const namespace = client.options.namespace;
  return signClaim({ namespace, runId, action, gate, nonce, by, subject: '', comment: comment ?? '' }, signer);
}

/** The decisions `runbook sign` signs: every signed action but a start and a schedule's signatures. */
export const SIGN_DECISIONS: readonly SignedAction[] = SIGNED_ACTIONS.filter(
  (a) => a !== 'start' && a !== 'schedule' && a !== 'cosign',
);

/** `runbook sign <decision> <run id> --as <you> [--comment ...] [--key <path>] [--expires 15m]` */
export const sign: Command = async (args, connect) => {
  const action = args[0] as SignedAction;
  if (!SIGN_DECISIONS.includes(action)) {
    throw new UsageError(`sign needs a decision: ${SIGN_DECISIONS.join(', ')}`);
  }
  const options = { as: { type: 'string' }, comment: { type: 'string' }, ...SIGNING_OPTIONS } as const;
  const { values, positionals } = parse(args.slice(1), options);
  const runId = runIdArg(positionals, `sign ${action}`);
  const by = actor(values.as);
  const comment = values.comment as string | undefined;
  if ((action === 'reject' || action === 'skip') && !comment) {
    throw new UsageError(`${action} needs --comment saying why`);
  }
  const client = await connect();
  const signed = await signDecision(client, runId, action, by, comment, signerFrom(values, by));
  if (!signed.signature) {
    throw new UsageError(`${runId} takes typed decisions: send ${JSON.stringify(payload(action, by, comment, {}))}`);
  }
  const input = payload(action, by, comment, signed);
  const signal = action === 'approve' || action === 'reject' ? 'approval' : 'failure-decision';
  console.error(`In the Web UI, on ${runId}: Send a Signal named "${signal}", input (good until ${signed.expires}):`);
  process.stdout.write(`${JSON.stringify(input)}\n`);
  return 0;
};

type Payload = ApprovalInput | FailureDecisionInput;

function payload(action: SignedAction, by: string, comment: string | undefined, signed: Signed): Payload {
  const c = comment === undefined ? {} : { comment };
  if (action === 'approve' || action === 'reject') return { approver: by, decision: action, ...c, ...signed };
  return { decision: action as FailureDecisionInput['decision'], by, ...c, ...signed };
}
