set -eu
umask 027
L9_STEP='keep the old deploy retired'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
say 'left as they are: l9-api-blue (stopped), /etc/cron.d/l9-health-checks.disabled-by-l9-deploy; the commands that bring them back are in the stack output '\''retired'\'' (adopt.handBackOnDestroy runs them on destroy)'
