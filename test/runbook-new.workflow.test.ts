// `runbook new <name>` in a scratch copy of the repository: the scaffold, once `npm run docs`
// regenerated what registers it and the build ran, passes its own workflow-tier test (on this
// tier's dev server) and the fast checks of the registry, the tiers and the generated files; and
// outside its folder only the index line and generated files changed. The copy is removed after.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { generatedDocs } from '../cli/docs';
import { RUNBOOK_INDEX } from '../cli/runbook-folders';

const NAME = 'hello-world';

function run(cmd: string, args: string[], cwd: string, env = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const git = (cwd: string, ...args: string[]) =>
  run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], cwd);

describe('runbook new', function () {
  this.timeout(900_000);
  let copy: string;

  before(async function () {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-new-'));
    const files = (await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], projectRoot))
      .split('\0')
      .filter((f) => f && fs.existsSync(path.join(projectRoot, f)));
    for (const file of files) {
      fs.mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
      fs.copyFileSync(path.join(projectRoot, file), path.join(copy, file));
    }
    fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(copy, 'node_modules'));
    // The build as it is, so the copy's builds are incremental.
    fs.cpSync(path.join(projectRoot, 'dist'), path.join(copy, 'dist'), { recursive: true });
    await git(copy, 'init', '-q');
    await git(copy, 'add', '-A');
    await git(copy, 'commit', '-q', '-m', 'before runbook new');
  });

  after(() => {
    if (copy) fs.rmSync(copy, { recursive: true, force: true });
  });

  it('scaffolds a runbook whose tests pass; elsewhere only its index line and generated files change', async () => {
    const node = process.execPath;
    await run(node, ['dist/cli/main.js', 'new', NAME], copy);
    await run(node, ['dist/dev/docs.js'], copy);
    await run(node, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], copy);

    const changed = (await git(copy, 'status', '--porcelain', '--untracked-files=all'))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3));
    const generated = new Set([...Object.keys(generatedDocs()), 'docs/cli.md', 'docs/inventory.md']);
    const outside = changed.filter((f) => !f.startsWith(`runbooks/${NAME}/`));
    assert.deepEqual(
      outside.filter((f) => f !== RUNBOOK_INDEX && !generated.has(f)),
      [],
      'changed outside the folder',
    );
    assert.equal((await git(copy, 'diff', '--numstat', '--', RUNBOOK_INDEX)).trim(), `1\t0\t${RUNBOOK_INDEX}`);
    assert.match(await git(copy, 'diff', '--', 'docs/runbooks.md'), new RegExp(`^\\+## ${NAME}$`, 'm'));

    // Its own test, on this tier's dev server (the environment the fixture set up).
    const mocha = path.join(projectRoot, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const own = await run(
      node,
      [mocha, '--no-config', '--timeout', '120000', `dist/runbooks/${NAME}/${NAME}.workflow.test.js`],
      copy,
    );
    assert.match(own, /1 passing/);
    // The registry, the tiers and the generated files, as the fast tier checks them.
    const fast = ['activity-registry', 'tiers', 'params'].map((t) => `dist/test/${t}.fast.test.js`);
    const checks = await run(node, [mocha, '--no-config', '--require', 'dist/test/fast-fixture.js', ...fast], copy);
    assert.doesNotMatch(checks, /failing/);
    await run(node, [path.join(projectRoot, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '.'], copy);
  });
});
