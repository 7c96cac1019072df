// `npm run docs`: writes the generated documentation (cli/docs.ts) from the definitions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generatedDocs, withInventoryReference, withUsage } from '../cli/docs';

const root = path.resolve(__dirname, '..', '..');
for (const [file, text] of Object.entries(generatedDocs())) {
  fs.writeFileSync(path.join(root, file), text);
  console.log(`wrote ${file}`);
}
// docs/cli.md is written by hand but for its usage block, which is the CLI's own.
const cli = path.join(root, 'docs', 'cli.md');
fs.writeFileSync(cli, withUsage(fs.readFileSync(cli, 'utf8')));
console.log('wrote the usage block of docs/cli.md');
// docs/inventory.md likewise, but for its tables of roles, vars and provision (src/vars.ts).
const inventory = path.join(root, 'docs', 'inventory.md');
fs.writeFileSync(inventory, withInventoryReference(fs.readFileSync(inventory, 'utf8')));
console.log('wrote the roles, vars and provision tables of docs/inventory.md');
