// `npm run bench`: every benchmark, each against a baseline measured in the same run.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startDevServer } from '../dev/dev-server';
import { ensureTestbedUp, testbedDown } from '../test/testbed';
import { leaseTestbed } from '../test/testbed-lease';
import { backupBench } from './backup';
import { capacityBench } from './capacity';
import { deployBench } from './deploy';
import { fleetBench } from './fleet';
import { lostWorkerBench } from './lost-worker';
import { sshThroughput } from './ssh-throughput';
import { stepOverhead } from './step-overhead';

const BENCHES: Record<string, (address: string) => Promise<void>> = {
  'step-overhead': stepOverhead,
  'lost-worker': lostWorkerBench,
  ssh: () => sshThroughput(),
  deploy: deployBench,
  backup: () => backupBench(),
  fleet: fleetBench,
  capacity: capacityBench,
};

/** `npm run bench` runs them all; `npm run bench -- fleet deploy` only those. */
function chosen(args: string[]): string[] {
  const unknown = args.filter((a) => !(a in BENCHES));
  if (unknown.length) throw new Error(`no bench ${unknown.join(', ')}; there are ${Object.keys(BENCHES).join(', ')}`);
  return args.length ? args : Object.keys(BENCHES);
}

async function main(): Promise<void> {
  const names = chosen(process.argv.slice(2));
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const lease = await leaseTestbed();
  const server = await startDevServer();
  const startedHere = ensureTestbedUp();
  try {
    for (const name of names) await BENCHES[name](server.address);
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
