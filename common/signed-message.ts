// What a signed decision proves, as the exact bytes signer and verifier both build. Imported by
// workflow code and the CLI: no Node built-ins, no I/O.
//
// The message binds everything that gives a decision its meaning, so a signature made for one
// thing is worth nothing for another: the Temporal namespace and run, the action, the gate (or
// failed step), the nonce the run drew when that gate opened (a later gate of the same name draws
// another), who decides, the comment and an expiry. SSHSIG adds its own namespace ("runbook").

/** SSHSIG's namespace (`ssh-keygen -Y sign -n runbook`): our signatures are valid for nothing else. */
export const SIGNATURE_NAMESPACE = 'runbook';
/** An armored SSHSIG is ~300 bytes for ed25519 and ~1.1 kB for RSA-4096; anything larger is refused unread. */
export const MAX_SIGNATURE = 4096;
/** How far ahead an expiry may be: a signature is for now, not a standing permission. */
export const MAX_VALIDITY_MS = 24 * 60 * 60 * 1000;
/** What `runbook sign` and the CLI's own decisions use unless told otherwise. */
export const DEFAULT_VALIDITY_MS = 15 * 60 * 1000;

/**
 * `schedule`: creating a schedule, whose runs its creator then starts (the schedule id stands for
 * the run id). `cosign`: a second person approving a schedule as it stands, timetable included.
 */
export const SIGNED_ACTIONS = [
  'start',
  'schedule',
  'cosign',
  'approve',
  'reject',
  'retry',
  'rollback',
  'skip',
] as const;
export type SignedAction = (typeof SIGNED_ACTIONS)[number];

/** How an environment takes who decides: `signed` (SSH signatures) or `typed` (a name, as given). */
export type IdentityMode = 'signed' | 'typed';

/** What a person signs. Empty strings stand for what an action does not have (a start has no gate). */
export interface Claim {
  namespace: string;
  runId: string;
  action: SignedAction;
  /** The approval gate, or the step whose failure gate is open; '' for a start. */
  gate: string;
  /** Drawn by the run when the gate opened; the run id for a start (a new run id each start). */
  nonce: string;
  /** The person, as named in the inventory. */
  by: string;
  /** For a start: the runbook, environment and parameters; '' for a decision. */
  subject: string;
  comment: string;
  /** ISO 8601, UTC. */
  expires: string;
}

/** The signed bytes: one header line, then the claim as JSON with its keys in a fixed order. */
export function canonicalMessage(c: Claim): string {
  const body = {
    namespace: c.namespace,
    run: c.runId,
    action: c.action,
    gate: c.gate,
    nonce: c.nonce,
    by: c.by,
    subject: c.subject,
    comment: c.comment,
    expires: c.expires,
  };
  return `runbook signed decision v1\n${JSON.stringify(body)}\n`;
}

/** What a start binds: the runbook, the environment and the parameters, keys sorted. */
export function startSubject(runbook: string, env: string, params: Record<string, unknown>): string {
  const sorted = Object.fromEntries(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  );
  return JSON.stringify({ runbook, env, params: sorted });
}

/** What a decision or a start carries besides its own fields: the signature and its expiry. */
export interface Signed {
  expires?: string;
  signature?: string;
}

/** The armored form `ssh-keygen -Y sign` writes. */
const ARMOR = /^-----BEGIN SSH SIGNATURE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END SSH SIGNATURE-----\r?\n?$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** Why the signature fields cannot be checked at all (missing, oversized, not SSHSIG), or undefined. */
export function malformedSignature(s: Signed): string | undefined {
  if (s.signature === undefined && s.expires === undefined) return 'unsigned';
  if (typeof s.signature !== 'string' || s.signature.length > MAX_SIGNATURE || !ARMOR.test(s.signature)) {
    return `"signature" must be an armored SSH signature (ssh-keygen -Y sign) of at most ${MAX_SIGNATURE} characters`;
  }
  if (typeof s.expires !== 'string' || !ISO.test(s.expires) || Number.isNaN(Date.parse(s.expires))) {
    return '"expires" must be a UTC time like 2030-01-01T12:00:00.000Z';
  }
  return undefined;
}

/** Whether `expires` is still ahead of `nowMs`, and not further than MAX_VALIDITY_MS. */
export function expiryProblem(expires: string, nowMs: number): string | undefined {
  const at = Date.parse(expires);
  if (at <= nowMs) return `the signature expired at ${expires}`;
  if (at - nowMs > MAX_VALIDITY_MS) return `the signature's expiry ${expires} is more than 24h ahead`;
  return undefined;
}
