// provision's activities: each step's action and its undo.
export { reachHost, ensureOpsUser, removeOpsUser, verifyOpsLogin, hardenSshd, restoreSshd } from './access';
export { ensureFirewall, restoreFirewall, ensureFail2ban, restoreFail2ban } from './firewall';
export { ensureUnattendedUpgrades, restoreUnattendedUpgrades, ensurePackages } from './system';
export {
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
} from './app';
export { forgetPreviousAppEnv } from './app';
export { verifyProvisioned } from './verify';
export type { ProvisionRef, StepOutcome } from './remote';
