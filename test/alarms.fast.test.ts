// Alarms that stop runs (src/alarms.ts): their declaration in the inventory and its bounds, when
// an answer fires an alarm, an alarm that cannot be read, and which runs the worker watches
// (decideAlarms): from the inventory and the runbook alone, never from the run's input.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { inventoryProblems, parseEnvironment, type Environment } from '../src/inventory';
import { evaluateAlarms, fires, MAX_ALARM_QUERY, MAX_ALARMS, type AlarmAnswer } from '../src/alarms';
import { decideAlarms, PolicyError } from '../src/policy';
import { findRunbook, RUNBOOKS } from '../src/runbooks';
import { progressLines } from '../common/progress-view';
import type { RunProgress } from '../common/shared';

const BASE = {
  environment: 'alarmed',
  hosts: { 'web-1': { address: '10.0.0.1', roles: ['web'] } },
  vars: { prometheusUrl: 'http://10.0.0.9:9090' },
};
const parse = (over: Record<string, unknown>) =>
  parseEnvironment(stringifyYaml({ ...BASE, ...over }), 'alarmed.yaml', 'alarmed');
const problems = (over: Record<string, unknown>) => {
  try {
    parse(over);
    return '';
  } catch (err) {
    return (err as Error).message;
  }
};
const vector = (...values: [Record<string, string>, number][]): AlarmAnswer => ({
  ok: true,
  resultType: 'vector',
  series: values.map(([labels, v]) => ({ labels, samples: [[1, v]] })),
});
const scalar = (v: number): AlarmAnswer => ({
  ok: true,
  resultType: 'scalar',
  series: [{ labels: {}, samples: [[1, v]] }],
});

describe('alarms that stop runs', function () {
  it('declares alarms with defaults: every mutating runbook, undo, unreadable fires, every 30s', function () {
    const env = parse({ alarms: { rules: { errors: { query: 'sum(rate(x[1m])) > 1' } } } });
    assert.deepEqual(env.alarms, {
      interval: '30s',
      remediation: [],
      rules: { errors: { query: 'sum(rate(x[1m])) > 1', then: 'undo', unreadableFires: true } },
    });
    // None declared: an empty set, and no run is watched.
    assert.deepEqual(parse({}).alarms, { interval: '30s', remediation: [], rules: {} });
  });

  it('refuses what is out of bounds, each with a clear error', function () {
    const rules = Object.fromEntries(Array.from({ length: MAX_ALARMS + 1 }, (_, i) => [`a${i}`, { query: 'up' }]));
    assert.match(problems({ alarms: { rules } }), /alarms\.rules: must NOT have more than 20 properties/);
    const long = 'x'.repeat(MAX_ALARM_QUERY + 1);
    assert.match(
      problems({ alarms: { rules: { a: { query: long } } } }),
      /alarms\.rules\.a\.query: must NOT have more/,
    );
    assert.match(problems({ alarms: { interval: '500ms', rules: {} } }), /alarms\.interval: 500ms is shorter than 1s/);
    assert.match(problems({ alarms: { interval: '1h' } }), /alarms\.interval: 1h is longer than the limit/);
    assert.match(problems({ alarms: { interval: '5s', timeout: '10s' } }), /timeout 10s is longer than .*interval 5s/);
    assert.match(problems({ alarms: { rules: { a: { query: 'up', then: 'panic' } } } }), /then: must be equal to one/);
    assert.match(
      problems({ vars: {}, alarms: { rules: { a: { query: 'up' } } } }),
      /declares a but vars\.prometheusUrl is not set/,
    );
    assert.match(
      problems({ alarms: { remediation: ['deploy'], rules: { a: { query: 'up', stops: ['deploy'] } } } }),
      /alarms\.rules\.a stops deploy, which alarms\.remediation says is never stopped/,
    );
  });

  it('has runbook inventory check name runbooks no runbook has', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alarms-'));
    try {
      const alarms = { remediation: ['restart-all'], rules: { a: { query: 'up == 0', stops: ['deploi'] } } };
      fs.writeFileSync(path.join(dir, 'alarmed.yaml'), stringifyYaml({ ...BASE, alarms }));
      const found = inventoryProblems(
        [dir],
        RUNBOOKS.map((r) => r.name),
      ).problems.join('\n');
      assert.match(found, /alarmed: alarms\.remediation names unknown runbooks: restart-all/);
      assert.match(found, /alarmed: alarms\.rules\.a\.stops names unknown runbooks: deploi/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fires on any series of a vector (as alerting rules do), on a scalar that is not 0 or NaN', function () {
    assert.deepEqual(fires(vector()), { fires: false, value: 'no series' });
    assert.deepEqual(fires(vector([{ instance: 'web1' }, 0.2])), { fires: true, value: '0.2 {instance="web1"}' });
    assert.deepEqual(fires(vector([{}, 0], [{}, 3])), { fires: true, value: '0 (and 1 more series)' });
    assert.deepEqual(fires(scalar(0)), { fires: false, value: '0' });
    assert.deepEqual(fires(scalar(NaN)), { fires: false, value: 'NaN' });
    assert.deepEqual(fires(scalar(2)), { fires: true, value: '2' });
    assert.throws(() => fires({ resultType: 'matrix', series: [] }), /a matrix answer/);
  });

  it('counts an alarm that cannot be read as firing, unless it says otherwise', async function () {
    const env = parse({
      alarms: {
        rules: {
          down: { query: 'up == 0' },
          quiet: { query: 'rate(x[1m]) > 1', unreadableFires: false, then: 'gate' },
        },
      },
    });
    const firing = await evaluateAlarms(Object.entries(env.alarms.rules), () =>
      Promise.reject(new Error('connect ECONNREFUSED')),
    );
    assert.deepEqual(firing, [
      { alarm: 'down', query: 'up == 0', then: 'undo', value: 'unreadable: connect ECONNREFUSED', unreadable: true },
    ]);
    // The client's typed error (activities/prometheus.ts PromError) is unreadable too.
    const typed = await evaluateAlarms(Object.entries(env.alarms.rules), () =>
      Promise.resolve({ ok: false as const, kind: 'timeout', error: 'no answer within 10s' }),
    );
    assert.deepEqual(
      typed.map((f) => f.value),
      ['unreadable: timeout: no answer within 10s'],
    );
    const fine = await evaluateAlarms(Object.entries(env.alarms.rules), (q) =>
      Promise.resolve(q === 'up == 0' ? vector() : vector([{ job: 'app' }, 5])),
    );
    assert.deepEqual(fine, [{ alarm: 'quiet', query: 'rate(x[1m]) > 1', then: 'gate', value: '5 {job="app"}' }]);
  });

  it('watches mutating runs only, and never a remediation runbook; the input cannot turn it off', function () {
    const env: Environment = parse({
      alarms: {
        interval: '5s',
        remediation: ['restore-previous'],
        rules: { errors: { query: 'x > 1' }, certs: { query: 'y > 1', stops: ['renew-certificate'] } },
      },
    });
    const spec = (name: string) => findRunbook(name)!;
    assert.deepEqual(decideAlarms(spec('deploy'), env, {}, 'olivia'), { intervalMs: 5000, names: ['errors'] });
    assert.deepEqual(decideAlarms(spec('renew-certificate'), env, {}, 'olivia')?.names, ['errors', 'certs']);
    assert.equal(decideAlarms(spec('restore-previous'), env, {}, 'olivia'), undefined, 'remediation');
    assert.equal(decideAlarms(spec('health-check'), env, {}, 'olivia'), undefined, 'reads only');
    // Whatever else the request carries, only break-glass changes what an alarm does.
    const asked = { alarms: false, noAlarms: true } as Record<string, unknown>;
    assert.deepEqual(decideAlarms(spec('deploy'), env, asked, 'olivia'), { intervalMs: 5000, names: ['errors'] });
    // Break-glass takes signed approvals from two others.
    assert.throws(
      () => decideAlarms(spec('deploy'), env, { breakGlass: 'the fix cannot wait' }, 'olivia'),
      (e: unknown) => e instanceof PolicyError && /takes signed approvals; alarmed takes typed names/.test(e.message),
    );
  });

  it('shows in the record which alarm stopped the run and the value that fired it', function () {
    const p = {
      runbook: 'deploy',
      env: 'alarmed',
      params: {},
      initiator: 'olivia',
      state: 'COMPENSATED',
      steps: [],
      gates: [],
      approvals: [],
      compensations: [],
      leftToUndo: [],
      settled: [],
      alarms: [
        {
          alarm: 'errors',
          value: '0.2 {instance="web1"}',
          query: 'x > 0.05',
          then: 'undo',
          at: '2026-12-07T10:00:00.000Z',
          before: 'switch traffic',
          outcome: 'undone',
        },
      ],
    } as unknown as RunProgress;
    const text = progressLines(p, { runId: 'r', decide: 'none' })
      .map((l) => l.text)
      .join('\n');
    assert.match(text, /! alarm errors fired \(0\.2 \{instance="web1"\}\) before switch traffic: undone/);
  });
});
