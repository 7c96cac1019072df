// The kernel's cost per step: a no-op activity run as a runbook step on the real server,
// against the same function called directly, in the same run.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from './activities';
import { intervals, median, ms } from './stats';
import { dataConverter } from '../src/codec/data-converter';

const STEPS = 250;

export async function stepOverhead(address: string): Promise<void> {
  const direct: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    await activities.noop();
    direct.push(performance.now() - t0);
  }
  activities.stepStarts.length = 0;

  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }), dataConverter: dataConverter() });
  const taskQueue = `bench-steps-${Date.now()}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities,
    dataConverter: dataConverter(),
  });
  await worker.runUntil(
    client.workflow.execute('stepBench', {
      taskQueue,
      workflowId: taskQueue,
      args: [
        {
          runbook: 'bench',
          // Its rules (the worker decides them from the inventory); no step touches a host.
          env: 'local',
          params: { steps: STEPS },
          initiator: 'bench',
        },
      ],
    }),
  );
  await client.connection.close();
  await connection.close();

  const perStep = median(intervals(activities.stepStarts));
  const call = median(direct);
  console.log(`step overhead (${STEPS} no-op steps through the kernel on the real dev server)`);
  console.log(`  median per step:          ${ms(perStep)}`);
  console.log(`  median direct call:       ${ms(call)}  (baseline, same run)`);
  console.log(
    `  kernel overhead per step: ${ms(perStep - call)}  ` +
      `(${Math.round(perStep / Math.max(call, 1e-6))}x the direct call; target < 10 ms)`,
  );
}
