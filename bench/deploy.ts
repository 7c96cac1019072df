// A blue/green deploy of the sample app through the engine, against the same steps as a plain
// shell script over ssh with ControlMaster, alternating colours, in the same run.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { colours } from '../activities/lb';
import { pool } from '../activities/ssh/pool';
import { resolveTarget } from '../activities/ssh/target';
import { projectRoot } from '../src/config';
import { loadEnvironment } from '../src/inventory';
import { prepareRun, startRun } from '../src/start';
import { workerOptions } from '../worker/worker-options';
import { median } from './stats';
import { dataConverter } from '../src/codec/data-converter';

const ROUNDS = 3;
const REFS = ['v1.1.0', 'v1.0.0'];

export async function deployBench(address: string): Promise<void> {
  const env = loadEnvironment('local');
  const lbTarget = resolveTarget({ env: 'local', host: 'lb' });
  const keyFile = lbTarget.privateKeyPath;
  if (!keyFile) throw new Error(`${lbTarget.name}: the plain script logs in with a key file (ssh.privateKey)`);
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }), dataConverter: dataConverter() });
  const taskQueue = `bench-deploy-${Date.now()}`;
  const worker = await Worker.create({ connection, ...workerOptions(), taskQueue });
  const engine: number[] = [];
  const shell: number[] = [];
  await worker.runUntil(async () => {
    for (let round = 0; round < ROUNDS * 2; round++) {
      const ref = REFS[round % 2];
      if (round % 2 === 0) {
        const run = prepareRun({
          runbook: 'deploy',
          env: 'local',
          params: { ref, 'rollback-window': '1ms' },
          initiator: 'bench',
        });
        const t0 = performance.now();
        const { handle } = await startRun(client, run, taskQueue);
        await handle.result();
        engine.push(performance.now() - t0);
      } else {
        const { live, idle } = await colours({ env: 'local' });
        const t0 = performance.now();
        const ran = spawnSync(
          'bash',
          [
            path.join(projectRoot, 'bench', 'deploy-plain.sh'),
            keyFile,
            lbTarget.knownHostsPath,
            env.hosts[idle].address,
            env.hosts[live].address,
            lbTarget.address,
            ref,
          ],
          { encoding: 'utf8' },
        );
        if (ran.status !== 0) throw new Error(`plain deploy script failed: ${ran.stderr}`);
        shell.push(performance.now() - t0);
      }
    }
  });
  await client.connection.close();
  await connection.close();
  await pool.closeAll();
  const e = median(engine) / 1000;
  const s = median(shell) / 1000;
  console.log(`blue/green deploy of the sample app (median of ${ROUNDS} each, alternating colours)`);
  console.log(`  through the engine:                 ${e.toFixed(2)} s`);
  console.log(`  plain shell script over ssh (CM):   ${s.toFixed(2)} s  (baseline, same run)`);
  console.log(`  engine / script: ${(e / s).toFixed(2)}x  (target < 1.3x)`);
}
