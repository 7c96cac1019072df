// `npm run docs`: writes the generated documentation (cli/docs.ts) from the definitions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generatedDocs, withUsage } from '../cli/docs';

const root = path.resolve(__dirname, '..', '..');
for (const [file, text] of Object.entries(generatedDocs())) {
  fs.writeFileSync(path.join(root, file), text);
  console.log(`wrote ${file}`);
}
// docs/cli.md is written by hand but for its usage block, which is the CLI's own.
const cli = path.join(root, 'docs', 'cli.md');
fs.writeFileSync(cli, withUsage(fs.readFileSync(cli, 'utf8')));
console.log('wrote the usage block of docs/cli.md');
