// The activities the production worker registers: exactly what the runbooks call, listed by
// name. Helpers stay in their modules; test-only activities (runCommand runs any command as
// root) are registered by the tests themselves (test/activities.ts). A runbook folder's own
// (runbooks/<name>/activities.ts) come from the index of the folders, as generated.
export * from '../runbooks/activities.generated';
export { notifyApprovers, noticeTargets, deliverNotice } from './notify';
export { lockHolder, releasedByHolder } from './temporal';
export { resolveRef, checkedOutCommit, installRelease, restartApp, stopApp, checkHealth, migrateAll } from './release';
export { colours, switchUpstream, checkThroughLb } from './lb';
export { safetyBackup } from './database';
export {
  reachHost,
  ensureOpsUser,
  removeOpsUser,
  verifyOpsLogin,
  hardenSshd,
  restoreSshd,
  ensureFirewall,
  restoreFirewall,
  ensureFail2ban,
  restoreFail2ban,
  ensureUnattendedUpgrades,
  restoreUnattendedUpgrades,
  ensurePackages,
  ensureAppDatabase,
  dropAppDatabase,
  ensureAppDir,
  removeAppDir,
  ensureAppEnv,
  restoreAppEnv,
  ensureProcessEntry,
  restoreProcessEntry,
  ensureNginxSite,
  restoreNginxSite,
  verifyProvisioned,
  forgetPreviousAppEnv,
} from './provision';
export { dumpToStore, dropDatabase } from './backup';
export {
  restorePolicy,
  pickBackup,
  checkBackup,
  setMaintenance,
  restoreIntoFresh,
  verifyRows,
  swapIn,
  swapBack,
  checkHealthThroughLb,
} from './restore';
export { checkPreviousDatabase, putPreviousBack, undoPutPreviousBack, dropPreviousDatabase } from './previous-database';
export { readAlarms } from './alarms';
export { healthCheckHosts, checkHost, previousHealth, sendHealthAlert } from './health';
export { prepareScheduledRun } from './schedules';
export { proveStart, verifySignature, verifySignatures } from './identity';
export { colourGroups, markUpstream, upstreamServers } from './upstream';
export {
  rollingPlan,
  selectHosts,
  checkedOutCommits,
  readCommits,
  resolveRefOnFleet,
  rollHost,
  rollBackHost,
  hostCommand,
} from './fleet';
export { decideRunRules } from './policy';
export { planContext } from './plan-context';
export {
  checkNewPassword,
  writeEnvPassword,
  restoreEnvPassword,
  setDatabasePassword,
  restoreDatabasePassword,
  restartAppForPassword,
  checkAppHealthy,
  forgetPreviousPassword,
} from './db-password';
export { pickAnalyses, analyseBatch } from './analysis';
