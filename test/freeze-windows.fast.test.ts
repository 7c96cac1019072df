// Freeze windows evaluated on the worker (src/freeze.ts): recurring windows in IANA timezones
// across DST transitions, dated windows, chained windows, per-runbook rules and exemptions, and
// their declaration in the inventory. Every instant is given: nothing here reads the clock.
import { strict as assert } from 'node:assert';
import { parseEnvironment } from '../src/inventory';
import { freezeAt, nextFreezeStart, zonedToUtc, type Freezes } from '../src/freeze';
import { decideFreeze, FrozenError, nextFreeze } from '../src/policy';
import { RUNBOOKS } from '../src/runbooks';
import { progressLines } from '../common/progress-view';
import type { RunProgress } from '../common/shared';

const at = (iso: string) => Date.parse(iso);
const freezes = (over: Partial<Freezes>): Freezes => ({ windows: [], exempt: [], runbooks: {}, ...over });

describe('freeze windows', function () {
  it('turns local wall times into instants across DST, as Temporal (TC39) does', function () {
    const paris = 'Europe/Paris';
    // Winter (UTC+1) and summer (UTC+2).
    assert.equal(zonedToUtc({ year: 2026, month: 1, day: 15, hour: 9, minute: 0 }, paris), at('2026-01-15T08:00:00Z'));
    assert.equal(zonedToUtc({ year: 2026, month: 7, day: 15, hour: 9, minute: 0 }, paris), at('2026-07-15T07:00:00Z'));
    // 2026-03-29 02:00 jumps to 03:00: 02:30 does not exist and is moved on by the gap.
    assert.equal(zonedToUtc({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, paris), at('2026-03-29T01:30:00Z'));
    // 2026-10-25 03:00 goes back to 02:00: 02:30 happens twice; the first is taken.
    assert.equal(
      zonedToUtc({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, paris),
      at('2026-10-25T00:30:00Z'),
    );
    // New York changes on other days, the other way round from the southern hemisphere.
    const ny = 'America/New_York';
    assert.equal(zonedToUtc({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, ny), at('2026-03-08T07:30:00Z'));
    assert.equal(zonedToUtc({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, ny), at('2026-11-01T05:30:00Z'));
    const sydney = 'Australia/Sydney';
    assert.equal(zonedToUtc({ year: 2026, month: 1, day: 15, hour: 9, minute: 0 }, sydney), at('2026-01-14T22:00:00Z'));
  });

  it('holds a nightly window that is an hour shorter on the night the clocks go forward', function () {
    const f = freezes({
      timezone: 'Europe/Paris',
      windows: [{ name: 'nightly', days: ['sun'], from: '01:00', to: '04:00' }],
    });
    // 01:00 CET = 00:00Z; 04:00 CEST = 02:00Z: two hours, not three.
    assert.deepEqual(freezeAt(f, 'deploy', at('2026-03-28T23:59:00Z')), { frozen: false });
    const s = freezeAt(f, 'deploy', at('2026-03-29T00:00:00Z'));
    assert.deepEqual(s, {
      frozen: true,
      window: 'nightly',
      opensAt: '2026-03-29T02:00:00.000Z',
      opensAtLocal: 'sun 2026-03-29 04:00 Europe/Paris',
    });
    assert.deepEqual(freezeAt(f, 'deploy', at('2026-03-29T02:00:00Z')), { frozen: false });
  });

  it('holds it an hour longer on the night the clocks go back', function () {
    const f = freezes({
      timezone: 'Europe/Paris',
      windows: [{ name: 'nightly', days: ['sun'], from: '01:00', to: '04:00' }],
    });
    // 01:00 CEST = 2026-10-24 23:00Z; 04:00 CET = 03:00Z: four hours.
    assert.deepEqual(freezeAt(f, 'deploy', at('2026-10-24T22:59:00Z')), { frozen: false });
    const s = freezeAt(f, 'deploy', at('2026-10-25T02:30:00Z'));
    assert.equal(s.frozen && s.opensAt, '2026-10-25T03:00:00.000Z');
  });

  it('starts a window at a skipped time when the skipped hour ends', function () {
    const f = freezes({
      timezone: 'Europe/Paris',
      windows: [{ name: 'odd', days: ['sun'], from: '02:30', to: '05:00' }],
    });
    assert.deepEqual(freezeAt(f, 'deploy', at('2026-03-29T01:29:00Z')), { frozen: false });
    assert.equal(freezeAt(f, 'deploy', at('2026-03-29T01:30:00Z')).frozen, true);
  });

  it('carries a window past midnight into the next day, and chains windows to the real opening', function () {
    const f = freezes({
      timezone: 'America/New_York',
      windows: [
        { name: 'friday-night', days: ['fri'], from: '18:00', to: '00:00' },
        { name: 'weekend', days: ['sat', 'sun'], from: '00:00', to: '24:00' },
        { name: 'monday-early', days: ['mon'], from: '00:00', to: '07:00' },
      ],
    });
    // Friday 2026-12-04 17:59 EST is open; 18:00 is frozen until Monday 07:00 EST = 12:00Z.
    assert.deepEqual(freezeAt(f, 'deploy', at('2026-12-04T22:59:00Z')), { frozen: false });
    const s = freezeAt(f, 'deploy', at('2026-12-04T23:00:00Z'));
    assert.deepEqual(s, {
      frozen: true,
      window: 'friday-night',
      opensAt: '2026-12-07T12:00:00.000Z',
      opensAtLocal: 'mon 2026-12-07 07:00 America/New_York',
    });
    const overnight = freezes({ windows: [{ name: 'night', days: ['mon'], from: '22:00', to: '06:00' }] });
    const tuesday = freezeAt(overnight, 'deploy', at('2026-12-08T05:00:00Z'));
    assert.equal(tuesday.frozen && tuesday.opensAt, '2026-12-08T06:00:00.000Z');
    assert.deepEqual(freezeAt(overnight, 'deploy', at('2026-12-09T05:00:00Z')), { frozen: false });
  });

  it('holds dated windows, local to their timezone or with an offset, end excluded', function () {
    const f = freezes({
      timezone: 'Europe/Paris',
      windows: [
        { name: 'year-end', start: '2026-12-23T00:00', end: '2027-01-04T09:00' },
        { name: 'audit', start: '2027-02-01T10:00:00Z', end: '2027-02-01T12:00:00Z', timezone: 'Asia/Tokyo' },
      ],
    });
    assert.deepEqual(freezeAt(f, 'deploy', at('2026-12-22T22:59:59Z')), { frozen: false });
    const s = freezeAt(f, 'deploy', at('2026-12-22T23:00:00Z'));
    assert.equal(s.frozen && s.opensAt, '2027-01-04T08:00:00.000Z');
    assert.deepEqual(freezeAt(f, 'deploy', at('2027-01-04T08:00:00Z')), { frozen: false });
    assert.equal(freezeAt(f, 'deploy', at('2027-02-01T11:00:00Z')).frozen, true);
  });

  it("applies a runbook's own windows to it alone, and never holds an exempt runbook", function () {
    const f = freezes({
      windows: [{ name: 'change-freeze', start: '2026-12-01T00:00Z', end: '2027-01-01T00:00Z' }],
      exempt: ['backup', 'renew-certificate'],
      runbooks: { 'rolling-deploy': [{ name: 'no-fleet-deploys', days: ['mon'], from: '00:00', to: '12:00' }] },
    });
    const dec = at('2026-12-07T08:00:00Z'); // a Monday
    assert.equal(freezeAt(f, 'deploy', dec).frozen, true);
    assert.deepEqual(freezeAt(f, 'backup', dec), { frozen: false });
    assert.deepEqual(freezeAt(f, 'renew-certificate', dec), { frozen: false });
    const january = at('2027-01-04T08:00:00Z'); // a Monday too
    assert.deepEqual(freezeAt(f, 'deploy', january), { frozen: false });
    const fleet = freezeAt(f, 'rolling-deploy', january);
    assert.deepEqual(fleet.frozen && [fleet.window, fleet.opensAt], ['no-fleet-deploys', '2027-01-04T12:00:00.000Z']);
  });

  it('says a freeze that never opens within the horizon has no opening', function () {
    const f = freezes({
      windows: [
        { name: 'always', days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], from: '00:00', to: '24:00' },
      ],
    });
    assert.deepEqual(freezeAt(f, 'deploy', at('2026-12-07T08:00:00Z')), { frozen: true, window: 'always' });
  });

  it('finds the next window to begin, for a run going when it does', function () {
    const day = 86_400_000;
    const f = freezes({
      timezone: 'Europe/Paris',
      windows: [
        { name: 'sunday-night', days: ['sun'], from: '02:30', to: '05:00' },
        { name: 'year-end', start: '2026-12-23T00:00', end: '2027-01-04T09:00' },
      ],
      exempt: ['backup'],
    });
    // Saturday 2026-03-28: the next is Sunday's, whose 02:30 the clocks skip (03:30 CEST = 01:30Z).
    assert.deepEqual(nextFreezeStart(f, 'deploy', at('2026-03-28T12:00:00Z'), 8 * day), {
      window: 'sunday-night',
      startsAt: '2026-03-29T01:30:00.000Z',
    });
    assert.equal(nextFreezeStart(f, 'deploy', at('2026-03-28T12:00:00Z'), 3_600_000), undefined);
    assert.equal(nextFreezeStart(f, 'backup', at('2026-03-28T12:00:00Z'), 8 * day), undefined);
    // Tuesday 2026-12-22: the dated window begins first.
    assert.deepEqual(nextFreezeStart(f, 'deploy', at('2026-12-22T12:00:00Z'), 8 * day), {
      window: 'year-end',
      startsAt: '2026-12-22T23:00:00.000Z',
    });
  });

  describe('in the inventory', function () {
    const base = `
environment: prod
approvals: { required: 1, approvers: [alice], timeout: 30m }
hosts:
  web-1: { address: 10.0.0.5, roles: [web] }
`;
    const declared = `${base}
freezes:
  timezone: Europe/Paris
  windows:
    - { name: weekend, days: [sat, sun], from: "00:00", to: "24:00" }
    - { name: year-end, start: "2026-12-23T00:00", end: "2027-01-04T09:00" }
  exempt: [backup, renew-certificate]
  runbooks:
    rolling-deploy:
      - { name: mornings, days: [mon], from: "00:00", to: "10:00", timezone: America/New_York }
`;

    it('reads recurring and dated windows, exemptions and per-runbook windows', function () {
      const env = parseEnvironment(declared, 'prod.yaml');
      assert.equal(env.freezes.windows.length, 2);
      assert.deepEqual(env.freezes.exempt, ['backup', 'renew-certificate']);
      assert.equal(freezeAt(env.freezes, 'deploy', at('2026-12-05T12:00:00Z')).frozen, true);
      assert.deepEqual(parseEnvironment(base, 'prod.yaml').freezes, { windows: [], exempt: [], runbooks: {} });
    });

    it('refuses what cannot be evaluated, naming the place', function () {
      const cases: [string, RegExp][] = [
        [
          declared.replace('timezone: Europe/Paris', 'timezone: Mars/Olympus'),
          /freezes\.timezone: "Mars\/Olympus" is not an IANA timezone/,
        ],
        [
          declared.replace('timezone: America/New_York', 'timezone: EST5EDT;rm'),
          /freezes\.runbooks\.rolling-deploy\.0\.timezone/,
        ],
        [declared.replace('to: "24:00" }', 'to: "25:00" }'), /freezes\.windows\.0\.to: must match pattern/],
        [
          declared.replace('days: [sat, sun]', 'days: [saturday]'),
          /freezes\.windows\.0\.days\.0: must be equal to one of the allowed values/,
        ],
        [
          declared.replace('end: "2027-01-04T09:00"', 'end: "2026-12-01T00:00"'),
          /freezes\.windows\.1 \(year-end\): end .* is not after start/,
        ],
        [
          declared.replace('start: "2026-12-23T00:00"', 'start: "next week"'),
          /freezes\.windows\.1\.start: must match pattern/,
        ],
        [declared.replace('exempt: [backup', 'exempt: [Backup'), /freezes\.exempt\.0: must match pattern/],
        [declared.replace('{ name: weekend,', '{ name: weekend, every: day,'), /unknown key "every"/],
      ];
      for (const [text, error] of cases) assert.throws(() => parseEnvironment(text, 'prod.yaml'), error);
    });
  });
});

describe('a freeze at admission (decideFreeze) and in the record', function () {
  const text = `
environment: prod
protected: true
approvals: { required: 1, approvers: [alice, bob, olivia], timeout: 30m }
hosts:
  web-1: { address: 10.0.0.5, roles: [web] }
freezes:
  windows:
    - { name: year-end, start: "2026-12-23T00:00Z", end: "2027-01-04T09:00Z" }
  exempt: [backup]
`;
  const env = parseEnvironment(text, 'prod.yaml');
  env.identity = 'signed';
  const inFreeze = at('2026-12-24T12:00:00Z');
  const spec = (name: string) => RUNBOOKS.find((r) => r.name === name)!;
  const reason = 'payments are down, incident 4711';

  it('refuses a mutating run, naming the window and when it opens; not an exempt or read-only one', function () {
    assert.throws(
      () => decideFreeze(spec('deploy'), env, {}, 'olivia', inFreeze),
      (err: Error) =>
        err instanceof FrozenError &&
        err.message.startsWith(
          'prod is frozen for deploy (window year-end): it opens mon 2027-01-04 09:00 UTC (2027-01-04T09:00:00.000Z)',
        ),
    );
    assert.equal(decideFreeze(spec('backup'), env, {}, 'olivia', inFreeze), undefined);
    assert.equal(decideFreeze(spec('health-check'), env, {}, 'olivia', inFreeze), undefined);
    assert.equal(decideFreeze(spec('deploy'), env, {}, 'olivia', at('2027-01-04T09:00:00Z')), undefined);
  });

  it('holds a run asked to wait or to break glass, and says how', function () {
    const wait = decideFreeze(spec('deploy'), env, { waitForWindow: true }, 'olivia', inFreeze);
    assert.deepEqual([wait?.then, wait?.opensAt], ['wait', '2027-01-04T09:00:00.000Z']);
    const glass = decideFreeze(spec('deploy'), env, { breakGlass: `  ${reason}\u001b[2J ` }, 'olivia', inFreeze);
    assert.deepEqual([glass?.then, glass?.reason], ['break-glass', reason]);
  });

  it('refuses a break-glass that two others could not approve, or without a reason', function () {
    const typed = { ...env, identity: 'typed' as const };
    assert.throws(() => decideFreeze(spec('deploy'), typed, { breakGlass: reason }, 'olivia', inFreeze), /takes typed/);
    const few = { ...env, approvals: { ...env.approvals, approvers: ['alice', 'olivia'] } };
    assert.throws(
      () => decideFreeze(spec('deploy'), few, { breakGlass: reason }, 'olivia', inFreeze),
      /break-glass needs 2 approvers other than olivia, and prod lists alice/,
    );
    assert.throws(() => decideFreeze(spec('deploy'), env, { breakGlass: 'now' }, 'olivia', inFreeze), /10 to 500/);
    assert.throws(
      () => decideFreeze(spec('deploy'), env, { breakGlass: reason, waitForWindow: true }, 'olivia', inFreeze),
      /one or the other/,
    );
  });

  it('gives a run the next window that would stop it, past the one it got through', function () {
    const later = at('2026-12-20T12:00:00Z');
    assert.deepEqual(nextFreeze(spec('deploy'), env, later), {
      window: 'year-end',
      startsAt: '2026-12-23T00:00:00.000Z',
    });
    assert.equal(nextFreeze(spec('health-check'), env, later), undefined);
    const glass = decideFreeze(spec('deploy'), env, { breakGlass: reason }, 'olivia', inFreeze);
    assert.equal(nextFreeze(spec('deploy'), env, inFreeze, glass), undefined);
  });

  it('shows in status what held the run and how it went on', function () {
    const lines = (freeze: RunProgress['freeze']) =>
      progressLines({ ...progressOf(), freeze }, { runId: 'r1', decide: 'cli' }).map((l) => l.text.trim());
    const base = { window: 'year-end', opensAtLocal: 'mon 2027-01-04 09:00 UTC' };
    assert.ok(
      lines({ ...base, then: 'break-glass', reason, approvedBy: ['alice', 'bob'] }).includes(
        `! break glass at freeze window year-end (opens mon 2027-01-04 09:00 UTC): ${reason}; approved by alice, bob`,
      ),
    );
    assert.ok(
      lines({ ...base, then: 'wait' }).includes(
        '⏸ waits for freeze window year-end (opens mon 2027-01-04 09:00 UTC) to open',
      ),
    );
  });
});

function progressOf(): RunProgress {
  return {
    runbook: 'deploy',
    env: 'prod',
    params: {},
    initiator: 'olivia',
    state: 'RUNNING',
    steps: [],
    gates: [],
    approvals: [],
    compensations: [],
    leftToUndo: [],
    settled: [],
  } as unknown as RunProgress;
}
