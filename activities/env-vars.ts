// Typed access to an environment's inventory on the worker.
import { ApplicationFailure } from '@temporalio/common';
import { loadEnvironment, type Environment } from '../src/inventory';
import { FailureType } from '../common/failure-types';

export { hostsWithRole } from '../src/inventory';

export function environment(env: string): Environment {
  try {
    return loadEnvironment(env);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, FailureType.BadInventory);
  }
}

export function serviceCommand(
  env: Environment,
  service: string,
  action: 'start' | 'stop' | 'reload' | 'status' | 'test',
): string[] {
  const argv = env.services[service]?.[action];
  if (!argv)
    throw ApplicationFailure.nonRetryable(
      `${env.environment}: services.${service}.${action} is not set`,
      FailureType.BadInventory,
    );
  return argv;
}
