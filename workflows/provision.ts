// provision: a fresh Debian host, reachable over SSH, to the known state of the spec. Each
// step only changes what differs (a second run reports every step unchanged) and keeps, on
// the host, what it replaced, so a failure puts back exactly what this run changed. Root and
// password logins are turned off only after the ops user has proven it can log in and sudo;
// from then on the run acts as that user.
import { patched, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { RunInput, RunResult } from '../common/shared';
import type { ParamsOf } from '../common/params';
import type { PROVISION_PARAMS } from '../common/runbook-params';
import { runbook, stepActivities, undoActivities } from './kernel';
import { PROVISION_STEPS } from '../common/step-names';

export type ProvisionParams = ParamsOf<typeof PROVISION_PARAMS>;

const act = stepActivities<typeof activities>({ startToCloseTimeout: '5 minutes' });
const { ensurePackages } = stepActivities<typeof activities>({ startToCloseTimeout: '30 minutes' });
const undo = undoActivities<typeof activities>({ startToCloseTimeout: '5 minutes' });

export async function provision(input: RunInput<ProvisionParams>): Promise<RunResult> {
  const { env } = input;
  const { host } = input.params;
  const runId = workflowInfo().workflowId;
  return runbook(input, async ({ step, settle, gate }) => {
    const { login: bootstrap } = await step(PROVISION_STEPS.reach, {
      run: () => act.reachHost({ env, host }),
      skippable: false,
    });
    const first = { env, host, runId, login: bootstrap };
    // Four eyes before anything changes, where the worker's rules say (a protected environment).
    await gate(PROVISION_STEPS.gate);

    await step(PROVISION_STEPS.opsUser, {
      run: () => act.ensureOpsUser(first),
      undo: () => undo.removeOpsUser(first),
      skippable: false,
    });
    const { login: ops } = await step(PROVISION_STEPS.opsLogin, {
      run: () => act.verifyOpsLogin({ env, host }),
      skippable: false,
    });
    const as = { env, host, runId, login: ops };

    await step(PROVISION_STEPS.sshd, { run: () => act.hardenSshd(as), undo: () => undo.restoreSshd(as) });
    await step(PROVISION_STEPS.firewall, { run: () => act.ensureFirewall(as), undo: () => undo.restoreFirewall(as) });
    await step(PROVISION_STEPS.fail2ban, { run: () => act.ensureFail2ban(as), undo: () => undo.restoreFail2ban(as) });
    await step(PROVISION_STEPS.upgrades, {
      run: () => act.ensureUnattendedUpgrades(as),
      undo: () => undo.restoreUnattendedUpgrades(as),
    });
    // Installed packages are left in place on failure: harmless, and removing them could take others with them.
    await step(PROVISION_STEPS.packages, { run: () => ensurePackages(as) });
    await step(PROVISION_STEPS.database, {
      run: () => act.ensureAppDatabase(as),
      undo: () => undo.dropAppDatabase(as),
    });
    await step(PROVISION_STEPS.appDir, { run: () => act.ensureAppDir(as), undo: () => undo.removeAppDir(as) });
    await step(PROVISION_STEPS.appEnv, { run: () => act.ensureAppEnv(as), undo: () => undo.restoreAppEnv(as) });
    await step(PROVISION_STEPS.processEntry, {
      run: () => act.ensureProcessEntry(as),
      undo: () => undo.restoreProcessEntry(as),
    });
    await step(PROVISION_STEPS.nginxSite, {
      run: () => act.ensureNginxSite(as),
      undo: () => undo.restoreNginxSite(as),
    });
    await step(PROVISION_STEPS.verify, { run: () => act.verifyProvisioned(as) });
    // Patched: provision runs recorded before this replay without it.
    if (patched('forget-previous-env')) {
      settle('the host is provisioned and verified');
      // Kept for the .env step's undo, which can no longer run; it holds the previous secrets.
      await step(PROVISION_STEPS.forgetEnv, { run: () => act.forgetPreviousAppEnv(as) });
    }
  });
}
