// Stand-ins for every activity the production worker registers, for the workflow tier: they
// touch no host and answer what a healthy test bed would (the idle colour, a picked backup,
// certificates due for renewal, checks that pass). The type asks for one stub per registered
// activity, so a new activity cannot be forgotten here. Each call is recorded with its input
// and result, which is where a test reads what the run found out (test/plan-facts.ts).
import type * as activities from '../activities';
import { decideRunRules } from '../activities/policy';
import { planContext } from '../activities/plan-context';
import { prepareScheduledRun } from '../activities/schedules';
import { releasedByHolder } from '../activities/temporal';
import { selectHosts } from '../activities/fleet';
import type { CheckResult } from '../activities/health';
import { loadEnvironment } from '../src/inventory';
import { planBatches } from '../common/fleet-plan';
import type { ActivityCall } from './plan-facts';
import { RUNBOOK_STUBS } from '../runbooks/stubs.generated';
import type { RUNBOOK_ACTIVITY_KINDS } from '../runbooks/activity-kinds.generated';

type Registered = typeof activities;
type Stubs = {
  [K in keyof Registered]: (...args: Parameters<Registered[K]>) => Promise<Awaited<ReturnType<Registered[K]>>>;
};

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const DAY = 24 * 3600_000;
const unchanged = async () => ({ changed: false });
const nothing = async () => undefined;

function hostsWithRole(env: string, role: string): string[] {
  const hosts = Object.entries(loadEnvironment(env).hosts);
  return hosts.filter(([, h]) => (h.roles as string[]).includes(role)).map(([n]) => n);
}

/** The engine's and the old layout's; each runbook folder gives its own (runbooks/<name>/stubs.ts). */
const ENGINE_STUBS: Omit<Stubs, keyof typeof RUNBOOK_ACTIVITY_KINDS> = {
  // The real one: it reads only the inventory and the runbook's definition.
  decideRunRules,
  // The real one: it reads only the inventory.
  planContext,
  // No alarm fires: the alarm tests give the worker their own (test/alarms.workflow.test.ts).
  readAlarms: async () => ({ firing: [] }),
  notifyApprovers: async () => false,
  // No targets: the notification tests give the worker the real ones.
  noticeTargets: async () => [],
  deliverNotice: nothing,
  // Runs here take names as typed: signed identity is proven with real keys in test/identity.workflow.test.ts.
  proveStart: async () => ({ mode: 'typed' as const }),
  verifySignature: async () => ({ ok: false as const, refused: 'no signatures in the workflow tier' }),
  verifySignatures: async ({ requests }) => ({
    verdicts: requests.map(() => ({ ok: false as const, refused: 'no signatures in the workflow tier' })),
  }),
  lockHolder: async () => 'another run',
  // The real one: it reads only the lock's own history in Temporal.
  releasedByHolder,
  resolveRef: async () => COMMIT,
  checkedOutCommit: async () => COMMIT.replace(/^0/, 'f'),
  installRelease: nothing,
  restartApp: nothing,
  stopApp: nothing,
  checkHealth: async ({ commit }) => ({ version: '1.0.0', commit }),
  migrateAll: nothing,
  colours: async ({ env }) => {
    const [live, idle] = hostsWithRole(env, 'web');
    return { live, idle };
  },
  switchUpstream: async () => ({ changed: true }),
  checkThroughLb: async ({ commit }) => ({ version: '1.0.0', commit }),
  safetyBackup: async () => ({ path: '/var/backups/safety.dump', bytes: 1024 }),
  reachHost: async () => ({ login: 'root' }),
  ensureOpsUser: unchanged,
  removeOpsUser: unchanged,
  verifyOpsLogin: async () => ({ login: 'ops' }),
  hardenSshd: unchanged,
  restoreSshd: unchanged,
  ensureFirewall: unchanged,
  restoreFirewall: unchanged,
  ensureFail2ban: unchanged,
  restoreFail2ban: unchanged,
  ensureUnattendedUpgrades: unchanged,
  restoreUnattendedUpgrades: unchanged,
  ensurePackages: async () => ({ changed: false, versions: { nginx: '1.22.1' } }),
  ensureAppDatabase: unchanged,
  dropAppDatabase: unchanged,
  ensureAppDir: unchanged,
  removeAppDir: unchanged,
  ensureAppEnv: unchanged,
  restoreAppEnv: unchanged,
  ensureProcessEntry: unchanged,
  restoreProcessEntry: unchanged,
  ensureNginxSite: unchanged,
  restoreNginxSite: unchanged,
  forgetPreviousAppEnv: unchanged,
  verifyProvisioned: unchanged,
  dumpToStore: async ({ name }) => ({ name, bytes: 4096, sha256: 'ab'.repeat(32), tables: 3, rows: 42, dumped: true }),
  dropDatabase: nothing,
  restorePolicy: async ({ env }) => ({ protected: loadEnvironment(env).protected }),
  pickBackup: async ({ env, choice }) => (choice === 'latest' ? `${env}-20261123T020000Z` : choice),
  checkBackup: async () => ({
    bytes: 4096,
    createdAt: new Date(Date.now() - DAY).toISOString(),
    tables: 3,
    sha256: '0'.repeat(64),
    recordedBy: 'backup-stub',
  }),
  setMaintenance: async () => ({ host: 'lb', flag: '/var/www/maintenance/enabled' }),
  restoreIntoFresh: nothing,
  verifyRows: async () => ({ tables: 3, rows: 42 }),
  swapIn: async () => ({ changed: true }),
  swapBack: async () => ({ changed: true }),
  checkHealthThroughLb: async () => ({ status: 200 }),
  checkPreviousDatabase: async ({ tag }) => ({ database: `runbook_previous_${tag}` }),
  putPreviousBack: async () => ({ changed: true }),
  undoPutPreviousBack: async () => ({ changed: true }),
  dropPreviousDatabase: async ({ tag }) => ({ changed: true, detail: `dropped runbook_previous_${tag}` }),
  healthCheckHosts: async ({ env }) => Object.keys(loadEnvironment(env).hosts),
  checkHost: async ({ host }): Promise<CheckResult[]> => [
    { key: `${host}/ssh`, host, check: 'ssh', state: 'ok', detail: 'logged in' },
  ],
  previousHealth: async () => ({ failing: [] }),
  sendHealthAlert: async () => false,
  prepareScheduledRun,
  colourGroups: async ({ env }) => {
    const [live, idle] = hostsWithRole(env, 'web');
    return { live: { colour: 'blue', hosts: [live] }, idle: { colour: 'green', hosts: [idle] }, concurrency: 10 };
  },
  markUpstream: async ({ hosts }) => ({ changed: true, serving: hosts.length }),
  upstreamServers: async ({ env }) => hostsWithRole(env, 'web').map((host) => ({ host, down: false })),
  rollingPlan: async ({ env, batches, maxFailures }) => ({
    ...planBatches(hostsWithRole(env, 'web'), batches, maxFailures),
    concurrency: 10,
  }),
  // The real one: it reads only the inventory.
  selectHosts,
  checkedOutCommits: async ({ hosts }) => Object.fromEntries(hosts.map((h) => [h, COMMIT.replace(/^0/, 'f')])),
  resolveRefOnFleet: async () => COMMIT,
  readCommits: async ({ hosts }) => ({
    commits: Object.fromEntries(hosts.map((h) => [h, COMMIT.replace(/^0/, 'f')])),
    unreadable: {},
  }),
  rollHost: async () => ({ changed: true }),
  rollBackHost: async () => ({ changed: true }),
  hostCommand: async () => ({ exitCode: 0, durationMs: 5, outputTail: 'ok' }),
  checkNewPassword: unchanged,
  writeEnvPassword: async () => ({ changed: true }),
  restoreEnvPassword: async () => ({ changed: true }),
  setDatabasePassword: async () => ({ changed: true }),
  restoreDatabasePassword: async () => ({ changed: true }),
  restartAppForPassword: async () => ({ restarted: true }),
  checkAppHealthy: nothing,
  forgetPreviousPassword: async () => ({ changed: true }),
  pickAnalyses: async ({ analysis }) => ({
    analyses: analysis.split(',').map((name) => ({ name, kind: 'threshold' as const, summary: 'stub' })),
    overruled: [],
  }),
  // A release that passes: a test of Failed or Inconclusive gives the worker its own.
  analyseBatch: async ({ batch, canary, baseline }) => ({
    changed: false as const,
    detail: 'analysis Successful: stub',
    batch,
    phase: 'Successful' as const,
    reason: 'stub',
    canary,
    baseline,
    analyses: [],
    overruled: [],
  }),
};

const STUBS = Object.assign({}, ENGINE_STUBS, ...Object.values(RUNBOOK_STUBS).map((r) => r.stubs)) as Stubs;

/** The stubs, each recording its calls into `calls`. */
export function stubActivities(calls: ActivityCall[]): Stubs {
  const recorded = Object.entries(STUBS).map(([type, stub]) => [
    type,
    async (input: unknown) => {
      const call: ActivityCall = { type, input };
      calls.push(call);
      call.result = await (stub as (i: unknown) => Promise<unknown>)(input);
      return call.result;
    },
  ]);
  return Object.fromEntries(recorded) as Stubs;
}
