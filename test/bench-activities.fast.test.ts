// The bench's worker (bench/activities.ts) has every activity the workflow kernel calls: without
// one, a bench run fails at its first step and `npm run bench` measures nothing, as happened
// once when the kernel's first step became the worker's rules (decideRunRules).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as benchActivities from '../bench/activities';
import { projectRoot } from '../src/config';

/** The activities the kernel's files take from `stepActivities`. */
function kernelActivities(): string[] {
  const dir = path.join(projectRoot, 'workflows', 'kernel');
  const names = new Set<string>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/const \{([^}]+)\} = stepActivities/g))
      for (const name of m[1].split(',')) names.add(name.trim());
  }
  return [...names].sort();
}

describe('the bench worker', function () {
  it('registers every activity the workflow kernel calls', function () {
    const called = kernelActivities();
    assert.ok(called.includes('decideRunRules'), `found in workflows/kernel: ${called.join(', ')}`);
    const bench: Record<string, unknown> = benchActivities;
    assert.deepEqual(
      called.filter((name) => typeof bench[name] !== 'function'),
      [],
      'missing from bench/activities.ts',
    );
  });
});
