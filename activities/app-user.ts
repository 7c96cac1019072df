// Commands in the application's checkout run as the app user, never as the login (root): the
// checkout is that user's (its .git/config and hooks, its migrations), so git or a migration
// run there by root would run, with root's rights, whatever a compromised app wrote.
import { ApplicationFailure } from '@temporalio/common';
import type { Environment } from '../src/inventory';
import { stringVar } from './env-vars';
import type { SshTarget } from './ssh/target';
import { FailureType } from '../common/failure-types';

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** The argv prefix that runs a command as vars.appUser: runuser as root, sudo otherwise. */
export function asAppUser(e: Environment, target: SshTarget): string[] {
  const user = stringVar(e, 'appUser');
  if (!USER_NAME.test(user) || user === 'root')
    throw ApplicationFailure.nonRetryable(
      `${e.environment}: vars.appUser must name an ordinary user, not ${JSON.stringify(user)}`,
      FailureType.BadInventory,
    );
  return target.username === 'root' ? ['runuser', '-u', user, '--'] : ['sudo', '-n', '-u', user, '--'];
}

/** git in the checkout (vars.appDir), as the app user: no safe.directory needed, none given. */
export function appGit(e: Environment, target: SshTarget): string[] {
  return [...asAppUser(e, target), 'git', '-C', stringVar(e, 'appDir')];
}
