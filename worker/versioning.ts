// Worker Deployment versioning: a worker started with RUNBOOK_BUILD_ID joins the deployment
// RUNBOOK_DEPLOYMENT_NAME (default "runbook") as that build. Runs then go to the deployment's
// current version; rolling out a build is `temporal worker deployment set-current-version`.
// Each runbook's behaviour (pinned or auto-upgrade) is set in workflows/versioning.ts.
import type { WorkerOptions } from '@temporalio/worker';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function deploymentOptions(
  env: NodeJS.ProcessEnv = process.env,
): Pick<WorkerOptions, 'workerDeploymentOptions'> {
  const buildId = env.RUNBOOK_BUILD_ID?.trim();
  if (!buildId) return {};
  const deploymentName = env.RUNBOOK_DEPLOYMENT_NAME?.trim() || 'runbook';
  for (const [what, value] of [
    ['RUNBOOK_BUILD_ID', buildId],
    ['RUNBOOK_DEPLOYMENT_NAME', deploymentName],
  ]) {
    if (!NAME.test(value)) throw new Error(`${what}=${JSON.stringify(value)}: want up to 100 of A-Z a-z 0-9 . _ -`);
  }
  return {
    workerDeploymentOptions: {
      useWorkerVersioning: true,
      version: { deploymentName, buildId },
      // Runbooks not named in workflows/versioning.ts move to the new build (see there why).
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    },
  };
}
