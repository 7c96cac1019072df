// Services provision relies on (Debian `service` names, which also work under systemd):
// started if they were not running, restarted or reloaded when their configuration changed,
// and put back as they were by the undo.
import { outcome, recordDir, script, type ProvisionRef, type StepOutcome } from './remote';

// $1 service, $2 record dir, $3 what a changed configuration needs: restart | reload | none.
const ENSURE_RUNNING = `
svc=$1 record=$2 apply=$3
if service "$svc" status >/dev/null 2>&1; then
  case "$apply" in
    restart) service "$svc" restart >&2; echo changed ;;
    reload) service "$svc" reload >&2; echo changed ;;
    *) echo unchanged ;;
  esac
else
  mkdir -p -m 0700 -- "$record"
  : > "$record/$svc.was-stopped"
  service "$svc" start >&2
  echo changed
fi`;

// $1 service, $2 record dir, $3 what the restored configuration needs: restart | reload | none.
const PUT_BACK = `
svc=$1 record=$2 apply=$3
if [ -e "$record/$svc.was-stopped" ]; then
  service "$svc" stop >&2 || true
  rm -f -- "$record/$svc.was-stopped"
  echo changed
elif [ "$apply" != none ] && service "$svc" status >/dev/null 2>&1; then
  service "$svc" "$apply" >&2
  echo changed
else
  echo unchanged
fi`;

export type Apply = 'restart' | 'reload' | 'none';

export async function ensureRunning(
  ref: ProvisionRef,
  service: string,
  configChanged: boolean,
  apply: Apply = 'reload',
): Promise<StepOutcome> {
  const done = outcome(
    await script(ref, ENSURE_RUNNING, [service, recordDir(ref.runId), configChanged ? apply : 'none'], {
      timeoutMs: 120_000,
    }),
  );
  return done.changed ? { changed: true, detail: `${service} (re)started` } : done;
}

export async function putServiceBack(
  ref: ProvisionRef,
  service: string,
  configRestored: boolean,
  apply: Apply = 'reload',
): Promise<StepOutcome> {
  return outcome(
    await script(ref, PUT_BACK, [service, recordDir(ref.runId), configRestored ? apply : 'none'], {
      timeoutMs: 120_000,
    }),
  );
}
