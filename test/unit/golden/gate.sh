set -eu
umask 027
L9_STEP='gate v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
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
c='l9-green'
gate_fail() {
  printf 'gate failed for %s in %s: %s\n' 'v1.2.0-l9' "$c" "$*" >&2
  log_tail=$(docker logs --tail 30 "$c" 2>&1 | tr -d '\000-\010\013-\037\177' || true)
  printf -- '--- last 30 log lines of %s ---\n' "$c" >&2
  printf '%s\n' "$log_tail" | sed 's/^/  | /' >&2
  printf -- '--- traffic was not moved ---\n' >&2
  notify failure 'gate: '"$*" "$log_tail"
  exit 1
}
docker inspect "$c" >/dev/null 2>&1 || fail "container $c does not exist"
if [ "$(docker inspect -f '{{.State.Running}}' "$c")" != true ]; then say "starting $c"; docker start "$c" >/dev/null || gate_fail "container could not be started"; fi
deadline=$(( $(date +%s) + 60 ))
nap() { sleep 0.2 2>/dev/null || sleep 1; }
say "waiting up to 60s for $c to report healthy"
while :; do
  running=$(docker inspect -f '{{.State.Running}}' "$c")
  [ "$running" = true ] || gate_fail "check 'running': the container exited (exit code $(docker inspect -f '{{.State.ExitCode}}' "$c"))"
  health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c")
  [ "$health" = healthy ] || [ "$health" = none ] && break
  [ "$(date +%s)" -lt "$deadline" ] || gate_fail "check 'docker health': not healthy within 60s (status: $health)"
  nap
done
say "docker health: $health"
check_health() {
  out=$(curl -sS -m 5 -w '\n%{http_code}' 'http://127.0.0.1:8002/health?deep=1' 2>&1) || out="$out"
  code=$(printf '%s' "$out" | tail -n 1); body=$(printf '%s' "$out" | sed '$d')
  status_field=$(printf '%s' "$body" | tr -d '\n' | sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' | tr -d '\000-\010\013-\037\177')
  if [ "$code" = 200 ] && { [ -z "$status_field" ] || [ "$status_field" = healthy ]; }; then return 0; fi
  check_failed='check '\''health endpoint'\'': GET /health?deep=1 answered '"$code${status_field:+ (status \"$status_field\")}"
  return 1
}
check_smoke() {
  code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X 'GET' 'http://127.0.0.1:8002/api/smoke' 2>/dev/null || true)
  [ "$code" = 200 ] || { check_failed='check '\''smoke GET /api/smoke'\'': expected 200, got '"$code"; return 1; }
  code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X 'HEAD' 'http://127.0.0.1:8002/' 2>/dev/null || true)
  [ "$code" = 204 ] || { check_failed='check '\''smoke HEAD /'\'': expected 204, got '"$code"; return 1; }
  return 0
}
until check_health; do
  [ "$(date +%s)" -lt "$deadline" ] || gate_fail "$check_failed within 60s"
  nap
done
say "health endpoint: 200${status_field:+, status $status_field}"
check_smoke || gate_fail "$check_failed"
say 'smoke requests: 2 passed'
logs=$(docker logs --since 360s "$c" 2>&1 || true)
if printf '%s\n' "$logs" | grep -F -q -- 'Traceback'; then gate_fail 'check '\''log scan'\'': the logs contain "Traceback":'" $(printf '%s\n' "$logs" | grep -F -m 1 -- 'Traceback' | tr -d '\000-\010\013-\037\177')"; fi
if printf '%s\n' "$logs" | grep -F -q -- 'it'\''s fatal'; then gate_fail 'check '\''log scan'\'': the logs contain "it'\''s fatal":'" $(printf '%s\n' "$logs" | grep -F -m 1 -- 'it'\''s fatal' | tr -d '\000-\010\013-\037\177')"; fi
say "log scan: clean"
echo passed
