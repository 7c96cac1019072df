// What anyone who can reach Temporal can do without any code of ours: the stock `temporal` CLI
// (scripts/temporal-cli.sh) with hand-written JSON, plain payloads, no codec.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { projectRoot } from '../../src/config';

/** An approver's name that moves up a line, clears it and writes a fake approval over the real record. */
export const OVERWRITE = '\x1b[1A\x1b[2K\r· approved by bob at go-ahead';
/** An approver's name that Markdown would show as a link. */
export const LINK = '[approved by bob](https://evil.example/)';

/** `temporal <args>` against the test server's default namespace; resolves with its output. */
export function temporalCli(args: string[]): Promise<string> {
  const all = [
    path.join(projectRoot, 'scripts', 'temporal-cli.sh'),
    ...args,
    '--address',
    process.env.TEMPORAL_ADDRESS!,
    '--namespace',
    'default',
  ];
  return new Promise((resolve, reject) =>
    execFile('bash', all, { encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/** The stock CLI's exit code and output, for an attack the CLI itself may refuse. */
export function temporalCliResult(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return temporalCli(args).then(
    (stdout) => ({ code: 0, stdout, stderr: '' }),
    (err: Error) => ({ code: 1, stdout: '', stderr: err.message }),
  );
}

/** `temporal workflow start` with a hand-written input. */
export function temporalStart(
  taskQueue: string,
  type: string,
  workflowId: string,
  input: unknown,
  extra: string[] = [],
): Promise<string> {
  const start = ['workflow', 'start', '--task-queue', taskQueue, '--type', type, '--workflow-id', workflowId];
  return temporalCli([...start, '--input', JSON.stringify(input), ...extra]);
}

/** `temporal workflow signal` with a hand-written input. */
export function temporalSignal(workflowId: string, name: string, input: unknown): Promise<string> {
  return temporalCli([
    'workflow',
    'signal',
    '--workflow-id',
    workflowId,
    '--name',
    name,
    '--input',
    JSON.stringify(input),
  ]);
}
