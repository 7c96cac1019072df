// The production workflows plus small ones that drive the activity layer from tests.
import { ActivityCancellationType } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { CommandInput } from '../activities/hosts';
import { forEachHost, stepActivities } from '../workflows/kernel';

export * from '../workflows';

const { runCommand } = stepActivities<typeof activities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 1 } });

export async function commandOnHosts(input: { env: string; hosts: string[]; argv: string[]; limit: number }) {
  return forEachHost(input.hosts, input.limit, (host) => runCommand({ env: input.env, host, argv: input.argv }));
}

const { runCommand: runLongCommand } = stepActivities<typeof activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
  // The workflow waits until the activity has acted on its cancellation (killed the command).
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

export async function longCommand(input: CommandInput) {
  return runLongCommand(input);
}
