// Every test file is named by exactly one tier and each tier's config selects by name alone
// (test/tiers.ts): a file named by none would run nowhere, a list beside the glob would drift.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/config';
import { TEST_DIRS, TIERS, tierGlobs, tierOf } from './tiers';

/** Every .ts file under test/ and runbooks/, as paths relative to the project root. */
function testSources(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(projectRoot, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) found.push(rel);
    }
  };
  for (const dir of TEST_DIRS) walk(dir);
  return found;
}

function mocharc(name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(projectRoot, name), 'utf8')) as Record<string, unknown>;
}

describe('test tiers by file name', function () {
  it('names each *.test.ts under test/ and runbooks/ by exactly one tier', function () {
    const tests = testSources().filter((f) => f.endsWith('.test.ts'));
    assert.ok(tests.length > 50, `found only ${tests.length} test files under ${projectRoot}/test`);
    const unnamed = tests.filter((f) => tierOf(path.basename(f)) === undefined);
    assert.deepEqual(unnamed, [], `name each as NAME.<${TIERS.join('|')}>.test.ts`);
  });

  it('has no suite in a file that no tier runs', function () {
    const stray = testSources().filter(
      (f) => !f.endsWith('.test.ts') && /^\s*describe\(/m.test(fs.readFileSync(path.join(projectRoot, f), 'utf8')),
    );
    assert.deepEqual(stray, [], 'these files hold suites but are not named NAME.<tier>.test.ts');
  });

  it('tells the tiers apart by name alone', function () {
    assert.equal(tierOf('codec.fast.test.ts'), 'fast');
    assert.equal(tierOf('upgrade.cluster.test.js'), 'cluster');
    for (const name of ['codec.test.ts', 'codec.fast.bed.test.ts', 'codec-fast.test.ts', 'codec.slow.test.ts']) {
      assert.equal(tierOf(name), undefined, name);
    }
  });

  for (const tier of TIERS) {
    it(`.mocharc.${tier}.json selects its files by the tier's glob, with no list`, function () {
      const config = mocharc(`.mocharc.${tier}.json`);
      assert.deepEqual(config.spec, tierGlobs(tier));
      assert.equal(config.ignore, undefined);
      assert.equal(config.file, undefined);
    });
  }

  it('.mocharc.json selects nothing: `mocha <file>` runs that file alone', function () {
    // mocha adds the files named on its command line to the config's spec, never replaces it.
    assert.equal(mocharc('.mocharc.json').spec, undefined);
  });
});
