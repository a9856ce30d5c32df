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
hooks_cleanup() { rm -f "$out"; docker rm -f 'l9-migrate' >/dev/null 2>&1 || true; }
trap hooks_cleanup EXIT
trap 'hooks_cleanup; exit 1' HUP INT PIPE TERM
mkdir -p '/opt/l9/backups' || fail 'cannot create the backup directory /opt/l9/backups'
chmod 700 '/opt/l9/backups' || fail 'cannot make the backup directory /opt/l9/backups private (chmod 700)'
file='/opt/l9/backups'/$(date -u +%Y%m%dT%H%M%SZ)-'v1.2.0-l9'
say "backup: running the backup hook (at most 600 s) into $file"
backup_started=$(date +%s)
if ( while IFS= read -r kv; do case "$kv" in [A-Z_]*=*) export "$kv" ;; esac; done <'/opt/l9/shared/.env'; exec timeout -k 10 600 sh -c 'pg_dump -Fc "$DATABASE_URL"' ) >"$file.partial" 2>"$out" && { [ -s "$file.partial" ] || { echo "the backup command wrote nothing" >>"$out"; false; }; }; then
  mv -f "$file.partial" "$file"
  say "backup: $file ($(wc -c <"$file") bytes)"
else
  rc=$?
  rm -f "$file.partial"
  if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ $(( $(date +%s) - backup_started )) -ge 600 ]; }; then
    backup_failure='did not finish within hookTimeoutSeconds=600 s and was stopped'
  else
    backup_failure="failed (exit $rc)"
  fi
  tr -d '\000-\010\013-\037\177' <"$out" | sed 's/^/  | /' >&2
  printf 'warning: backup hook %s; the release goes on (backupRequired=false)\n' "$backup_failure" >&2
fi
ls -1 '/opt/l9/backups' | grep -v '\.partial$' | sort -r | tail -n +8 | while read -r old; do rm -f '/opt/l9/backups'/"$old"; say "backup: removed $old"; done
container_is_new() { [ "$(date -d "$(docker inspect -f '{{.Created}}' "$1")" +%s)" -ge "$(cat '/opt/l9/state/attempt-started' 2>/dev/null || echo 0)" ]; }
if ! container_is_new 'l9-green'; then
  say 'migrate: skipped, l9-green is the standby returning to traffic (no migration on a rollback)'
else
  say 'migrate: alembic upgrade head in a one-off container of v1.2.0-l9 (at most 600 s)'
  docker rm -f 'l9-migrate' >/dev/null 2>&1 || true
  docker run -d --name 'l9-migrate' --env-file '/opt/l9/shared/.env' --network host 'sha256:abababababababababababababababababababababababababababababababab' 'alembic' 'upgrade' 'head' >/dev/null 2>"$out" || hook_fail migrate "could not start its container" "$out"
  timeout 600 docker wait 'l9-migrate' >/dev/null 2>"$out" &
  wait_rc=0
  wait "$!" || wait_rc=$?
  if [ "$wait_rc" -eq 124 ]; then
    docker logs --tail 30 'l9-migrate' >"$out" 2>&1 || true
    if docker rm -f 'l9-migrate' >/dev/null 2>>"$out"; then
      hook_fail migrate 'did not finish within hookTimeoutSeconds=600 s; its container was stopped and removed' "$out"
    fi
    hook_fail migrate 'did not finish within hookTimeoutSeconds=600 s; its container l9-migrate could not be removed (docker rm -f it on the host)' "$out"
  elif [ "$wait_rc" -ne 0 ]; then
    hook_fail migrate "could not be waited for (docker wait exit $wait_rc)" "$out"
  fi
  migrate_exit=$(docker inspect -f '{{.State.ExitCode}}' 'l9-migrate' 2>"$out") || hook_fail migrate "finished, but its exit code could not be read" "$out"
  if [ "$migrate_exit" != 0 ]; then
    docker logs --tail 30 'l9-migrate' >"$out" 2>&1 || true
    hook_fail migrate "failed (exit $migrate_exit)" "$out"
  fi
  docker logs 'l9-migrate' 2>&1 | tr -d '\000-\010\013-\037\177' | sed 's/^/  | /' >&2
  docker rm -f 'l9-migrate' >/dev/null 2>&1 || printf 'warning: the finished migration container %s could not be removed\n' 'l9-migrate' >&2
  say "migrate: done"
fi
date -u +%Y-%m-%dT%H:%M:%SZ
