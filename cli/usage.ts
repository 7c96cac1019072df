// The `runbook` command's usage: printed by `runbook help`, and the usage block of docs/cli.md,
// which test/docs-links.fast.test.ts holds equal to it (npm run docs writes it there). Built from
// the description of the commands in cli/help.ts.
import { usage } from './help';

export const USAGE = usage();
