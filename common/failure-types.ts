// The types of the failures runbooks and activities raise, by name: what a retry policy
// (nonRetryableErrorTypes), the CLI and the tests compare with. Imported by workflow code: no
// Node built-ins, no I/O.
export const FailureType = {
  /** The run failed and every undo ran: the environment is as it was. */
  RunbookCompensated: 'RunbookCompensated',
  /** The run failed and an undo failed too: something is left to undo by hand. */
  RunbookFailedCompensation: 'RunbookFailedCompensation',
  /** The run failed after its point of no return: the settled change stands (RunProgress.settledFailure). */
  RunbookSettledThenFailed: 'RunbookSettledThenFailed',
  /** restore-previous was given a kept database that is not there. */
  NoSuchDatabase: 'NoSuchDatabase',
  /** The run's environment lock ended while it held it (terminated by someone): it stopped acting. */
  LockLost: 'LockLost',
  /** Another mutating run holds the environment. */
  EnvironmentLocked: 'EnvironmentLocked',
  /** A freeze window holds the environment (src/freeze.ts): start it when it opens, or break glass. */
  Frozen: 'Frozen',
  /** An alarm of the environment fired during the run (src/alarms.ts): it stopped and was undone. */
  AlarmFired: 'AlarmFired',
  /** A dry run could not go on: a step it ran for real (one that only reads) failed. */
  DryRunStopped: 'DryRunStopped',
  /** A request or a parameter is malformed: asking again will not help. */
  BadInput: 'BadInput',
  /** The inventory lacks something a step needs, or says it wrongly. */
  BadInventory: 'BadInventory',
  /** A secret reference cannot be resolved on the worker. */
  BadSecret: 'BadSecret',
  /** A command on a host exited non-zero (details: host, command, exit code, stderr tail). */
  CommandFailed: 'CommandFailed',
  /** A host presented another key than known_hosts lists for it. */
  HostKeyMismatch: 'HostKeyMismatch',
  /** A host presented a key a `@revoked` line of known_hosts lists for it. */
  HostKeyRevoked: 'HostKeyRevoked',
  /** known_hosts lists no key for the host. */
  UnknownHostKey: 'UnknownHostKey',
  SshAuthFailed: 'SshAuthFailed',
  AcmeRateLimited: 'AcmeRateLimited',
  NoSuchBackup: 'NoSuchBackup',
  CorruptBackup: 'CorruptBackup',
  /** No run Temporal still keeps recorded the backup's checksum: the store alone cannot vouch for it. */
  UnprovenBackup: 'UnprovenBackup',
  /** A command printed more than anything of ours reads. */
  OutputTooLarge: 'OutputTooLarge',
  /** A host is not in the state the step starts from (e.g. both databases of a swap exist). */
  UnexpectedState: 'UnexpectedState',
  /** The load balancer points at no web host of the inventory. */
  UnknownUpstream: 'UnknownUpstream',
  BadCiphertext: 'BadCiphertext',
  AcmeFailed: 'AcmeFailed',
  BadCertificate: 'BadCertificate',
  ChecksumMismatch: 'ChecksumMismatch',
  /** A command on a host ran past its time limit (and was killed). */
  CommandTimedOut: 'CommandTimedOut',
  /** The ops user cannot log in and sudo: provisioning stops before locking root out. */
  OpsLoginFailed: 'OpsLoginFailed',
  ProvisionScript: 'ProvisionScript',
  SshConnectionLost: 'SshConnectionLost',
  SshUnreachable: 'SshUnreachable',
  TlsUnreachable: 'TlsUnreachable',
  /** The app's health page did not answer 200 (retried: a starting app may take a moment). */
  Unhealthy: 'Unhealthy',
  /** A payload sealed with a key this key ring does not have. */
  UnknownCodecKey: 'UnknownCodecKey',
  /** A git ref names no commit of the application repository. */
  UnknownRef: 'UnknownRef',
  WebhookFailed: 'WebhookFailed',
  WrongCertificate: 'WrongCertificate',
  /** The app answers, but serves another commit than the one expected. */
  WrongVersion: 'WrongVersion',
  /** A fleet runbook had more hosts fail than its error budget allows (`--max-failures`). */
  ErrorBudgetSpent: 'ErrorBudgetSpent',
  /** Blue/green with hosts left out: too few healthy hosts on the new colour to take traffic (`--min-capacity`). */
  BelowCapacityFloor: 'BelowCapacityFloor',
  /** An analysis of the release's metrics failed (src/analysis/): the run's undo puts the old release back. */
  AnalysisFailed: 'AnalysisFailed',
  /** An analysis could not decide (no data, Prometheus unreachable, marginal): a person decides. */
  AnalysisInconclusive: 'AnalysisInconclusive',
  /** A rolling deploy's undo could not put a host back on its previous commit. */
  RollbackFailed: 'RollbackFailed',
  /** A drain would leave the load balancer with no host taking traffic. */
  WouldDrainAll: 'WouldDrainAll',
  /** A step done on several hosts failed on some of them (details: which). */
  HostsFailed: 'HostsFailed',
  /** A signed environment's start was unsigned or badly signed: the run held nothing and changed nothing. */
  StartRefused: 'StartRefused',
  /** A decision's signature did not prove it (recorded as refused; the CLI's update fails with why). */
  DecisionRefused: 'DecisionRefused',
  /**
   * An activity was scheduled by something the worker did not admit: another task queue, a
   * workflow type that is not a runbook, a batch without its run, a run whose start is refused.
   */
  CallerRefused: 'CallerRefused',
  /** ssh-keygen could not be run on the worker to check a signature. */
  VerifierUnavailable: 'VerifierUnavailable',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];
