// The system itself: security updates applied unattended (never rebooting on their own), and
// the packages the application needs, with the versions installed recorded.
import { provisionConfig } from './config';
import { ensureFile, restoreFile } from './files';
import { merge, outcome, recordDir, script, type ProvisionRef, type StepOutcome } from './remote';

const AUTO_UPGRADES = '/etc/apt/apt.conf.d/20auto-upgrades';
const UNATTENDED = '/etc/apt/apt.conf.d/52runbook-unattended-upgrades';

export async function ensureUnattendedUpgrades(ref: ProvisionRef): Promise<StepOutcome> {
  const file = (path: string, content: string) =>
    ensureFile(ref, { path, content, mode: '644', owner: 'root', group: 'root', check: ['apt-config', 'dump'] });
  return merge(
    await file(AUTO_UPGRADES, 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'),
    await file(
      UNATTENDED,
      [
        '// Managed by runbook provision: security updates only, no automatic reboot;',
        '// a needed reboot is mailed to root (and /var/run/reboot-required is set).',
        'Unattended-Upgrade::Origins-Pattern { ' +
          '"origin=Debian,codename=${distro_codename}-security,label=Debian-Security"; };',
        'Unattended-Upgrade::Automatic-Reboot "false";',
        'Unattended-Upgrade::Mail "root";',
        'Unattended-Upgrade::MailReport "on-change";',
        '',
      ].join('\n'),
    ),
  );
}

export async function restoreUnattendedUpgrades(ref: ProvisionRef): Promise<StepOutcome> {
  return merge(await restoreFile(ref, UNATTENDED), await restoreFile(ref, AUTO_UPGRADES));
}

const VERSIONS = '/var/lib/runbook/packages.txt';

// $1 versions file, $2 record dir, $3... packages. Installs what is missing; records versions.
const ENSURE_PACKAGES = `
versions=$1 record=$2; shift 2
state=unchanged
missing=0
for p in "$@"; do
  [ "$(dpkg-query -W -f='\${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing=1
done
if [ $missing = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends -- "$@" >&2
  state=changed
fi
mkdir -p -- "$(dirname -- "$versions")"
dpkg-query -W -f='\${Package} \${Version}\\n' "$@" > "$versions.raw"
sort -- "$versions.raw" > "$versions.new"; rm -f -- "$versions.raw"
if cmp -s -- "$versions.new" "$versions"; then
  rm -f -- "$versions.new"
else
  mv -f -- "$versions.new" "$versions"; state=changed
fi
cat -- "$versions"
echo $state`;

export async function ensurePackages(ref: ProvisionRef): Promise<StepOutcome & { versions: Record<string, string> }> {
  const { packages } = provisionConfig(ref.env);
  const result = await script(ref, ENSURE_PACKAGES, [VERSIONS, recordDir(ref.runId), ...packages], {
    timeoutMs: 30 * 60_000,
    retryable: false,
  });
  const lines = result.stdout.trim().split('\n');
  const done = outcome(result);
  const versions = Object.fromEntries(lines.slice(0, -1).map((l) => l.split(' ') as [string, string]));
  return { ...done, detail: done.changed ? `recorded in ${VERSIONS}` : undefined, versions };
}
