// Commands in the application's checkout run as the app user, never as the login (root): the
// checkout is that user's (its .git/config and hooks, its migrations), so git or a migration
// run there by root would run, with root's rights, whatever a compromised app wrote.
import type { Environment } from '../src/inventory';
import { requiredVar } from '../src/vars';
import type { SshTarget } from './ssh/target';

/**
 * The argv prefix that runs a command as vars.appUser: runuser as root, sudo otherwise. The
 * schema (src/vars.ts) holds it to an ordinary user name, never root.
 */
export function asAppUser(e: Environment, target: SshTarget): string[] {
  const user = requiredVar(e, 'appUser');
  return target.username === 'root' ? ['runuser', '-u', user, '--'] : ['sudo', '-n', '-u', user, '--'];
}

/** git in the checkout (vars.appDir), as the app user: no safe.directory needed, none given. */
export function appGit(e: Environment, target: SshTarget): string[] {
  return [...asAppUser(e, target), 'git', '-C', requiredVar(e, 'appDir')];
}
