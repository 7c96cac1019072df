// A 100-host run as status and watch show it: a count per outcome, the hosts that need a look
// and the slowest, in a few lines; history shows every host.
import { strict as assert } from 'node:assert';
import { hostLines } from '../common/host-lines';
import type { HostRecord, RunProgress } from '../common/shared';

const text = (value: unknown) => String(value);

function fleetRun(size: number): RunProgress {
  const hosts: HostRecord[] = Array.from({ length: size }, (_, i) => ({
    host: `web-${String(i + 1).padStart(3, '0')}`,
    batch: 1 + Math.floor(i / 25),
    outcome: i % 40 === 7 ? 'failed' : 'ok',
    exitCode: i % 40 === 7 ? 1 : 0,
    durationMs: 1000 + ((i * 37) % 100) * 10,
    ...(i % 40 === 7 ? { error: 'exit 1' } : {}),
  }));
  return { hosts } as RunProgress;
}

describe('host lines of a fleet run', function () {
  it('keeps a 100-host run to a few lines: counts, failed hosts, the slowest', function () {
    const lines = hostLines(fleetRun(100), false, text);
    assert.equal(lines[0], 'hosts: 97 ok, 3 failed');
    assert.deepEqual(
      lines.filter((l) => l.includes(': batch')).map((l) => l.trim().split(':')[0]),
      ['web-008', 'web-048', 'web-088'],
    );
    const slowest = lines.find((l) => l.trim().startsWith('slowest:'));
    assert.ok(slowest, lines.join('\n'));
    // The three longest durations among the hosts not listed above.
    assert.equal((slowest.match(/web-\d{3}/g) ?? []).length, 3);
    assert.match(lines.at(-1)!, /97 more hosts without trouble: runbook history shows each/);
    assert.ok(lines.length <= 7, `${lines.length} lines`);
  });

  it('lists every host in history, and every host of a small fleet', function () {
    assert.equal(hostLines(fleetRun(100), true, text).length, 101);
    const small = hostLines(fleetRun(8), false, text);
    assert.equal(small.length, 9);
    assert.equal(
      small.some((l) => l.includes('slowest')),
      false,
    );
  });
});
