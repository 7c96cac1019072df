// migrate-then-code: the safe order for a release that changes the schema. A safety backup;
// the expand migration while the old code keeps serving (and a check that it still does);
// the new code through blue/green; an approval; then the contract migration. A failed expand
// leaves the schema as it was (each migration is one transaction); a failed code step rolls
// the code back onto the expanded schema. The old colour stopped is the point of no return: a
// failed or refused contract (or a failed check after it) ends SETTLED_THEN_FAILED with the
// new code serving on the expanded schema, and the record says how to finish.
import { workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { RunInput, RunResult } from '../common/shared';
import { inRelease, installOnIdle, planRelease, switchColours, switchOptions, type ReleaseParams } from './blue-green';
import { runbook, stepActivities } from './kernel';
import { RELEASE_STEPS } from '../common/step-names';
import { hostWithRole } from '../common/plan';

const { safetyBackup, checkedOutCommit, checkThroughLb, migrateAll } = stepActivities<typeof activities>({
  startToCloseTimeout: '1 hour',
});

export async function migrateThenCode(input: RunInput<ReleaseParams>): Promise<RunResult> {
  const { env } = input;
  return runbook(input, async (rb) => {
    const release = await planRelease(rb, env, input.params);
    const serving = await rb.step(RELEASE_STEPS.recordServing, {
      run: () => checkedOutCommit({ env, host: release.live }),
      skippable: false,
      reads: true,
      plan: { where: release.liveLabel, does: 'git rev-parse HEAD' },
    });
    await rb.step(RELEASE_STEPS.safetyBackup, {
      run: () => safetyBackup({ env, runId: workflowInfo().workflowId }),
      skippable: false,
      plan: (c) => ({ where: hostWithRole(c, 'db'), does: `pg_dump --format=custom ${String(c.vars.databaseName)}` }),
    });

    await installOnIdle(rb, env, release);
    await rb.step(RELEASE_STEPS.checkOldCode, {
      run: () => checkThroughLb({ env, commit: serving }),
      skippable: false,
      plan: (c) => ({
        where: hostWithRole(c, 'lb'),
        does: `GET ${c.vars.healthPath} still serves the old commit ${serving.slice(0, 12)}`,
      }),
    });

    await switchColours(rb, env, release, switchOptions(input.params), (failed) =>
      failed === RELEASE_STEPS.checkThroughLb
        ? [
            `the contract migration ran, then ${release.commit.slice(0, 12)} ` +
              `failed its check through the load balancer: ` +
              `the old code cannot run on the contracted schema, so fix forward (look at the app on ${release.idle})`,
          ]
        : [
            `the new code serves on the expanded schema, which the old code also runs on: nothing is urgent`,
            `the contract migration did not complete ` +
              `(each migration is its own transaction, so the schema is whole): ` +
              `to finish, release again: runbook start migrate-then-code --env ${env} --ref ${input.params.ref}`,
          ],
    );

    await rb.approval(RELEASE_STEPS.contractGate);
    await rb.step(RELEASE_STEPS.contract, {
      run: () => migrateAll({ env, host: inRelease(release)[0] }),
      skippable: true,
      why: 'the expanded schema serves the new code; the contract migration can run in a later release',
      plan: { where: release.idleLabel, does: 'migrate (all pending, contract included)' },
    });
    await rb.step(RELEASE_STEPS.checkThroughLb, {
      run: () => checkThroughLb({ env, commit: release.commit }),
      skippable: false,
      plan: (c) => ({
        where: hostWithRole(c, 'lb'),
        does: `GET ${c.vars.healthPath} serves ${release.commit.slice(0, 12)}`,
      }),
    });
  });
}
