// What a fleet run did on each host, for status, watch and history: every host while the fleet
// is small, and beyond that a count per outcome, the hosts that need a look (failed, skipped)
// and the slowest, so a 200-host run stays readable. `history` shows every host (the audit trail).
import type { HostRecord, RunProgress } from './shared';
import { formatDuration } from './duration';

const SHOW_ALL_UP_TO = 20;
const SLOWEST_SHOWN = 3;

/** How a view shows a value from a host (common/progress-view.ts's Show): inert, escaped for Markdown. */
type ShowText = (value: unknown) => string;

function hostText(h: HostRecord, fullTail: boolean, v: ShowText): string {
  const parts = [`batch ${v(h.batch)}`, v(h.outcome)];
  if (h.exitCode !== undefined) parts.push(`exit ${h.exitCode}`);
  if (h.durationMs !== undefined) parts.push(formatDuration(h.durationMs));
  if (h.outcome === 'failed' && h.rolledBack !== undefined)
    parts.push(h.rolledBack ? 'rolled back' : 'NOT rolled back');
  if (h.drained) parts.push('left drained');
  let text = `${v(h.host)}: ${parts.join(', ')}${h.error ? ` (${v(h.error)})` : ''}`;
  const output = h.outputTail?.trim();
  if (output)
    text += fullTail
      ? `\n${output
          .split('\n')
          .map((l) => `        | ${v(l)}`)
          .join('\n')}`
      : ` | ${v(output.split('\n').pop())}`;
  return text;
}

/** Lines (without indentation) about the run's hosts; none for runbooks that record none. */
export function hostLines(p: RunProgress, everyHost: boolean, v: ShowText): string[] {
  const hosts = p.hosts ?? [];
  if (!hosts.length) return [];
  const counts = new Map<string, number>();
  for (const h of hosts) counts.set(h.outcome, (counts.get(h.outcome) ?? 0) + 1);
  const lines = [`hosts: ${[...counts].map(([o, n]) => `${n} ${v(o)}`).join(', ')}`];
  const shown =
    everyHost || hosts.length <= SHOW_ALL_UP_TO
      ? hosts
      : hosts.filter((h) => h.outcome === 'failed' || h.outcome === 'skipped');
  for (const h of shown) lines.push(`  ${hostText(h, everyHost, v)}`);
  // The hosts a person waits on in a large fleet, among those not listed above.
  const slowest = hosts
    .filter((h) => h.durationMs !== undefined && !shown.includes(h))
    .sort((a, b) => b.durationMs! - a.durationMs!)
    .slice(0, SLOWEST_SHOWN);
  if (slowest.length)
    lines.push(`  slowest: ${slowest.map((h) => `${v(h.host)} ${formatDuration(h.durationMs!)}`).join(', ')}`);
  if (shown.length < hosts.length)
    lines.push(`  (${hosts.length - shown.length} more hosts without trouble: runbook history shows each)`);
  return lines;
}
