// provision: a fresh Debian host, reachable over SSH, to the known state of the spec. Each
// step only changes what differs (a second run reports every step unchanged) and keeps, on
// the host, what it replaced, so a failure puts back exactly what this run changed. Root and
// password logins are turned off only after the ops user has proven it can log in and sudo;
// from then on the run acts as that user.
import { workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { RunInput, RunResult } from '../common/shared';
import { runbook, stepActivities, undoActivities } from './kernel';

export type ProvisionParams = { host: string };

const act = stepActivities<typeof activities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '1 minute' });
const { ensurePackages } = stepActivities<typeof activities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '1 minute' });
const undo = undoActivities<typeof activities>({ startToCloseTimeout: '5 minutes' });

export async function provision(input: RunInput<ProvisionParams>): Promise<RunResult> {
  const { env } = input;
  const { host } = input.params;
  const runId = workflowInfo().workflowId;
  return runbook(input, async ({ step }) => {
    const { login: bootstrap } = await step('reach the host', { run: () => act.reachHost({ env, host }), skippable: false });
    const first = { env, host, runId, login: bootstrap };

    await step('ops user with SSH key and sudo', { run: () => act.ensureOpsUser(first), undo: () => undo.removeOpsUser(first), skippable: false });
    const { login: ops } = await step('ops user can log in and sudo', { run: () => act.verifyOpsLogin({ env, host }), skippable: false });
    const as = { env, host, runId, login: ops };

    await step('sshd: no root login, no passwords', { run: () => act.hardenSshd(as), undo: () => undo.restoreSshd(as) });
    await step('firewall: only ssh, http, https', { run: () => act.ensureFirewall(as), undo: () => undo.restoreFirewall(as) });
    await step('fail2ban on sshd', { run: () => act.ensureFail2ban(as), undo: () => undo.restoreFail2ban(as) });
    await step('unattended security upgrades', { run: () => act.ensureUnattendedUpgrades(as), undo: () => undo.restoreUnattendedUpgrades(as) });
    // Installed packages are left in place on failure: harmless, and removing them could take others with them.
    await step('packages (versions recorded)', { run: () => ensurePackages(as) });
    await step('database and its user', { run: () => act.ensureAppDatabase(as), undo: () => undo.dropAppDatabase(as) });
    await step('application directory', { run: () => act.ensureAppDir(as), undo: () => undo.removeAppDir(as) });
    await step('application .env from secrets', { run: () => act.ensureAppEnv(as), undo: () => undo.restoreAppEnv(as) });
    await step('process manager entry', { run: () => act.ensureProcessEntry(as), undo: () => undo.restoreProcessEntry(as) });
    await step('nginx site', { run: () => act.ensureNginxSite(as), undo: () => undo.restoreNginxSite(as) });
    await step('verify services and ports', { run: () => act.verifyProvisioned(as) });
  });
}
