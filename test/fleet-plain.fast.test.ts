// The fleet bench's plain script (bench/fleet-plain.ts) runs exactly the commands a run recorded
// (activities/ssh/record.ts): each on its host, in each host's order, step after step, stdin
// included, and checkRan() refuses a script that ran anything else. Run here with a stand-in
// `ssh` that only logs what it was asked, so no host is needed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkRan, perHost, withRunId, writePlainScript } from '../bench/fleet-plain';
import { recordCommand, type RecordedCommand } from '../activities/ssh/record';
import type { SshTarget } from '../activities/ssh/target';

const target = (n: number): SshTarget => ({
  name: `fleet/web-0${n}`,
  address: `10.0.0.${n}`,
  port: 22,
  username: 'root',
  knownHostsPath: '/dev/null',
});

describe('the fleet bench: a plain script of the recorded commands', function () {
  let dir = '';
  let commands: RecordedCommand[] = [];
  let env: NodeJS.ProcessEnv = {};

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-plain-'));
    const record = path.join(dir, 'record.jsonl');
    process.env.RUNBOOK_SSH_RECORD = record;
    try {
      // Two steps: installOnHost on three hosts (two commands each), then one command on host 1.
      for (const n of [1, 2, 3]) {
        recordCommand(target(n), `'git' 'checkout' 'run-R1-${n}'`)(0);
        recordCommand(target(n), `'cat' '>' 'file'`, `secret-${n}\n`)(n === 2 ? 1 : 0);
      }
      recordCommand(target(1), `'nginx' '-s' 'reload'`)(0);
    } finally {
      delete process.env.RUNBOOK_SSH_RECORD;
    }
    commands = fs
      .readFileSync(record, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as RecordedCommand)
      .map((c, i) => ({ ...c, activity: i < 6 ? 'installOnHost' : 'switchUpstream' }));
    // A stand-in ssh: logs "address command stdin" (its last argument is the command line).
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(
      path.join(bin, 'ssh'),
      `#!/usr/bin/env bash\nfor a; do :; done; h=\${@: -2:1}; echo "\${h#*@} $a $(cat)" >>${dir}/calls\n`,
      { mode: 0o755 },
    );
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('records only while RUNBOOK_SSH_RECORD is set', function () {
    recordCommand(target(1), 'true')(0);
    assert.equal(fs.existsSync(path.join(dir, 'record.jsonl')), true);
    assert.equal(fs.readFileSync(path.join(dir, 'record.jsonl'), 'utf8').split('\n').filter(Boolean).length, 7);
  });

  it('runs every command once on its host, in order per host, step after step, with its stdin', function () {
    const fresh = withRunId(commands, ['R1'], 'P9');
    const plain = writePlainScript(path.join(dir, 'p'), fresh, ['-o', 'BatchMode=yes'], 2, `${dir}/m-%h`);
    assert.deepEqual(
      plain.steps.map((s) => [s.activity, s.hosts.length]),
      [
        ['installOnHost', 3],
        ['switchUpstream', 1],
      ],
    );
    execFileSync('bash', [plain.script], { env });
    checkRan(plain);
    const calls = fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n');
    assert.equal(calls.length, 7);
    for (const n of [1, 2, 3]) {
      assert.deepEqual(calls.filter((c) => c.startsWith(`10.0.0.${n} `)).slice(0, 2), [
        `10.0.0.${n} 'git' 'checkout' 'run-P9-${n}' `,
        `10.0.0.${n} 'cat' '>' 'file' secret-${n}`,
      ]);
    }
    assert.equal(calls[6], `10.0.0.1 'nginx' '-s' 'reload'`, 'the second step after the first');
    assert.deepEqual(Object.keys(perHost(fresh)), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  it('refuses a script that left out a command or ran one elsewhere', function () {
    const plain = writePlainScript(path.join(dir, 'p'), commands, [], 2, `${dir}/m-%h`);
    execFileSync('bash', [plain.script], { env });
    const ran = path.join(plain.dir, 'ran');
    const lines = fs.readFileSync(ran, 'utf8').trim().split('\n');
    fs.writeFileSync(ran, `${lines.slice(1).join('\n')}\n`);
    assert.throws(() => checkRan(plain), /ran 6 of the 7 recorded commands/);
    fs.writeFileSync(ran, `${lines.map((l) => l.replace(/ 10\.0\.0\.1$/, ' 10.0.0.2')).join('\n')}\n`);
    assert.throws(() => checkRan(plain), /not what the run recorded/);
  });
});
