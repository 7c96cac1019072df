// How backups are named: `<env>-<UTC time>` (a safety backup taken by a restore adds
// `-safety`), e.g. `prod-20261123T020000Z`. The name is the only thing an operator types to
// pick a backup, so it has one fixed shape: no slash, no "..", nothing a path could escape with.
// Imported by workflow code: no Node built-ins, no I/O.

const STAMP = '\\d{8}T\\d{6}Z';
export const BACKUP_NAME = new RegExp(`^([a-z][a-z0-9-]{0,39})-(${STAMP})(-safety)?$`);
/** What `--backup` accepts: `latest` or a backup name. */
export const BACKUP_CHOICE = new RegExp(`^(?:latest|[a-z][a-z0-9-]{0,39}-${STAMP}(?:-safety)?)$`);

export interface BackupName {
  name: string;
  env: string;
  at: Date;
  safety: boolean;
}

/** `prod-20261123T020000Z` for prod at that instant (seconds precision, UTC). */
export function backupName(env: string, at: Date, kind: 'scheduled' | 'safety' = 'scheduled'): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${env}-${stamp}${kind === 'safety' ? '-safety' : ''}`;
}

/** The parts of a backup name, or undefined when `name` is not one. */
export function parseBackupName(name: string): BackupName | undefined {
  const m = BACKUP_NAME.exec(name);
  if (!m) return undefined;
  const s = m[2];
  const at = new Date(
    `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`,
  );
  if (Number.isNaN(at.getTime())) return undefined;
  return { name, env: m[1], at, safety: m[3] !== undefined };
}

/**
 * Which of `names` (the environment's backups, safety ones excluded by the caller) retention
 * keeps: the newest backup of each of the `daily` newest days, and of each of the `weekly`
 * newest ISO weeks (UTC). Everything else may be deleted.
 */
export function retained(names: readonly string[], daily: number, weekly: number): Set<string> {
  const parsed = names.map(parseBackupName).filter((b): b is BackupName => b !== undefined);
  parsed.sort((a, b) => b.at.getTime() - a.at.getTime() || (a.name < b.name ? 1 : -1));
  const keep = new Set<string>();
  const newestPer = (period: (d: Date) => string, count: number) => {
    const seen = new Set<string>();
    for (const b of parsed) {
      const p = period(b.at);
      if (seen.has(p)) continue;
      if (seen.size >= count) break;
      seen.add(p);
      keep.add(b.name);
    }
  };
  newestPer((d) => d.toISOString().slice(0, 10), daily);
  newestPer(isoWeek, weekly);
  return keep;
}

function isoWeek(d: Date): string {
  // The Thursday of d's week decides its ISO year and week number.
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  t.setUTCDate(t.getUTCDate() + 3 - ((t.getUTCDay() + 6) % 7));
  const dayOfYear = (t.getTime() - Date.UTC(t.getUTCFullYear(), 0, 1)) / 86_400_000;
  const week = 1 + Math.floor(dayOfYear / 7);
  return `${t.getUTCFullYear()}-W${week}`;
}

/** The database a restore keeps aside, `runbook_previous_<12 hex>`: what `--database` accepts. */
export const PREVIOUS_DATABASE = /^runbook_previous_([0-9a-f]{12})$/;

/** The tag of a kept database's name, or undefined when it is not one. */
export function previousDatabaseTag(name: string): string | undefined {
  return PREVIOUS_DATABASE.exec(name)?.[1];
}
