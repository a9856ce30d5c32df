set -eu
umask 027
L9_STEP='hooks v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
l9_notify_targets='/opt/l9/shared/notify-targets'
json_str() { tr -d '\000-\010\013-\037' | tr '\t' ' ' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }'; }
notify() {
  [ -s "$l9_notify_targets" ] || return 0
  n_event=$1; n_check=${2:-}; n_tail=$(printf '%s' "${3:-}" | tail -c 3000)
  n_commit=$(git --git-dir='/opt/l9/repo.git' rev-parse -q --verify 'v1.2.0-l9^{commit}' 2>/dev/null || echo unknown)
  n_duration=null
  if [ -f '/opt/l9/state/attempt-started' ]; then n_duration=$(( $(date +%s) - $(cat '/opt/l9/state/attempt-started') )); fi
  n_text=$(printf '[%s] %s %s: %s\nprevious: %s\ncommit: %.12s\nduration: %ss\nby: %s' 'l9-deploy/production' 'l9' 'v1.2.0-l9' "$n_event" 'v1.1.0-l9' "$n_commit" "$n_duration" 'ops@example.com')
  [ -z "$n_check" ] || n_text="$n_text$(printf '\ncheck: %s' "$n_check")"
  [ -z "$n_tail" ] || n_text="$n_text$(printf '\nlog tail:\n%s' "$n_tail")"
  n_i=0
  while IFS="$(printf '\t')" read -r n_format n_url n_chat; do
    n_i=$((n_i + 1))
    case "$n_format" in
      telegram) n_body=$(printf '{"chat_id":"%s","text":"%s"}' "$(printf '%s' "$n_chat" | json_str)" "$(printf '%s' "$n_text" | json_str)") ;;
      *) n_body=$(printf '{"text":"%s","event":"%s",%s,"commit":"%s","durationSeconds":%s,"check":"%s","logTail":"%s"}' "$(printf '%s' "$n_text" | json_str)" "$n_event" '"stack":"l9-deploy/production","service":"l9","tag":"v1.2.0-l9","previousTag":"v1.1.0-l9","actor":"ops@example.com"' "$n_commit" "$n_duration" "$(printf '%s' "$n_check" | json_str)" "$(printf '%s' "$n_tail" | json_str)") ;;
    esac
    n_file=$(mktemp) && printf '%s' "$n_body" >"$n_file"
    n_code=$(printf 'url = "%s"
' "$n_url" | curl -sS -m 10 --connect-timeout 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$n_file" -K - 2>/dev/null) || true
    rm -f "$n_file"
    case "$n_code" in
      2??) printf '[notify] %s sent to target %s (%s)\n' "$n_event" "$n_i" "$n_format" >&2 ;;
      *) printf 'warning: notification %s to target %s (%s) was not delivered (HTTP %s); the release goes on\n' "$n_event" "$n_i" "$n_format" "${n_code:-000}" >&2 ;;
    esac
  done <"$l9_notify_targets"
  return 0
}
hook_fail() { # hook_fail <hook> <message> <output file>
  out_tail=$(tail -n 30 "$3" 2>/dev/null || true)
  printf '%s\n' "$out_tail" | sed 's/^/  | /' >&2
  notify failure "hook '$1': $2" "$out_tail"
  fail "hook '$1' $2; traffic was not moved. Last lines above."
}
out=$(mktemp) && trap 'rm -f "$out"' EXIT
mkdir -p '/opt/l9/backups' && chmod 700 '/opt/l9/backups'
file='/opt/l9/backups'/$(date -u +%Y%m%dT%H%M%SZ)-'v1.2.0-l9'
say "backup: running the backup hook into $file"
if ( while IFS= read -r kv; do case "$kv" in [A-Z_]*=*) export "$kv" ;; esac; done <'/opt/l9/shared/.env'; exec sh -c 'pg_dump -Fc "$DATABASE_URL"' ) >"$file.partial" 2>"$out" && { [ -s "$file.partial" ] || { echo "the backup command wrote nothing" >>"$out"; false; }; }; then
  mv -f "$file.partial" "$file"
  say "backup: $file ($(wc -c <"$file") bytes)"
else
  rc=$?; rm -f "$file.partial"
  sed 's/^/  | /' "$out" >&2
  printf 'warning: backup hook failed (exit %s); the release goes on (backupRequired=false)\n' "$rc" >&2
fi
ls -1 '/opt/l9/backups' | grep -v '\.partial$' | sort -r | tail -n +8 | while read -r old; do rm -f '/opt/l9/backups'/"$old"; say "backup: removed $old"; done
container_is_new() { [ "$(date -d "$(docker inspect -f '{{.Created}}' "$1")" +%s)" -ge "$(cat '/opt/l9/state/attempt-started' 2>/dev/null || echo 0)" ]; }
if ! container_is_new 'l9-green'; then
  say 'migrate: skipped, l9-green is the standby returning to traffic (no migration on a rollback)'
else
say 'migrate: alembic upgrade head in a one-off container of v1.2.0-l9'
docker rm -f 'l9-migrate' >/dev/null 2>&1 || true
if docker run --rm --name 'l9-migrate' --env-file '/opt/l9/shared/.env' --network host 'sha256:abababababababababababababababababababababababababababababababab' 'alembic' 'upgrade' 'head' >"$out" 2>&1; then
  sed 's/^/  | /' "$out" >&2
  say "migrate: done"
else
  hook_fail migrate "failed (exit $?)" "$out"
fi
fi
date -u +%Y-%m-%dT%H:%M:%SZ
