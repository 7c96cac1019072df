// Typed access to an environment's inventory on the worker.
import { ApplicationFailure } from '@temporalio/common';
import { loadEnvironment, type Environment, type Host } from '../src/inventory';
import { FailureType } from '../common/failure-types';

export function environment(env: string): Environment {
  try {
    return loadEnvironment(env);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, FailureType.BadInventory);
  }
}

export function stringVar(env: Environment, name: string): string {
  const value = env.vars[name];
  if (typeof value !== 'string' || !value)
    throw ApplicationFailure.nonRetryable(`${env.environment}: vars.${name} must be set`, FailureType.BadInventory);
  return value;
}

export function argvVar(env: Environment, name: string): string[] {
  const value = env.vars[name];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw ApplicationFailure.nonRetryable(
      `${env.environment}: vars.${name} must be a list of strings`,
      FailureType.BadInventory,
    );
  return value as string[];
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

export function hostsWithRole(env: Environment, role: Host['roles'][number]): string[] {
  return Object.entries(env.hosts)
    .filter(([, h]) => h.roles.includes(role))
    .map(([name]) => name);
}
