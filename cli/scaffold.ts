// What `runbook new <name>` writes into runbooks/<name>/: a definition, a workflow with one step
// and its undo behind the runbook's four-eyes gate, its activities (with their registry kinds),
// stand-ins for the workflow tier and a workflow-tier test against them. The rest of what the
// worker, the bundle and the CLI need is generated from the index line (cli/runbook-folders.ts).

/** `rotate-db-password` as an identifier: `rotateDbPassword`. */
export function camelName(folder: string): string {
  return folder.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The files of a new runbook's folder, by path from the repository's root. */
export function scaffoldFiles(name: string): Record<string, string> {
  const id = camelName(name);
  const Id = id[0].toUpperCase() + id.slice(1);
  const act = `${id}Step`;
  const undo = `undo${Id}Step`;
  const dir = `runbooks/${name}`;
  return {
    [`${dir}/definition.ts`]: `// ${name}: its parameters, steps' names and definition (what the CLI, the
// worker's checks, the dry run and docs/runbooks.md read). Workflow-safe: its workflow imports the step names.
import { defineParams } from '../../common/params';
import { defineRunbook, type RunbookSpec } from '../../common/runbook-definition';

export const PARAMS = defineParams({});

export const STEPS = { gate: '${name}', step: 'the first step' } as const;

export const DEFINITIONS: RunbookSpec[] = [
  defineRunbook({
    name: '${name}',
    workflow: '${id}',
    description: 'what ${name} does, in one sentence',
    mutating: true,
    params: PARAMS,
    protectedGates: [STEPS.gate],
  }),
];
`,
    [`${dir}/workflow.ts`]: `// ${name}: the procedure, each step beside its undo.
// Workflow code: no I/O, activities as types only.
import { workflowInfo } from '@temporalio/workflow';
import type * as activities from './activities';
import type { ParamsOf } from '../../common/params';
import type { RunInput, RunResult } from '../../common/shared';
import { runbook, stepActivities, undoActivities } from '../../workflows/kernel';
import { STEPS, type PARAMS } from './definition';

const { ${act} } = stepActivities<typeof activities>({ startToCloseTimeout: '1 minute' });
const { ${undo} } = undoActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

export type ${Id}Params = ParamsOf<typeof PARAMS>;

export async function ${id}(input: RunInput<${Id}Params>): Promise<RunResult> {
  const at = { env: input.env, runId: workflowInfo().workflowId };
  return runbook(input, async ({ step, gate }) => {
    // Four eyes where the worker's rules say (a protected environment), before anything changes.
    await gate(STEPS.gate);
    await step(STEPS.step, {
      run: () => ${act}(at),
      undo: () => ${undo}(at),
      plan: { where: 'worker', does: 'the first step', undo: 'undo the first step' },
    });
  });
}
`,
    [`${dir}/activities.ts`]: `// ${name}'s activities: one small function per action, taking one object, safe to retry.
import type { ActivityKinds } from '../../activities/registry';

export interface StepInput {
  env: string;
  runId: string;
}

/** The first step. */
export async function ${act}(input: StepInput): Promise<{ changed: boolean }> {
  void input;
  return { changed: false };
}

/** Its undo: safe when the step did nothing. */
export async function ${undo}(input: StepInput): Promise<{ changed: boolean }> {
  void input;
  return { changed: false };
}

/** What each activity does, for the registry (activities/registry.ts): admission, reads or acts. */
export default { ${act}: 'acts', ${undo}: 'acts' } satisfies ActivityKinds;
`,
    [`${dir}/stubs.ts`]: `// ${name} in the workflow tier:
// a stand-in for each activity, the parameters of its test runs.
import type * as activities from './activities';
import { called, runbookStubs } from '../../test/runbook-stubs';

export default runbookStubs<typeof activities>({
  stubs: {
    ${act}: async () => ({ changed: true }),
    ${undo}: async () => ({ changed: true }),
  },
  params: { '${name}': {} },
  acted: { '${name}': (calls) => called(calls, '${act}') },
});
`,
    [`${dir}/${name}.workflow.test.ts`]: `// ${name} on the dev server
// against its stand-ins: its step runs, and nothing is undone.
import assert from 'node:assert/strict';
import type { RunResult } from '../../common/shared';
import { startTestRun, uniqueQueue, withWorker } from '../../test/helpers';
import type { ActivityCall } from '../../test/plan-facts';
import { stubActivities } from '../../test/stub-activities';
import { STEPS } from './definition';

describe('${name} (stub activities)', function () {
  it('runs its step', async function () {
    const calls: ActivityCall[] = [];
    const queue = uniqueQueue('${name}');
    const result = await withWorker(
      queue,
      async () => (await startTestRun(queue, { runbook: '${name}', env: 'local' })).result() as Promise<RunResult>,
      stubActivities(calls),
    );
    assert.equal(result.state, 'COMPLETED', result.progress.reason);
    assert.ok(result.progress.steps.some((s) => s.name === STEPS.step));
    assert.deepEqual(
      calls.filter((c) => ['${act}', '${undo}'].includes(c.type)).map((c) => c.type),
      ['${act}'],
    );
  });
});
`,
  };
}
