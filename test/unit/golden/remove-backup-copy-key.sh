set -eu
umask 027
L9_STEP='backup copy key'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
rm -f '/opt/l9/shared/backup-copy-key' '/opt/l9/state/backup-copy-known-hosts' || fail 'cannot remove /opt/l9/shared/backup-copy-key or /opt/l9/state/backup-copy-known-hosts'
rm -rf '/opt/l9/state/backup-copied' || fail 'cannot remove /opt/l9/state/backup-copied'
