set -eu
umask 027
L9_STEP='gate v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
notify() {
  [ -s '/opt/l9/shared/notify-targets' ] || return 0
  [ -x '/opt/l9/bin/l9-notify' ] || { printf 'warning: notification %s not sent (no %s); the release goes on\n' "$1" '/opt/l9/bin/l9-notify' >&2; return 0; }
  '/opt/l9/bin/l9-notify' "$1" "${2:-}" "${3:-}" 'l9-deploy/production' 'l9' 'v1.2.0-l9' 'v1.1.0-l9' 'ops@example.com' '"stack":"l9-deploy/production","service":"l9","tag":"v1.2.0-l9","previousTag":"v1.1.0-l9","actor":"ops@example.com"' || true
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
