// health-check: SSH, the app, HTTP/HTTPS through the load balancer and PostgreSQL, on every
// host by its roles; one alert when a check starts failing and one when it recovers. A run
// remembers nothing itself: it reads what the previous run knew to be failing (its result, kept
// by Temporal) and returns what it knows now, for the next one. Read-only: it takes no lock.
import { workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { CheckResult, HealthMemory } from '../activities/health';
import type { RunInput, RunResult } from '../common/shared';
import type { ParamsOf } from '../common/params';
import type { HEALTH_PARAMS } from '../common/runbook-params';
import { forEachHost, runbook, stepActivities } from './kernel';
import { HEALTH_STEPS } from '../common/step-names';
import type { PlanContext } from '../common/plan';

const { healthCheckHosts, sendHealthAlert } = stepActivities<typeof activities>({ startToCloseTimeout: '1 minute' });
// A probe's failure is its result: the activity only fails on a bad inventory.
const { checkHost } = stepActivities<typeof activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 2 },
});
const { previousHealth } = stepActivities<typeof activities>({ startToCloseTimeout: '5 minutes' });

export type HealthParams = ParamsOf<typeof HEALTH_PARAMS>;

export interface HealthResult extends RunResult {
  health: HealthMemory & { checks: CheckResult[]; alerted: { failing: string[]; recovered: string[] } };
}

const PARALLEL_HOSTS = 8;

/** What a host's checks are, by its roles, as a plan shows them. */
function hostChecks(c: PlanContext, name: string): string {
  const roles = c.hosts[name]?.roles ?? [];
  return [
    'ssh: a fresh login',
    ...(roles.includes('web') ? [`app: GET 127.0.0.1:${c.vars.appPort}${c.vars.healthPath} (live colour only)`] : []),
    ...(roles.includes('lb') ? [`http and https: GET ${c.vars.healthPath} from the worker`] : []),
    ...(roles.includes('db') ? ['postgresql: pg_isready'] : []),
  ].join('; ');
}

const alertPlan = (c: PlanContext) => ({
  where: 'worker',
  does: c.vars.alertWebhook ? 'POST to vars.alertWebhook' : 'no vars.alertWebhook set: only recorded',
});

export async function healthCheck(input: RunInput<HealthParams>): Promise<HealthResult> {
  const { env } = input;
  const { workflowId: runId, startTime } = workflowInfo();
  let health: HealthResult['health'] | undefined;
  const result = await runbook(input, async ({ step }) => {
    const previous = await step(HEALTH_STEPS.previous, {
      run: () => previousHealth({ env, runId, startedAt: startTime.toISOString() }),
      reads: true,
      plan: { where: 'Temporal', does: 'the result of the previous health-check run of this environment' },
    });
    const hosts = await step(HEALTH_STEPS.hosts, {
      run: () => healthCheckHosts({ env }),
      reads: true,
      plan: { where: 'worker', does: 'every host of the inventory, by role' },
    });
    const outcomes = await forEachHost(hosts, PARALLEL_HOSTS, (host) =>
      step(HEALTH_STEPS.check(host), {
        run: () => checkHost({ env, host }),
        reads: true,
        plan: (c) => ({ where: host, does: hostChecks(c, host) }),
      }),
    );
    const checks = outcomes.flatMap((o): CheckResult[] =>
      o.ok
        ? o.value!
        : [
            {
              key: `${o.host}/checks`,
              host: o.host,
              check: 'ssh',
              state: 'failing',
              detail: o.error ?? 'the checks could not run',
            },
          ],
    );

    // A check that could not be probed keeps the state it had.
    const failing = checks.filter(
      (c) => c.state === 'failing' || (c.state === 'unknown' && previous.failing.includes(c.key)),
    );
    const newlyFailing = failing.filter((c) => !previous.failing.includes(c.key));
    const recovered = previous.failing.filter((key) => !failing.some((c) => c.key === key));
    const failingKeys = failing.map((c) => c.key);
    const detail = (key: string) => checks.find((c) => c.key === key)?.detail ?? 'no longer checked';

    if (newlyFailing.length) {
      await step(HEALTH_STEPS.alertFailing(newlyFailing.map((c) => c.key)), {
        run: () =>
          sendHealthAlert({
            env,
            runId,
            event: 'failing',
            checks: newlyFailing.map((c) => ({ key: c.key, detail: c.detail })),
            failing: failingKeys,
          }),
        plan: alertPlan,
      });
    }
    if (recovered.length) {
      await step(HEALTH_STEPS.alertRecovered(recovered), {
        run: () =>
          sendHealthAlert({
            env,
            runId,
            event: 'recovered',
            checks: recovered.map((key) => ({ key, detail: detail(key) })),
            failing: failingKeys,
          }),
        plan: alertPlan,
      });
    }
    const summary = HEALTH_STEPS.summary(checks.length, failingKeys);
    health = { failing: failingKeys, checks, alerted: { failing: newlyFailing.map((c) => c.key), recovered } };
    await step(summary, { run: async () => health, reads: true, plan: { where: 'worker', does: 'the outcome' } });
  });
  return { ...result, health: health! };
}
