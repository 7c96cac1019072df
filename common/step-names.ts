// The names runbooks give their steps and gates, as `runbook watch` shows them. Workflows
// name their steps with these, and the dry run (the same workflow in plan mode) lists them, so
// an operator approves from the plan the steps that will run. A name that depends on what the
// run finds (the idle colour, the backup picked) is a function of it; the dry run finds it by
// running the steps that only read. Renaming a released runbook's step changes what its
// history shows: keep the old name for runs already started (patched()).

export const RELEASE_STEPS = {
  findColours: 'find the idle colour',
  resolveRef: 'resolve the ref',
  recordServing: 'record the serving commit',
  safetyBackup: 'safety backup of the database',
  install: (idle: string) => `install on ${idle} (expand migrations)`,
  checkOldCode: 'check the old code on the expanded schema',
  start: (idle: string) => `start ${idle}`,
  healthCheck: (idle: string) => `health-check ${idle}`,
  /** Only when hosts of the new colour were left out. */
  capacityFloor: 'check the capacity floor',
  switchGate: 'switch traffic',
  switchTraffic: (idle: string) => `switch traffic to ${idle}`,
  checkThroughLb: 'check through the load balancer',
  rollbackWindow: (window: string) => `rollback window (${window})`,
  stopOld: (live: string) => `stop ${live}`,
  contractGate: 'contract migration',
  contract: 'contract migration',
} as const;

export const RESTORE_STEPS = {
  pick: 'pick the backup',
  checksum: (name: string) => `check the checksum of ${name}`,
  policy: 'read whether the environment is protected',
  gate: 'restore',
  safetyBackup: (name: string) => `safety backup to ${name}`,
  maintenanceOn: 'maintenance on',
  restoreFresh: 'restore into a fresh database',
  verifyRestored: 'verify the restored row counts',
  swapIn: 'swap the restored database in',
  verifyLive: 'verify the live row counts',
  maintenanceOff: 'maintenance off',
  checkThroughLb: 'check the app through the load balancer',
  dropPrevious: 'drop the previous database (the safety backup keeps it)',
} as const;

export const HEALTH_STEPS = {
  previous: 'read what the last check alerted',
  hosts: 'list the hosts',
  check: (host: string) => `check ${host}`,
  alertFailing: (keys: string[]) => `alert: ${keys.join(', ')} failing`,
  alertRecovered: (keys: string[]) => `alert: ${keys.join(', ')} recovered`,
  summary: (checks: number | string, failing: string[]) =>
    failing.length
      ? `${failing.length} of ${checks} checks failing: ${failing.join(', ')}`
      : `all ${checks} checks pass`,
} as const;

export const PROVISION_STEPS = {
  reach: 'reach the host',
  gate: 'provision the host',
  opsUser: 'ops user with SSH key and sudo',
  opsLogin: 'ops user can log in and sudo',
  sshd: 'sshd: no root login, no passwords',
  firewall: 'firewall: only ssh, http, https',
  fail2ban: 'fail2ban on sshd',
  upgrades: 'unattended security upgrades',
  packages: 'packages (versions recorded)',
  database: 'database and its user',
  appDir: 'application directory',
  appEnv: 'application .env from secrets',
  processEntry: 'process manager entry',
  nginxSite: 'nginx site',
  verify: 'verify services and ports',
  forgetEnv: 'remove the copy of the previous .env',
} as const;

/** rotate-db-password: a new password for the app's database role, from a secret reference. */
export const ROTATE_PASSWORD_STEPS = {
  findColours: 'find the live and idle colours',
  check: (secret: string) => `check the new password (secret ${secret}) and every .env`,
  policy: RESTORE_STEPS.policy,
  gate: 'rotate the database password',
  writeEnv: 'write the new password into .env on every web host',
  setOnDatabase: 'set the new password on PostgreSQL',
  restart: (colour: string) => `restart the app on ${colour} and check it`,
  checkThroughLb: RESTORE_STEPS.checkThroughLb,
  forget: 'remove the copies of the previous password',
} as const;

/** restore-previous and drop-previous: the database a restore kept aside, put back or dropped. */
export const PREVIOUS_DATABASE_STEPS = {
  check: (database: string) => `check that ${database} exists`,
  policy: RESTORE_STEPS.policy,
  gate: 'restore-previous',
  safetyBackup: RESTORE_STEPS.safetyBackup,
  maintenanceOn: RESTORE_STEPS.maintenanceOn,
  swapIn: (database: string) => `swap ${database} in`,
  maintenanceOff: RESTORE_STEPS.maintenanceOff,
  checkThroughLb: RESTORE_STEPS.checkThroughLb,
  dropReplaced: (database: string) => `drop ${database} (the safety backup keeps it)`,
  dropGate: 'drop the kept database',
  drop: (database: string) => `drop ${database}`,
} as const;
