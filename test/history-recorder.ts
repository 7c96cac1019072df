// With RUNBOOK_RECORD_HISTORIES=1, tests save the histories of the runs they finish into
// test/histories/, which the replay test runs against the current workflow code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { projectRoot } from '../src/config';
import { temporalCliPath } from '../dev/dev-server';
import { payloadCodec } from '../src/codec/data-converter';
import { decodeHistoryJson } from '../src/codec/history-json';

export const HISTORIES_DIR = path.join(projectRoot, 'test', 'histories');

/** The run's history as the pinned CLI prints it: payloads as the server holds them (sealed). */
export function rawHistoryJson(workflowId: string): string {
  // The CLI writes the same proto JSON the Web UI downloads, which historyFromJSON reads.
  return execFileSync(
    temporalCliPath()!,
    ['workflow', 'show', '--workflow-id', workflowId, '--address', process.env.TEMPORAL_ADDRESS!, '--output', 'json'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
}

/** The run's history with every payload decrypted: what anyone holding the codec keys reads. */
export async function decodedHistory(workflowId: string): Promise<unknown> {
  const history: unknown = JSON.parse(rawHistoryJson(workflowId));
  await decodeHistoryJson(history, payloadCodec());
  return history;
}

/** Everything readable in a history document: its text, and every base64 string in it decoded. */
export function readable(doc: unknown): string {
  const parts = [JSON.stringify(doc)];
  const walk = (node: unknown): void => {
    if (typeof node === 'string') {
      if (/^[A-Za-z0-9+/]+=*$/.test(node) && node.length % 4 === 0)
        parts.push(Buffer.from(node, 'base64').toString('latin1'));
    } else if (node && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(doc);
  return parts.join('\n');
}

export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RUNBOOK_RECORD_HISTORIES !== '1') return;
  // Saved decrypted: each suite run has its own key ring, and the replay test has none of them.
  const history = await decodedHistory(handle.workflowId);
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), `${JSON.stringify(history, null, 2)}\n`);
}
