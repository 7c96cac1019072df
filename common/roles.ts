// The roles a host of the inventory may have, each with what the runbooks do to a host that has
// it: declared once, for the inventory's schema and types (src/inventory.ts), the `role:`
// selector of fleet runbooks (common/runbook-params.ts) and docs/inventory.md.
export const ROLES = {
  web: "runs the app (deploys, restarts, the upstream's servers)",
  db: "the PostgreSQL host (migrations' backups, dumps, restores, password rotation)",
  lb: 'the nginx holding the upstream, the TLS certificates and the maintenance flag',
  backup: 'a backup store host (the store itself is `vars.backupStore`)',
} as const;

export type Role = keyof typeof ROLES;

export const ROLE_NAMES = Object.keys(ROLES) as Role[];

export function isRole(name: string): name is Role {
  return (ROLE_NAMES as string[]).includes(name);
}
