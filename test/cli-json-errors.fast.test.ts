// With --json a script reads errors as it reads results: one JSON object on stdout,
// {"error", "exitCode"}, with the same exit code as without --json, and nothing on stderr.
import { strict as assert } from 'node:assert';
import { runbookCli, type Ran } from './helpers';

const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };

function jsonError(ran: Ran): { error: string; exitCode: number } {
  assert.equal(ran.stderr, '', 'nothing on stderr');
  const lines = ran.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stdout, got:\n${ran.stdout}`);
  const parsed = JSON.parse(lines[0]) as { error: string; exitCode: number };
  assert.deepEqual(Object.keys(parsed).sort(), ['error', 'exitCode']);
  assert.equal(parsed.exitCode, ran.code, 'the object says the exit code the process exits with');
  return parsed;
}

describe('runbook --json errors', function () {
  const cases: { args: string[]; exitCode: number; error: RegExp }[] = [
    { args: ['frobnicate'], exitCode: 2, error: /^unknown command "frobnicate"/ },
    { args: ['start', 'smoke', '--env', 'nowhere'], exitCode: 2, error: /^unknown environment "nowhere"/ },
    { args: ['start', 'smoke', '--env', 'test', '--bogus', 'x'], exitCode: 2, error: /Unknown option '--bogus'/ },
    { args: ['status', '../../etc/passwd'], exitCode: 2, error: /^invalid run id/ },
    { args: ['start', 'smoke', '--env', 'test'], exitCode: 3, error: /^cannot reach Temporal at 127\.0\.0\.1:1/ },
  ];
  for (const { args, exitCode, error } of cases) {
    it(`runbook ${args.join(' ')} --json: exit ${exitCode}, the error as JSON`, async function () {
      const plain = await runbookCli(args, unreachable);
      assert.equal(plain.code, exitCode, plain.stderr);
      assert.match(plain.stderr, /^runbook: /, 'without --json: a line on stderr');
      const ran = await runbookCli([...args, '--json'], unreachable);
      assert.equal(ran.code, exitCode);
      assert.match(jsonError(ran).error, error);
    });
  }
});
