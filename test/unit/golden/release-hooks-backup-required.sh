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
l9_notify_targets='/opt/l9/shared/notify-targets'
json_str() { tr -d '\000-\010\013-\037\177' | tr '\t' ' ' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }'; }
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
    n_file=$(mktemp) || { printf 'warning: notification %s to target %s (%s) was not delivered (no temporary file); the release goes on\n' "$n_event" "$n_i" "$n_format" >&2; continue; }
    printf '%s' "$n_body" >"$n_file" || { rm -f "$n_file"; printf 'warning: notification %s to target %s (%s) was not delivered (cannot write its body); the release goes on\n' "$n_event" "$n_i" "$n_format" >&2; continue; }
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
