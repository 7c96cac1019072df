// The pinned Temporal CLI, as `npm run --silent temporal -- --version` finds it.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../src/config';

const script = path.join(projectRoot, 'scripts', 'temporal-cli.sh');
const pinned = /^TEMPORAL_CLI_VERSION=(\S+)$/m.exec(fs.readFileSync(script, 'utf8'))?.[1];

describe('pinned Temporal CLI', function () {
  it('pins one version, in scripts/temporal-cli.sh', function () {
    assert.match(pinned ?? '', /^\d+\.\d+\.\d+$/);
  });

  it('npm run --silent temporal -- --version prints the pinned version', function () {
    const out = execFileSync('npm', ['run', '--silent', 'temporal', '--', '--version'], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    assert.match(out, new RegExp(`^temporal version ${pinned!.replace(/\./g, '\\.')} `));
  });

  it('honours TEMPORAL_CLI before anything else, and refuses one that is not executable', function () {
    const found = execFileSync('bash', [script, '--path'], {
      env: { ...process.env, TEMPORAL_CLI: process.execPath },
      encoding: 'utf8',
    });
    assert.equal(found.trim(), process.execPath);
    assert.throws(
      () =>
        execFileSync('bash', [script, '--path'], {
          env: { ...process.env, TEMPORAL_CLI: '/nonexistent/temporal' },
          stdio: 'pipe',
        }),
      /is not an executable file/,
    );
  });
});
