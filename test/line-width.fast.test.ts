// A reviewer reads every tracked TypeScript and JavaScript module at 120 columns (issue 14).
// Prettier keeps code within that width but never splits a string, a template literal or a
// comment, so those are checked here. Width is counted in characters, as prettier counts it,
// not in bytes: `→` or `✓` is one column.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/config';

const MAX = 120;

function trackedModules(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.mjs'], { cwd: projectRoot, encoding: 'utf8' });
  return out.split('\0').filter(Boolean);
}

describe('line width', function () {
  it(`no line of a tracked .ts or .mjs file is over ${MAX} characters`, function () {
    const files = trackedModules();
    assert.ok(files.length > 50, `git ls-files found only ${files.length} modules in ${projectRoot}`);
    const over: string[] = [];
    for (const file of files) {
      const full = path.join(projectRoot, file);
      if (!fs.existsSync(full)) continue; // deleted in the working tree, not yet committed
      fs.readFileSync(full, 'utf8')
        .split(/\r?\n/)
        .forEach((line, i) => {
          const width = [...line].length;
          if (width > MAX) over.push(`${file}:${i + 1}: ${width} characters`);
        });
    }
    assert.deepEqual(
      over,
      [],
      `lines over ${MAX} characters (split the string or rewrap the comment):\n${over.join('\n')}`,
    );
  });
});
