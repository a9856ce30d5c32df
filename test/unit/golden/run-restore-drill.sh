set -eu
umask 027
L9_STEP='backup drill'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
[ -x '/opt/l9/bin/backup-drill' ] || fail '/opt/l9/bin/backup-drill is not on this host: set restoreDrill (needs backup) and pulumi up first'
out=$(mktemp) || fail "cannot create a temporary file"
rc=0; '/opt/l9/bin/backup-drill' >"$out" 2>&1 || rc=$?
cat "$out"
cat "$out" >>'/opt/l9/logs/backup-drill.log' || say 'warning: the run was not appended to /opt/l9/logs/backup-drill.log'
rm -f "$out"
exit "$rc"
