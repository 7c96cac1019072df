// How each runbook meets a new worker build (Worker Deployment versioning, on workers started
// with RUNBOOK_BUILD_ID; worker/versioning.ts).
//
// AUTO_UPGRADE (the worker's default): runbooks that wait for people: deploy, migrate-then-code,
// restore and smoke at approval gates, any runbook at a failure gate, and the environment lock
// that lives as long as its holder. They may wait days; pinned, each would keep its old build's
// workers running until it ended, and a fix (a corrected undo) could never reach it. They move
// to the new build at their next workflow task, which is safe because every change to a
// released runbook's steps goes behind patched() and the replay test checks it.
//
// PINNED: the unattended, bounded runbooks started by schedules: health-check, backup,
// renew-certificate, and the scheduled-run wrapper. They end within minutes to hours on the
// code they started with, never crossing a code change mid-run; their old build drains by itself.
import type { VersioningBehavior } from '@temporalio/common';
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { backup } from '../runbooks/backup/workflow';
import { healthCheck } from './health-check';
import { renewCertificate } from '../runbooks/renew-certificate/workflow';
import { scheduledRun } from './scheduled-run';

// A behaviour only on a versioned worker: the server refuses one from an unversioned worker.
const when = (versioningBehavior: VersioningBehavior) => () =>
  workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior } : {};

for (const pinned of [healthCheck, backup, renewCertificate, scheduledRun]) {
  setWorkflowOptions(when('PINNED'), pinned as (...args: never[]) => Promise<unknown>);
}
