// `npm run build:bundle`: the workflow bundle a production worker loads with
// RUNBOOK_WORKFLOW_BUNDLE=dist/workflow-bundle.js, so it starts without webpack.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { bundleWorkflows } from './worker-options';

async function main(): Promise<void> {
  const { code } = await bundleWorkflows();
  const file = path.join(projectRoot, 'dist', 'workflow-bundle.js');
  fs.writeFileSync(file, code);
  console.log(
    `wrote ${file} (${Math.round(code.length / 1024)} KiB); run the worker with RUNBOOK_WORKFLOW_BUNDLE=${file}`,
  );
}

main().catch((err) => {
  console.error(`build:bundle: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
