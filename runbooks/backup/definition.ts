// backup: its parameters (retention), its steps' names and its definition. Workflow-safe: its
// workflow imports the step names and parameters from here; the inventory is a type only.
import type { Environment } from '../../src/inventory';
import { defineParams } from '../../common/params';
import { defineRunbook, type RunbookSpec } from '../../common/runbook-definition';

export const BACKUP_PARAMS = defineParams({
  daily: {
    type: 'integer',
    min: 0,
    max: 999,
    default: 7,
    inventoryDefault: 'backupRetention.daily',
    description: 'how many days keep their newest backup',
  },
  weekly: {
    type: 'integer',
    min: 0,
    max: 999,
    default: 4,
    inventoryDefault: 'backupRetention.weekly',
    description: 'how many weeks keep their newest backup',
  },
});

export const BACKUP_STEPS = {
  dump: (name: string) => `dump the database to ${name}`,
  verify: 'verify it in a scratch database',
  /** Before retention deletes anything: where four eyes guard a backup. */
  gate: 'delete old backups',
  retention: 'apply retention',
} as const;

export const DEFINITIONS: RunbookSpec[] = [
  defineRunbook({
    name: 'backup',
    workflow: 'backup',
    description:
      'pg_dump streamed to the backup store, checksummed, ' +
      'verified by restoring it into a scratch database and comparing row counts, then retention',
    // Retention deletes files a restore may be reading: one at a time per environment.
    mutating: true,
    params: BACKUP_PARAMS,
    protectedGates: [BACKUP_STEPS.gate],
    // Retention not given follows the inventory (inventoryDefault): only a request can go below its floor.
    beyondBounds: (env, params) =>
      (['daily', 'weekly'] as const).flatMap((unit) => {
        const asked = params[unit];
        if (asked === undefined) return [];
        const floor = retentionFloor(env)[unit];
        return asked < floor
          ? [
              `--${unit} ${asked} is below ${env.environment}'s retention floor, ${floor}: ` +
                'retention would delete backups the inventory keeps',
            ]
          : [];
      }),
  }),
];

/** How many days and weeks retention must keep before a request is beyond the bounds. */
function retentionFloor(env: Environment): { daily: number; weekly: number } {
  const retention = env.vars.backupRetention;
  const floor = env.bounds.retentionFloor;
  return { daily: floor?.daily ?? retention.daily, weekly: floor?.weekly ?? retention.weekly };
}
