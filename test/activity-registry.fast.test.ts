// What the production worker registers: only activities the runbooks call, nothing test-only
// and no helper. The list is written out here on purpose: adding an activity to the worker is
// a decision a reviewer should see.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { workerOptions } from '../worker/worker-options';
import { testOnlyActivities } from './activities';
import { ACTIVITY_KINDS } from '../activities/registry';
import { RUNBOOK_ACTIVITY_KINDS } from '../runbooks/activity-kinds.generated';

// The engine's and the old layout's; a runbook folder declares its own with their kinds
// (runbooks/<name>/activities.ts), which a reviewer sees there.
const ENGINE_REGISTERED = [
  'analyseBatch',
  'checkBackup',
  'checkHealth',
  'checkHealthThroughLb',
  'checkHost',
  'checkThroughLb',
  'checkedOutCommit',
  'colours',
  'decideRunRules',
  'dropAppDatabase',
  'dropDatabase',
  'dumpToStore',
  'ensureAppDatabase',
  'ensureAppDir',
  'ensureAppEnv',
  'ensureFail2ban',
  'ensureFirewall',
  'ensureNginxSite',
  'ensureOpsUser',
  'ensurePackages',
  'forgetPreviousAppEnv',
  'ensureProcessEntry',
  'ensureUnattendedUpgrades',
  'hardenSshd',
  'healthCheckHosts',
  'installRelease',
  'lockHolder',
  'migrateAll',
  'notifyApprovers',
  'noticeTargets',
  'deliverNotice',
  'pickBackup',
  'pickAnalyses',
  'planContext',
  'prepareScheduledRun',
  'readAlarms',
  'previousHealth',
  'proveStart',
  'reachHost',
  'releasedByHolder',
  'removeAppDir',
  'removeOpsUser',
  'resolveRef',
  'restartApp',
  'restoreAppEnv',
  'restoreFail2ban',
  'restoreFirewall',
  'restoreIntoFresh',
  'restoreNginxSite',
  'restorePolicy',
  'restoreProcessEntry',
  'restoreSshd',
  'restoreUnattendedUpgrades',
  'safetyBackup',
  'sendHealthAlert',
  'setMaintenance',
  'stopApp',
  'swapBack',
  'swapIn',
  'switchUpstream',
  'verifyOpsLogin',
  'verifyProvisioned',
  'verifyRows',
  'verifySignature',
  'verifySignatures',
  'checkPreviousDatabase',
  'putPreviousBack',
  'undoPutPreviousBack',
  'dropPreviousDatabase',
  // Fleets: colours as groups, rolling-deploy and run-command.
  'checkedOutCommits',
  'colourGroups',
  'hostCommand',
  'markUpstream',
  'readCommits',
  'resolveRefOnFleet',
  'rollBackHost',
  'rollHost',
  'rollingPlan',
  'selectHosts',
  'upstreamServers',
  // rotate-db-password.
  'checkAppHealthy',
  'checkNewPassword',
  'forgetPreviousPassword',
  'restartAppForPassword',
  'restoreDatabasePassword',
  'restoreEnvPassword',
  'setDatabasePassword',
  'writeEnvPassword',
];

const REGISTERED = [...ENGINE_REGISTERED, ...Object.keys(RUNBOOK_ACTIVITY_KINDS)];

function workflowSource(): string {
  const files = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) =>
        e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
      );
  return [...files(path.join(projectRoot, 'workflows')), ...files(path.join(projectRoot, 'runbooks'))]
    .filter((f) => !f.endsWith('.test.ts') && !f.endsWith('stubs.ts') && !f.endsWith('activities.ts'))
    .map((f) => fs.readFileSync(f, 'utf8'))
    .join('\n');
}

describe("the production worker's activities", function () {
  let registered: Record<string, unknown>;
  before(() => {
    registered = workerOptions().activities as Record<string, unknown>;
  });

  it('are exactly the listed ones, each a function', function () {
    assert.deepEqual(Object.keys(registered).sort(), [...REGISTERED].sort());
    for (const [name, fn] of Object.entries(registered)) assert.equal(typeof fn, 'function', name);
  });

  it('each have a kind in the registry (a folder declares its own)', function () {
    assert.deepEqual(
      Object.keys(registered).filter((name) => !(name in ACTIVITY_KINDS)),
      [],
    );
  });

  it('include no test-only activity (runCommand runs any command as root)', function () {
    for (const name of Object.keys(testOnlyActivities)) assert.ok(!(name in registered), name);
  });

  it('are each called by a runbook', function () {
    const source = workflowSource();
    const unused = Object.keys(registered).filter((name) => !new RegExp(`\\b${name}\\b`).test(source));
    assert.deepEqual(unused, []);
  });
});
