// `npm run bench`: every benchmark, each against a baseline measured in the same run.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startDevServer } from '../dev/dev-server';
import { ensureTestbedUp, testbedDown } from '../test/testbed';
import { leaseTestbed } from '../test/testbed-lease';
import { backupBench } from './backup';
import { deployBench } from './deploy';
import { fleetBench } from './fleet';
import { lostWorkerBench } from './lost-worker';
import { sshThroughput } from './ssh-throughput';
import { stepOverhead } from './step-overhead';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const lease = await leaseTestbed();
  const server = await startDevServer();
  const startedHere = ensureTestbedUp();
  try {
    await stepOverhead(server.address);
    await lostWorkerBench(server.address);
    await sshThroughput();
    await deployBench(server.address);
    await backupBench();
    await fleetBench(server.address);
  } finally {
    await server.stop();
    if (startedHere) testbedDown();
    await lease.release();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
