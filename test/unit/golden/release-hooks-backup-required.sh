set -eu
umask 027
L9_STEP='hooks v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
command -v flock >/dev/null 2>&1 || fail "'flock' (util-linux) is not installed on the host: release steps need it to run one at a time"
exec 9>>'/opt/l9/state/switch.lock' || fail 'cannot open /opt/l9/state/switch.lock'
if ! flock -n 9; then
  say 'another release step of this service runs on the host (one an interrupted update left?): waiting for it, up to 1500s'
  flock -w 1500 9 || fail 'another release step of this service still ran after 1500s; nothing was changed. Find it with  ps -ef | grep '\''sh -s'\''  and run pulumi up again once it ended'
fi
notify() {
  [ -s '/opt/l9/shared/notify-targets' ] || return 0
  [ -x '/opt/l9/bin/l9-notify' ] || { printf 'warning: notification %s not sent (no %s); the release goes on\n' "$1" '/opt/l9/bin/l9-notify' >&2; return 0; }
  '/opt/l9/bin/l9-notify' "$1" "${2:-}" "${3:-}" 'l9-deploy/production' 'l9' 'v1.2.0-l9' 'v1.1.0-l9' 'ops@example.com' '"stack":"l9-deploy/production","service":"l9","tag":"v1.2.0-l9","previousTag":"v1.1.0-l9","actor":"ops@example.com"' || true
}
hook_fail() { # hook_fail <hook> <message> <output file>
  out_tail=$(tail -n 30 "$3" 2>/dev/null | tr -d '\000-\010\013-\037\177' || true)
  printf '%s\n' "$out_tail" | sed 's/^/  | /' >&2
  notify failure "hook '$1': $2" "$out_tail"
  fail "hook '$1' $2; traffic was not moved. Last lines above."
}
command -v timeout >/dev/null 2>&1 || fail "'timeout' (coreutils) is not installed on the host: the release hooks need it to stop a hook after hookTimeoutSeconds"
out=$(mktemp) || fail "cannot create a temporary file for the hooks' output"
hooks_cleanup() { rm -f "$out"; }
trap hooks_cleanup EXIT
trap 'hooks_cleanup; exit 1' HUP INT PIPE TERM
mkdir -p '/opt/l9/backups' || fail 'cannot create the backup directory /opt/l9/backups'
chmod 700 '/opt/l9/backups' || fail 'cannot make the backup directory /opt/l9/backups private (chmod 700)'
file='/opt/l9/backups'/$(date -u +%Y%m%dT%H%M%SZ)-'v1.2.0-l9'
say "backup: running the backup hook (at most 600 s) into $file"
backup_started=$(date +%s)
if ( while IFS= read -r kv; do case "$kv" in [A-Z_]*=*) export "$kv" ;; esac; done <'/opt/l9/shared/.env'; exec timeout -k 10 600 sh -c 'backup_db.sh -' ) >"$file.partial" 2>"$out" && { [ -s "$file.partial" ] || { echo "the backup command wrote nothing" >>"$out"; false; }; }; then
  mv -f "$file.partial" "$file"
  say "backup: $file ($(wc -c <"$file") bytes)"
else
  rc=$?
  rm -f "$file.partial"
  if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ $(( $(date +%s) - backup_started )) -ge 600 ]; }; then
    hook_fail backup 'did not finish within hookTimeoutSeconds=600 s and was stopped (backupRequired=true)' "$out"
  fi
  hook_fail backup "failed (exit $rc; backupRequired=true)" "$out"
fi
ls -1 '/opt/l9/backups' | grep -v '\.partial$' | sort -r | tail -n +4 | while read -r old; do rm -f '/opt/l9/backups'/"$old"; say "backup: removed $old"; done
date -u +%Y-%m-%dT%H:%M:%SZ
