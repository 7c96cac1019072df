// `npm run docs`: writes the generated documentation (cli/docs.ts) from the definitions, and the
// code generated from the index of the runbook folders (runbooks/*.generated.ts). When that code
// changed (a folder added to runbooks/index.ts), it builds again and writes the rest from the new
// build, so one run is enough.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { foldersIn, generatedRunbookFiles, RUNBOOK_INDEX } from '../cli/runbook-folders';

const root = path.resolve(__dirname, '..', '..');
const write = (file: string, text: string): boolean => {
  const at = path.join(root, file);
  if (fs.existsSync(at) && fs.readFileSync(at, 'utf8') === text) return false;
  fs.writeFileSync(at, text);
  console.log(`wrote ${file}`);
  return true;
};

const folders = foldersIn(fs.readFileSync(path.join(root, RUNBOOK_INDEX), 'utf8'));
const changed = Object.entries(generatedRunbookFiles(folders)).filter(([file, text]) => write(file, text));
if (changed.length && !process.env.RUNBOOK_DOCS_REBUILT) {
  console.log('the runbook folders changed: building again');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [__filename], {
    stdio: 'inherit',
    env: { ...process.env, RUNBOOK_DOCS_REBUILT: '1' },
  });
  process.exit(0);
}

// Loaded after the code above is current: the docs read the runbooks' definitions.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { generatedDocs, withInventoryReference, withUsage } = require('../cli/docs') as typeof import('../cli/docs');
for (const [file, text] of Object.entries(generatedDocs())) write(file, text);
// docs/cli.md is written by hand but for its usage block, which is the CLI's own.
const cli = path.join(root, 'docs', 'cli.md');
fs.writeFileSync(cli, withUsage(fs.readFileSync(cli, 'utf8')));
console.log('wrote the usage block of docs/cli.md');
// docs/inventory.md likewise, but for its tables of roles, vars and provision (src/vars.ts).
const inventory = path.join(root, 'docs', 'inventory.md');
fs.writeFileSync(inventory, withInventoryReference(fs.readFileSync(inventory, 'utf8')));
console.log('wrote the roles, vars and provision tables of docs/inventory.md');
