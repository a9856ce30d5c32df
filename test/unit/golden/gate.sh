set -eu
umask 027
L9_STEP='gate v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
c='l9-green'
gate_fail() {
  printf 'gate failed for %s in %s: %s\n' 'v1.2.0-l9' "$c" "$*" >&2
  printf -- '--- last 30 log lines of %s ---\n' "$c" >&2
  docker logs --tail 30 "$c" 2>&1 | sed 's/^/  | /' >&2 || true
  printf -- '--- traffic was not moved ---\n' >&2
  exit 1
}
docker inspect "$c" >/dev/null 2>&1 || fail "container $c does not exist"
if [ "$(docker inspect -f '{{.State.Running}}' "$c")" != true ]; then say "starting $c"; docker start "$c" >/dev/null || gate_fail "container could not be started"; fi
deadline=$(( $(date +%s) + 60 ))
say "waiting up to 60s for $c to report healthy"
while :; do
  running=$(docker inspect -f '{{.State.Running}}' "$c")
  [ "$running" = true ] || gate_fail "check 'running': the container exited (exit code $(docker inspect -f '{{.State.ExitCode}}' "$c"))"
  health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c")
  [ "$health" = healthy ] || [ "$health" = none ] && break
  [ "$(date +%s)" -lt "$deadline" ] || gate_fail "check 'docker health': not healthy within 60s (status: $health)"
  sleep 1
done
say "docker health: $health"
url='http://127.0.0.1:8002/health?deep=1'
while :; do
  out=$(curl -sS -m 5 -w '\n%{http_code}' "$url" 2>&1) || out="$out"
  code=$(printf '%s' "$out" | tail -n 1); body=$(printf '%s' "$out" | sed '$d')
  status_field=$(printf '%s' "$body" | tr -d '\n' | sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
  if [ "$code" = 200 ] && { [ -z "$status_field" ] || [ "$status_field" = healthy ]; }; then break; fi
  [ "$(date +%s)" -lt "$deadline" ] || gate_fail 'check '\''health endpoint'\'': GET /health?deep=1 answered '"$code ${status_field:+(status \"$status_field\")} within 60s"
  sleep 1
done
say "health endpoint: 200${status_field:+, status $status_field}"
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X 'GET' 'http://127.0.0.1:8002/api/smoke' 2>/dev/null || true)
[ "$code" = 200 ] || gate_fail 'check '\''smoke GET /api/smoke'\'': expected 200, got '"$code"
say 'smoke GET /api/smoke: 200'
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X 'HEAD' 'http://127.0.0.1:8002/' 2>/dev/null || true)
[ "$code" = 204 ] || gate_fail 'check '\''smoke HEAD /'\'': expected 204, got '"$code"
say 'smoke HEAD /: 204'
logs=$(docker logs --since 360s "$c" 2>&1 || true)
if printf '%s\n' "$logs" | grep -F -q -- 'Traceback'; then gate_fail 'check '\''log scan'\'': the logs contain "Traceback":'" $(printf '%s\n' "$logs" | grep -F -m 1 -- 'Traceback')"; fi
if printf '%s\n' "$logs" | grep -F -q -- 'it'\''s fatal'; then gate_fail 'check '\''log scan'\'': the logs contain "it'\''s fatal":'" $(printf '%s\n' "$logs" | grep -F -m 1 -- 'it'\''s fatal')"; fi
say "log scan: clean"
echo passed
