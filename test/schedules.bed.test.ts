// Schedules through the `runbook` command as operators type it, on the real server: bad input
// is refused before Temporal is asked; a schedule fires and its runs are ordinary runs in
// `runbook list`; two triggers while a run is going start one run (overlap: skip).
import { strict as assert } from 'node:assert';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { approvalSignal, type RunProgress } from '../common/shared';
import { atGate, runbookCli, testClient, uniqueQueue, waitForProgress, withWorker, type Ran } from './helpers';

const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };

function refused(ran: Ran, pattern: RegExp): void {
  assert.equal(ran.code, 2, `expected exit 2, got ${ran.code}; stdout: ${ran.stdout} stderr: ${ran.stderr}`);
  assert.equal(ran.stderr.trim().split('\n').length, 1, ran.stderr);
  assert.match(ran.stderr, pattern);
}

function ok(ran: Ran): Ran {
  assert.equal(ran.code, 0, `exit ${ran.code}: ${ran.stderr}`);
  return ran;
}

interface Listed {
  runId: string;
  runbook: string;
  env: string;
  state?: string;
  status: string;
}

async function listRuns(runbook: string, env: string, cliEnv: Record<string, string>): Promise<Listed[]> {
  return JSON.parse(ok(await runbookCli(['list', '--runbook', runbook, '--env', env, '--json'], cliEnv)).stdout).runs;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('runbook schedules', function () {
  it('refuses bad schedules with one line before connecting', async function () {
    const create = (...args: string[]) => runbookCli(['schedule', 'create', ...args], unreachable);
    refused(
      await create('nope', '--env', 'local', '--interval', '5s'),
      /unknown runbook "nope" \(known: smoke, .*\bdeploy\b/,
    );
    refused(await create('health-check', '--env', 'nowhere', '--interval', '5s'), /unknown environment "nowhere"/);
    refused(await create('health-check', '--env', 'local'), /needs either --cron .* or --interval/);
    refused(
      await create('health-check', '--env', 'local', '--interval', '5s', '--cron', '* * * * *'),
      /needs either --cron .* or --interval/,
    );
    refused(
      await create('health-check', '--env', 'local', '--cron', '0 2 * *'),
      /--cron "0 2 \* \*" is not a cron expression/,
    );
    refused(
      await create('health-check', '--env', 'local', '--cron', '0 2 * * * ; rm -rf /'),
      /is not a cron expression/,
    );
    refused(
      await create('health-check', '--env', 'local', '--cron', '0 2 * * *', '--timezone', 'Mars/Olympus'),
      /--timezone "Mars\/Olympus" is not a time zone/,
    );
    refused(
      await create('health-check', '--env', 'local', '--interval', '5s', '--timezone', 'Europe/Paris'),
      /--timezone goes with --cron/,
    );
    refused(await create('health-check', '--env', 'local', '--interval', 'often'), /--interval: expected a duration/);
    refused(
      await create('health-check', '--env', 'local', '--interval', '5s', '--catchup-window', '1s'),
      /--catchup-window must be at least 10s/,
    );
    // Parameters are validated as `runbook start` validates them.
    refused(await create('deploy', '--env', 'local', '--interval', '1h'), /deploy needs --ref/);
    refused(
      await create('deploy', '--env', 'local', '--interval', '1h', '--ref=--upload-pack=evil'),
      /--ref .* is not valid/,
    );
    refused(
      await create('renew-certificate', '--env', 'local', '--cron', '0 3 * * 1', '--threshold', 'soon'),
      /--threshold "soon" is not valid/,
    );
    refused(await runbookCli(['schedule', 'delete', '../x'], unreachable), /invalid schedule id/);
    refused(
      await runbookCli(['schedule', 'pause'], unreachable),
      /schedule needs a subcommand: create, list, delete, trigger/,
    );
  });

  it('fires on its interval; its runs are ordinary runs in `runbook list`, started by the schedule', async function () {
    const taskQueue = uniqueQueue('schedule');
    const env = { RUNBOOK_TASK_QUEUE: taskQueue };
    await withWorker(taskQueue, async () => {
      const before = new Set((await listRuns('health-check', 'local', env)).map((r) => r.runId));
      const created = JSON.parse(
        ok(
          await runbookCli(
            ['schedule', 'create', 'health-check', '--env', 'local', '--interval', '2s', '--as', 'alice', '--json'],
            env,
          ),
        ).stdout,
      );
      assert.equal(created.scheduleId, 'health-check-local');
      assert.equal(created.when, 'every 2s');
      try {
        refused(
          await runbookCli(['schedule', 'create', 'health-check', '--env', 'local', '--interval', '2s'], env),
          /schedule health-check-local already exists/,
        );
        const fired = await until('a scheduled health check to complete', async () => {
          const runs = (await listRuns('health-check', 'local', env)).filter(
            (r) => !before.has(r.runId) && r.state === 'COMPLETED',
          );
          return runs.length ? runs : undefined;
        });
        for (const run of fired) assert.match(run.runId, /^health-check-local-\d{8}T\d{6}Z-[0-9a-f]{4}$/);
        const status = ok(await runbookCli(['status', fired[0].runId, '--json'], env));
        const progress = JSON.parse(status.stdout).progress as RunProgress;
        // The person who created the schedule, so they cannot approve its runs (four eyes).
        assert.equal(progress.initiator, 'alice');
        assert.equal(progress.state, 'COMPLETED');
        // Its workflow tasks get as long as a run `runbook start` starts (RUN_WORKFLOW_TASK_TIMEOUT).
        const run = await (await testClient()).workflow.getHandle(fired[0].runId).describe();
        assert.equal(Number(run.raw.executionConfig?.defaultWorkflowTaskTimeout?.seconds), 30);

        const listed = JSON.parse(ok(await runbookCli(['schedule', 'list', '--json'], env)).stdout).schedules;
        const mine = listed.find((s: { scheduleId: string }) => s.scheduleId === 'health-check-local');
        assert.equal(mine.runbook, 'health-check');
        assert.equal(mine.createdBy, 'alice');
        assert.ok(mine.recentFirings.length >= 1);
        assert.ok(mine.nextRuns.length >= 1);
      } finally {
        ok(await runbookCli(['schedule', 'delete', 'health-check-local'], env));
      }
      // A firing still going when the schedule was deleted finishes while the worker runs.
      await until('the last scheduled run to finish', async () =>
        (await listRuns('health-check', 'local', env)).some((r) => r.status === 'RUNNING') ? undefined : true,
      );
      const after = JSON.parse(ok(await runbookCli(['schedule', 'list', '--json'], env)).stdout).schedules;
      assert.equal(
        after.some((s: { scheduleId: string }) => s.scheduleId === 'health-check-local'),
        false,
      );
      refused(await runbookCli(['schedule', 'trigger', 'health-check-local'], env), /no schedule health-check-local/);
    });
  });

  it('starts one run for two triggers while the first is still going (overlap: skip)', async function () {
    const taskQueue = uniqueQueue('overlap');
    const env = { RUNBOOK_TASK_QUEUE: taskQueue };
    const client = await testClient();
    await withWorker(taskQueue, async () => {
      const before = new Set((await listRuns('smoke', 'test', env)).map((r) => r.runId));
      // Once a year at 02:00 in Paris: only the triggers below fire it during the test.
      ok(
        await runbookCli(
          [
            'schedule',
            'create',
            'smoke',
            '--env',
            'test',
            '--cron',
            '0 2 1 1 *',
            '--timezone',
            'Europe/Paris',
            '--as',
            'alice',
          ],
          env,
        ),
      );
      try {
        const description = await client.schedule.getHandle('smoke-test').describe();
        assert.equal(description.policies.overlap, ScheduleOverlapPolicy.SKIP);
        assert.equal(description.spec.timezone, 'Europe/Paris');
        assert.equal(
          description.info.nextActionTimes[0].toISOString().slice(5, 16),
          '01-01T01:00',
          'next 1 January, 02:00 Paris time',
        );

        ok(await runbookCli(['schedule', 'trigger', 'smoke-test'], env));
        ok(await runbookCli(['schedule', 'trigger', 'smoke-test'], env));
        // The smoke run waits at its gate, so the first firing is still going at the second.
        const [run] = await until('the triggered run', async () => {
          const runs = (await listRuns('smoke', 'test', env)).filter((r) => !before.has(r.runId));
          return runs.length ? runs : undefined;
        });
        const handle = client.workflow.getHandle(run.runId);
        await waitForProgress(handle, atGate('go-ahead'));
        const info = await until('the second trigger to be skipped', async () => {
          const d = await client.schedule.getHandle('smoke-test').describe();
          return d.info.numActionsSkippedOverlap >= 1 ? d.info : undefined;
        });
        assert.equal(info.numActionsTaken, 1);
        const runs = (await listRuns('smoke', 'test', env)).filter((r) => !before.has(r.runId));
        assert.deepEqual(
          runs.map((r) => r.runId),
          [run.runId],
          'one run for two triggers',
        );

        await handle.signal(approvalSignal, { approver: 'bob', decision: 'approve' });
        await handle.result();
      } finally {
        ok(await runbookCli(['schedule', 'delete', 'smoke-test'], env));
      }
    });
  });
});
