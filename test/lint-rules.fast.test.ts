// The lint rule that keeps workflow-safe code workflow-safe: it must fire, not merely exist.
// Lints probe text (never written to disk) as if it lived in each folder, with the repository's
// own eslint.config.mjs; type-aware rules are off so no TypeScript project is loaded.
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { projectRoot } from '../src/config';

const RULE = 'workflow-safe/imports';

describe('lint: workflow-safe folders', function () {
  this.timeout(60_000);
  let eslint: ESLint;

  before(async () => {
    const url = pathToFileURL(path.join(projectRoot, 'eslint.config.mjs')).href;
    const config = ((await import(url)) as { default: Linter.Config[] }).default;
    eslint = new ESLint({
      cwd: projectRoot,
      overrideConfigFile: true,
      overrideConfig: [...config, tseslint.configs.disableTypeChecked as Linter.Config],
    });
  });

  /** The rule's messages for `code` linted as if it were `file`, one per refused import. */
  async function refused(file: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: path.join(projectRoot, file) });
    return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
  }

  for (const dir of ['common', 'workflows', 'workflows/kernel']) {
    const up = '../'.repeat(dir.split('/').length);
    it(`${dir}/ may not import a Node built-in`, async () => {
      const nodeFs = "import * as fs from 'node:fs';\nexport const x = fs;\n";
      const bare = "import { join } from 'path';\nexport const x = join;\n";
      assert.equal((await refused(`${dir}/probe.ts`, nodeFs)).length, 1);
      assert.equal((await refused(`${dir}/probe.ts`, bare)).length, 1);
    });

    it(`${dir}/ may import activities and worker-side code as types only`, async () => {
      const values = [
        `import { runCommand } from '${up}activities';`,
        `import { pool } from '${up}activities/ssh/pool';`,
        `import { loadEnvironment } from '${up}src/inventory';`,
        'export const x = [runCommand, pool, loadEnvironment];',
      ].join('\n');
      assert.equal((await refused(`${dir}/probe.ts`, values)).length, 3);
      const types = [
        `import type * as activities from '${up}activities';`,
        `import { type Environment } from '${up}src/inventory';`,
        `export type { Outcome } from '${up}activities/db-password';`,
        'export type A = [typeof activities, Environment];',
      ].join('\n');
      assert.deepEqual(await refused(`${dir}/probe.ts`, types), []);
    });

    it(`${dir}/ may import values from @temporalio/workflow, @temporalio/common and workflow-safe files`, async () => {
      const code = [
        "import { sleep } from '@temporalio/workflow';",
        "import { ApplicationFailure } from '@temporalio/common';",
        `import { RESTORE_STEPS } from '${up}common/step-names';`,
        `import { runbook } from '${up}workflows/kernel';`,
        `export * from '${up}workflows/kernel/saga';`,
        'export const x = [sleep, ApplicationFailure, RESTORE_STEPS, runbook];',
      ].join('\n');
      assert.deepEqual(await refused(`${dir}/probe.ts`, code), []);
    });

    it(`${dir}/ may import values from no other package, by any form of import`, async () => {
      const code = [
        "import { Worker } from '@temporalio/worker';", // the SDK's worker side, not the workflow's
        "import { Context } from '@temporalio/activity';",
        "import '@temporalio/common/lib/converter/payload-converter';", // a deep path is not the package
        "import YAML from 'yaml';",
        `import '${up}src/config';`, // for its side effects
        `export * from '${up}activities';`,
        `export { pool } from '${up}activities/ssh/pool';`,
        `import fs = require('node:fs');`,
        "export const later = () => import('node:child_process');",
        `export const x = [Worker, Context, YAML, fs, require('${up}worker/main')];`,
      ].join('\n');
      assert.equal((await refused(`${dir}/probe.ts`, code)).length, 10);
    });
  }

  it('resolves a relative path before deciding: a detour out of workflows/ is refused', async () => {
    const code = "import { pool } from './../../activities/ssh/pool';\nexport const x = pool;\n";
    assert.equal((await refused('workflows/kernel/probe.ts', code)).length, 1);
  });

  it('worker-side code may import Node built-ins and activities', async () => {
    const code =
      "import * as fs from 'node:fs';\nimport { pool } from '../activities/ssh/pool';\n" +
      'export const x = [fs, pool];';
    assert.deepEqual(await refused('src/probe.ts', code), []);
  });
});

describe('lint: inventory vars read with their declared types', function () {
  this.timeout(60_000);
  let eslint: ESLint;

  before(async () => {
    const url = pathToFileURL(path.join(projectRoot, 'eslint.config.mjs')).href;
    const config = ((await import(url)) as { default: Linter.Config[] }).default;
    eslint = new ESLint({
      cwd: projectRoot,
      overrideConfigFile: true,
      overrideConfig: [...config, tseslint.configs.disableTypeChecked as Linter.Config],
    });
  });

  async function refused(file: string, code: string): Promise<number> {
    const [result] = await eslint.lintText(code, { filePath: path.join(projectRoot, file) });
    return result.messages.filter((m) => m.ruleId === 'no-restricted-syntax' && /declared types/.test(m.message))
      .length;
  }

  const untyped = [
    'declare const e: { vars: Record<string, unknown> }; declare const name: string; const { vars } = e;',
    'export const a = e.vars[name];',
    "export const b = e?.vars['appDir'];",
    'export const c = vars[name];',
    'export const d = e.vars.backupStore as { host: string };',
    'export const f = (e.vars.backupRetention ?? {}) as { daily?: number };',
    'export const g = vars.appDir as string;',
    'export const h = <string>e.vars.appDir;',
  ].join('\n');

  it('refuses a var read by a computed key or a cast, anywhere but the inventory module', async () => {
    for (const file of ['activities/probe.ts', 'src/probe.ts', 'workflows/probe.ts', 'test/probe.ts'])
      assert.equal(await refused(file, untyped), 7, file);
    assert.equal(await refused('src/vars.ts', untyped), 0);
    assert.equal(await refused('src/inventory.ts', untyped), 0);
  });

  it('lets a typed read through', async () => {
    const code = [
      "import { requiredVar } from '../src/vars';",
      'declare const e: { vars: { appPort: number; appDir?: string } };',
      "export const x = [e.vars.appPort, e.vars.appDir ?? '/srv', requiredVar(e as never, 'appDir')];",
    ].join('\n');
    assert.equal(await refused('activities/probe.ts', code), 0);
  });
});
