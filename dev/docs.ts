// `npm run docs`: writes the generated documentation (cli/docs.ts) from the definitions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generatedDocs } from '../cli/docs';

const root = path.resolve(__dirname, '..', '..');
for (const [file, text] of Object.entries(generatedDocs())) {
  fs.writeFileSync(path.join(root, file), text);
  console.log(`wrote ${file}`);
}
