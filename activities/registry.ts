// What each activity the worker registers does, for the boundary that decides who may call it
// (worker/activity-boundary.ts) and for the plan of a run: `admission` ones decide whether a
// run may start at all and touch no host, secret, store or record (anyone may ask them);
// `reads` ones look at hosts, the store or Temporal's records; `acts` ones change something
// (a host, the store, a notification). Both `reads` and `acts` answer only to runs the worker
// admitted. Typed by the registered list, so a new activity cannot be left out.
import type * as registered from './index';
import { RUNBOOK_ACTIVITY_KINDS } from '../runbooks/activity-kinds.generated';

export type ActivityKind = 'admission' | 'reads' | 'acts';

/** A runbook folder's kinds of its activities (the default export of runbooks/<name>/activities.ts). */
export type ActivityKinds = Record<string, ActivityKind>;

/** The runbook folders' activities (runbooks/index.ts): each declares its kinds in its own folder. */
type FolderActivity = keyof typeof RUNBOOK_ACTIVITY_KINDS;

const ENGINE_ACTIVITY_KINDS: Record<Exclude<keyof typeof registered, FolderActivity>, ActivityKind> = {
  decideRunRules: 'admission',
  proveStart: 'admission',
  verifySignature: 'admission',
  verifySignatures: 'admission',
  prepareScheduledRun: 'admission',

  lockHolder: 'reads',
  releasedByHolder: 'reads',
  resolveRef: 'reads',
  checkedOutCommit: 'reads',
  checkHealth: 'reads',
  colours: 'reads',
  checkThroughLb: 'reads',
  reachHost: 'reads',
  verifyOpsLogin: 'reads',
  verifyProvisioned: 'reads',
  restorePolicy: 'reads',
  pickBackup: 'reads',
  checkBackup: 'reads',
  verifyRows: 'reads',
  checkHealthThroughLb: 'reads',
  checkPreviousDatabase: 'reads',
  healthCheckHosts: 'reads',
  checkHost: 'reads',
  previousHealth: 'reads',
  colourGroups: 'reads',
  upstreamServers: 'reads',
  rollingPlan: 'reads',
  selectHosts: 'reads',
  checkedOutCommits: 'reads',
  readCommits: 'reads',
  resolveRefOnFleet: 'reads',
  checkNewPassword: 'reads',
  checkAppHealthy: 'reads',
  noticeTargets: 'reads',
  planContext: 'reads',
  pickAnalyses: 'reads',
  analyseBatch: 'reads',
  readAlarms: 'reads',

  notifyApprovers: 'acts',
  deliverNotice: 'acts',
  installRelease: 'acts',
  restartApp: 'acts',
  stopApp: 'acts',
  migrateAll: 'acts',
  switchUpstream: 'acts',
  safetyBackup: 'acts',
  ensureOpsUser: 'acts',
  removeOpsUser: 'acts',
  hardenSshd: 'acts',
  restoreSshd: 'acts',
  ensureFirewall: 'acts',
  restoreFirewall: 'acts',
  ensureFail2ban: 'acts',
  restoreFail2ban: 'acts',
  ensureUnattendedUpgrades: 'acts',
  restoreUnattendedUpgrades: 'acts',
  ensurePackages: 'acts',
  ensureAppDatabase: 'acts',
  dropAppDatabase: 'acts',
  ensureAppDir: 'acts',
  removeAppDir: 'acts',
  ensureAppEnv: 'acts',
  restoreAppEnv: 'acts',
  ensureProcessEntry: 'acts',
  restoreProcessEntry: 'acts',
  ensureNginxSite: 'acts',
  restoreNginxSite: 'acts',
  forgetPreviousAppEnv: 'acts',
  dumpToStore: 'acts',
  dropDatabase: 'acts',
  setMaintenance: 'acts',
  restoreIntoFresh: 'acts',
  swapIn: 'acts',
  swapBack: 'acts',
  putPreviousBack: 'acts',
  undoPutPreviousBack: 'acts',
  dropPreviousDatabase: 'acts',
  sendHealthAlert: 'acts',
  markUpstream: 'acts',
  rollHost: 'acts',
  rollBackHost: 'acts',
  hostCommand: 'acts',
  writeEnvPassword: 'acts',
  restoreEnvPassword: 'acts',
  setDatabasePassword: 'acts',
  restoreDatabasePassword: 'acts',
  restartAppForPassword: 'acts',
  forgetPreviousPassword: 'acts',
};

export const ACTIVITY_KINDS: Record<keyof typeof registered, ActivityKind> = {
  ...ENGINE_ACTIVITY_KINDS,
  ...RUNBOOK_ACTIVITY_KINDS,
};

/** An activity the registry does not list (a test's own) is treated as acting: checked like any. */
export function activityKind(name: string): ActivityKind {
  return (ACTIVITY_KINDS as Record<string, ActivityKind | undefined>)[name] ?? 'acts';
}

/** Any runbook of the worker's, as a parent. */
export const ANY_RUNBOOK = '*';

/**
 * Workflow types that are parts of a run, never runs of their own: each answers only to a
 * parent of the runbook named here (or any runbook), on the same task queue.
 */
export const INTERNAL_WORKFLOWS: Record<string, string> = {
  commandBatch: 'runCommandOnFleet',
  rollingBatch: 'rollingDeploy',
  environmentLock: ANY_RUNBOOK,
  // A run's notice, delivered by a workflow of its own that outlives the run (workflows/kernel/notice.ts).
  notice: ANY_RUNBOOK,
};
