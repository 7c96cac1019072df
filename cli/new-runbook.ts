// `runbook new <name>`: scaffolds runbooks/<name>/ (definition, workflow with one step and its
// undo, activities, stand-ins and a workflow-tier test) and adds its line to the index of the
// folders. `npm run docs` then generates what the worker, the bundle and the CLI need from it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../src/config';
import { UsageError } from '../src/errors';
import { RUNBOOKS } from '../src/runbooks';
import { parse } from './args';
import { printJson } from './output';
import { FOLDER_NAME, RUNBOOK_INDEX, withFolder } from './runbook-folders';
import { camelName, scaffoldFiles } from './scaffold';

export async function newRunbook(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  const [name] = positionals;
  if (!name || positionals.length > 1) throw new UsageError('usage: runbook new <name> [--json]');
  if (!FOLDER_NAME.test(name))
    throw new UsageError(`runbook new: ${JSON.stringify(name.slice(0, 100))} is not a name like backup-files`);
  const taken = RUNBOOKS.find((r) => r.name === name || r.workflow === camelName(name));
  if (taken) throw new UsageError(`runbook new: ${name} is taken by the runbook ${taken.name}`);
  const index = path.join(projectRoot, RUNBOOK_INDEX);
  if (!fs.existsSync(index))
    throw new UsageError(`runbook new: no ${RUNBOOK_INDEX} in ${projectRoot}: run it in the engine's repository`);
  const folder = path.join(projectRoot, 'runbooks', name);
  if (fs.existsSync(folder)) throw new UsageError(`runbook new: runbooks/${name} exists already`);

  const files = scaffoldFiles(name);
  fs.mkdirSync(folder);
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(projectRoot, file), text);
  fs.writeFileSync(index, withFolder(fs.readFileSync(index, 'utf8'), name));
  const written = [...Object.keys(files), RUNBOOK_INDEX];
  if (values.json) printJson({ runbook: name, written });
  else {
    for (const file of written) console.log(`wrote ${file}`);
    console.log(`next: npm run docs (generates what registers it), then npm run build and its test:`);
    console.log(`  npx mocha --config .mocharc.workflow.json dist/runbooks/${name}/${name}.workflow.test.js`);
  }
  return 0;
}
