// rotate-db-password: the app's database role gets a new password, taken from a secret the
// inventory references (`--secret <name>`), resolved on the worker and never in history. It
// goes into every web host's .env first (a running app read its .env when it started, so
// nothing changes yet), then onto PostgreSQL; from there the app, which connects per request,
// fails until restarted, so the colours are restarted at once, the live one first, each
// checked healthy before the next; then the app is checked through the load balancer. A
// failure puts the old password back: on PostgreSQL, then in each .env, restarting the apps
// this run restarted. Protected environments wait for approval before anything changes.
import { workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { Outcome } from '../activities/db-password';
import { colourLabel } from '../common/fleet-plan';
import type { RunInput, RunResult } from '../common/shared';
import type { ParamsOf } from '../common/params';
import type { ROTATE_PARAMS } from '../common/runbook-params';
import { ROTATE_PASSWORD_STEPS as STEPS } from '../common/step-names';
import { hostWithRole, type PlanContext } from '../common/plan';
import { onEvery, runbook, stepActivities, undoActivities } from './kernel';

export type RotateParams = ParamsOf<typeof ROTATE_PARAMS>;

const act = stepActivities<typeof activities>({ startToCloseTimeout: '5 minutes' });
// A restarted app may take a few seconds to answer: asked again for about 15 s, then failed.
const { checkAppHealthy } = stepActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 1.5,
    maximumInterval: '3 seconds',
    maximumAttempts: 8,
  },
});
const undo = undoActivities<typeof activities>({ startToCloseTimeout: '5 minutes' });

export async function rotateDbPassword(input: RunInput<RotateParams>): Promise<RunResult> {
  const { env } = input;
  const { secret } = input.params;
  const runId = workflowInfo().workflowId;
  return runbook(input, async (rb) => {
    const { live, idle, concurrency } = await rb.step(STEPS.findColours, {
      run: () => act.colourGroups({ env }),
      reads: true,
      plan: (c) => ({ where: hostWithRole(c, 'lb'), does: `read ${String(c.vars.upstreamFile)}` }),
    });
    const hosts = [...live.hosts, ...idle.hosts];
    await rb.step(STEPS.check(secret), {
      run: () => act.checkNewPassword({ env, secret, hosts }),
      reads: true,
      plan: (c) => ({
        where: `worker; ${hosts.join(', ')}`,
        does:
          `resolve secrets.${secret}: 16 to 200 printable ASCII characters; ` +
          `each ${envFile(c)} logs in as ${String(c.vars.databaseUser)}`,
      }),
    });
    const policy = await rb.step(STEPS.policy, {
      run: () => act.restorePolicy({ env }),
      reads: true,
      plan: (c) => ({ where: 'worker', does: `the inventory says ${env} is ${c.protected ? '' : 'not '}protected` }),
    });
    if (policy.protected) await rb.approval(STEPS.gate);

    await rb.step(STEPS.writeEnv, {
      run: async () =>
        overall(await onEvery(hosts, concurrency, (host) => act.writeEnvPassword({ env, runId, secret, host }))),
      // Undone last, PostgreSQL having its old password back by then: each .env is put back
      // and the apps this run restarted are restarted on it (their hosts' records say which).
      undo: () => onEvery(hosts, concurrency, (host) => undo.restoreEnvPassword({ env, runId, host })),
      plan: (c) => ({
        where: hosts.join(', '),
        does: `the password of DATABASE_URL in ${envFile(c)}, sent on stdin; the previous file kept on the host`,
        undo: 'put each previous .env back; restart the app where this run restarted it, and check it',
      }),
    });
    await rb.step(STEPS.setOnDatabase, {
      run: () => act.setDatabasePassword({ env, runId, secret }),
      undo: () => undo.restoreDatabasePassword({ env, runId }),
      plan: (c) => ({
        where: hostWithRole(c, 'db'),
        does:
          `alter role ${String(c.vars.databaseUser)} password '<SCRAM verifier made on the worker>' (stdin); ` +
          'the previous one kept',
        undo: 'put the previous verifier back',
      }),
    });
    for (const colour of [live, idle]) {
      // No undo of its own: an app must be restarted after its old password is back in its .env
      // and on PostgreSQL, whose undos run after this one (newest first). The .env undo does it.
      await rb.step(STEPS.restart(colourLabel(colour.colour, colour.hosts)), {
        run: async () =>
          overall(
            await onEvery(colour.hosts, concurrency, async (host): Promise<Outcome> => {
              const { restarted } = await act.restartAppForPassword({ env, runId, host });
              // A stopped app (an idle colour) reads the new .env when it starts.
              if (!restarted)
                return { changed: false, detail: `${host} is stopped: it reads the new .env when started` };
              await checkAppHealthy({ env, host });
              return { changed: true, detail: `${host} restarted and healthy` };
            }),
          ),
        plan: (c) => ({
          where: colourLabel(colour.colour, colour.hosts),
          does:
            `where it runs: ${(c.services.app?.reload ?? []).join(' ')}; GET ${c.vars.healthPath} answers 200 ` +
            'with its database (a stopped app is left stopped: it reads the new .env when it starts)',
        }),
      });
    }
    await rb.step(STEPS.checkThroughLb, {
      run: () => act.checkHealthThroughLb({ env }),
      plan: (c) => ({ where: hostWithRole(c, 'lb'), does: `GET ${c.vars.healthPath} answers 200 with its database` }),
    });
    rb.settle('the new password is live: PostgreSQL and every .env have it, and the app serves with it', () => [
      'the copies of the previous password are still on the hosts: remove ' +
        `/var/lib/runbook/rotate-db-password/${runId} on the db host and on ${hosts.join(', ')}`,
    ]);
    // Kept for the undos, which can no longer run; they hold the previous password.
    await rb.step(STEPS.forget, {
      run: () => act.forgetPreviousPassword({ env, runId, hosts }),
      plan: (c) => ({
        where: `${hostWithRole(c, 'db')}; ${hosts.join(', ')}`,
        does: 'the run is kept: the copies of the previous password (for the undos) are deleted',
      }),
    });
  });
}

/** The app's .env on each web host, as a plan names it. */
const envFile = (c: PlanContext) => `${String(c.vars.appDir)}/.env`;

/** A step's outcome from its hosts', as `runbook watch` shows it. */
function overall(outcomes: Outcome[]): Outcome {
  const details = outcomes.map((o) => o.detail).filter(Boolean);
  return { changed: outcomes.some((o) => o.changed), ...(details.length ? { detail: details.join('; ') } : {}) };
}
