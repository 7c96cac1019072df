// No test file touches the test bed, the cache, a server or the network when it loads: all of
// that happens in hooks, after the global fixture has built what it needs. A fresh machine has
// no cache yet, so a file that reads one at load time fails the whole suite before any test.
// Checked by loading every test file (mocha --dry-run runs no hook and no test) with a cache
// directory that does not exist and no server to reach.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { tierOf } from './tiers';

describe('test files at load time', function () {
  it('load with no cache, no test bed and no server', function () {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'load-time-'));
    try {
      const cache = path.join(scratch, 'cache');
      // Named by a tier: tsc leaves a file built under a since-renamed name in dist/; no tier runs it.
      const files = fs.readdirSync(path.join(projectRoot, 'dist', 'test')).filter((f) => tierOf(f) !== undefined);
      const mocha = path.join(projectRoot, 'node_modules', 'mocha', 'bin', 'mocha.js');
      const ran = spawnSync(
        process.execPath,
        [mocha, '--no-config', '--dry-run', ...files.map((f) => path.join('dist', 'test', f))],
        {
          cwd: projectRoot,
          encoding: 'utf8',
          timeout: 60_000,
          env: {
            ...process.env,
            RUNBOOK_CACHE_DIR: cache,
            RUNBOOK_STATE_DIR: path.join(scratch, 'state'),
            TEMPORAL_ADDRESS: '127.0.0.1:1',
            HOME: scratch,
          },
        },
      );
      assert.equal(ran.status, 0, `mocha --dry-run failed:\n${ran.stdout}\n${ran.stderr}`);
      assert.ok(!fs.existsSync(cache), 'a test file created the cache directory while loading');
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
