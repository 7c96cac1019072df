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
import type { PlanContext } from '../common/plan';

export type ProvisionParams = ParamsOf<typeof PROVISION_PARAMS>;

/** What the inventory's vars.provision says a provisioned host looks like, as plans show it. */
function provisionVars(c: PlanContext): { ops: string; ports: number[]; packages: string[] } {
  const p = c.vars.provision;
  return { ops: p?.opsUser ?? 'ops', ports: p?.openPorts ?? [22, 80, 443], packages: p?.packages ?? [] };
}

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
      reads: true,
      plan: (c) => ({
        where: host,
        does: `log in as ${provisionVars(c).ops} if it works, else as the inventory's ssh.user`,
      }),
    });
    const first = { env, host, runId, login: bootstrap };
    // Four eyes before anything changes, where the worker's rules say (a protected environment).
    await gate(PROVISION_STEPS.gate);

    await step(PROVISION_STEPS.opsUser, {
      run: () => act.ensureOpsUser(first),
      undo: () => undo.removeOpsUser(first),
      skippable: false,
      plan: (c) => ({
        where: host,
        does: `useradd ${provisionVars(c).ops}; authorized_keys; /etc/sudoers.d (visudo -c)`,
        undo: 'remove what this run added',
      }),
    });
    const { login: ops } = await step(PROVISION_STEPS.opsLogin, {
      run: () => act.verifyOpsLogin({ env, host }),
      skippable: false,
      plan: (c) => ({
        where: host,
        does: `a new SSH login as ${provisionVars(c).ops}, then sudo -n`,
        standIn: { login: provisionVars(c).ops },
      }),
    });
    const as = { env, host, runId, login: ops };

    await step(PROVISION_STEPS.sshd, {
      run: () => act.hardenSshd(as),
      undo: () => undo.restoreSshd(as),
      plan: { where: host, does: 'sshd_config.d drop-in; sshd -t; reload', undo: 'put the previous file back; reload' },
    });
    await step(PROVISION_STEPS.firewall, {
      run: () => act.ensureFirewall(as),
      undo: () => undo.restoreFirewall(as),
      plan: (c) => ({
        where: host,
        does: `ufw default deny; allow ${provisionVars(c).ports.join(', ')}; enable`,
        undo: 'put the previous /etc/ufw and state back',
      }),
    });
    await step(PROVISION_STEPS.fail2ban, {
      run: () => act.ensureFail2ban(as),
      undo: () => undo.restoreFail2ban(as),
      plan: {
        where: host,
        does: 'jail.d/runbook-sshd.local; (re)start fail2ban',
        undo: 'previous jail; stop fail2ban if it was stopped',
      },
    });
    await step(PROVISION_STEPS.upgrades, {
      run: () => act.ensureUnattendedUpgrades(as),
      undo: () => undo.restoreUnattendedUpgrades(as),
      plan: {
        where: host,
        does: 'apt.conf.d: security origins, no automatic reboot, mail root',
        undo: 'previous files',
      },
    });
    // Installed packages are left in place on failure: harmless, and removing them could take others with them.
    await step(PROVISION_STEPS.packages, {
      run: () => ensurePackages(as),
      plan: (c) => ({
        where: host,
        does: `apt-get install ${provisionVars(c).packages.join(' ')}; versions in /var/lib/runbook/packages.txt`,
      }),
    });
    await step(PROVISION_STEPS.database, {
      run: () => act.ensureAppDatabase(as),
      undo: () => undo.dropAppDatabase(as),
      plan: (c) => ({
        where: host,
        does: `create role ${String(c.vars.databaseUser)} and database ${String(c.vars.databaseName)} if missing`,
        undo: 'drop what this run created',
      }),
    });
    await step(PROVISION_STEPS.appDir, {
      run: () => act.ensureAppDir(as),
      undo: () => undo.removeAppDir(as),
      plan: (c) => ({
        where: host,
        does: `user ${String(c.vars.appUser)}; ${String(c.vars.appDir)} mode 0750`,
        undo: 'remove what this run created',
      }),
    });
    await step(PROVISION_STEPS.appEnv, {
      run: () => act.ensureAppEnv(as),
      undo: () => undo.restoreAppEnv(as),
      plan: (c) => ({
        where: host,
        does: `${String(c.vars.appDir)}/.env mode 0600 (secrets resolved on the worker)`,
        undo: 'previous file',
      }),
    });
    await step(PROVISION_STEPS.processEntry, {
      run: () => act.ensureProcessEntry(as),
      undo: () => undo.restoreProcessEntry(as),
      plan: { where: host, does: 'supervisor program app; supervisorctl update', undo: 'previous entry' },
    });
    await step(PROVISION_STEPS.nginxSite, {
      run: () => act.ensureNginxSite(as),
      undo: () => undo.restoreNginxSite(as),
      plan: { where: host, does: 'conf.d/app.conf; nginx -t; reload', undo: 'previous site; reload' },
    });
    await step(PROVISION_STEPS.verify, {
      run: () => act.verifyProvisioned(as),
      plan: { where: host, does: 'services running; ports answer from outside' },
    });
    // Patched: provision runs recorded before this replay without it.
    if (patched('forget-previous-env')) {
      settle('the host is provisioned and verified');
      // Kept for the .env step's undo, which can no longer run; it holds the previous secrets.
      await step(PROVISION_STEPS.forgetEnv, {
        run: () => act.forgetPreviousAppEnv(as),
        plan: { where: host, does: 'the run is kept: its copy of the previous .env (for the undo) is deleted' },
      });
    }
  });
}
