set -eu
umask 027
L9_STEP='canary v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
notify() {
  [ -s '/opt/l9/shared/notify-targets' ] || return 0
  [ -x '/opt/l9/bin/l9-notify' ] || { printf 'warning: notification %s not sent (no %s); the release goes on\n' "$1" '/opt/l9/bin/l9-notify' >&2; return 0; }
  '/opt/l9/bin/l9-notify' "$1" "${2:-}" "${3:-}" 'l9-deploy/production' 'l9' 'v1.2.0-l9' 'v1.1.0-l9' 'ops@example.com' '"stack":"l9-deploy/production","service":"l9","tag":"v1.2.0-l9","previousTag":"v1.1.0-l9","actor":"ops@example.com"' || true
}
admin='http://127.0.0.1:2019'
api() { curl -sS -m 10 -H 'Content-Type: application/json' "$@"; }
curl -fsS -m 5 -o /dev/null "$admin/config/" || fail 'Caddy'\''s admin API does not answer at 127.0.0.1:2019; traffic was not moved'
mkdir -p '/opt/l9' '/opt/l9/state' '/opt/l9/releases' || fail 'cannot create /opt/l9 and its state and releases directories'
chmod 750 '/opt/l9' '/opt/l9/state' '/opt/l9/releases' || fail 'cannot set mode 750 on /opt/l9 and its state and releases directories'
mkdir -p '/opt/l9/shared' || fail 'cannot create /opt/l9/shared'
chmod 700 '/opt/l9/shared' || fail 'cannot set mode 700 on /opt/l9/shared'
{ mkdir -p '/var/lib/l9-deploy' && chmod 755 '/var/lib/l9-deploy'; } || fail 'cannot create /var/lib/l9-deploy with mode 755'
{ mkdir -p '/var/lib/l9-deploy/l9' && chmod 755 '/var/lib/l9-deploy/l9'; } || fail 'cannot create /var/lib/l9-deploy/l9 with mode 755'
{ mkdir -p '/var/lib/l9-deploy/l9/caddy' && chmod 755 '/var/lib/l9-deploy/l9/caddy'; } || fail 'cannot create /var/lib/l9-deploy/l9/caddy with mode 755'
command -v flock >/dev/null 2>&1 || fail "'flock' (util-linux) is not installed on the host: release steps need it to run one at a time"
exec 9>>'/opt/l9/state/switch.lock' || fail 'cannot open /opt/l9/state/switch.lock'
if ! flock -n 9; then
  say 'another release step of this service runs on the host (one an interrupted update left?): waiting for it, up to 480s'
  flock -w 480 9 || fail 'another release step of this service still ran after 480s; nothing was changed. Find it with  ps -ef | grep '\''sh -s'\''  and run pulumi up again once it ended'
fi
canary_log_current() { canary_log=$(curl -fsS -m 5 'http://127.0.0.1:2019/config/logging/logs/l9-canary/writer/filename' 2>/dev/null | tr -d '"\n' || true); case "$canary_log" in '/var/lib/l9-deploy/l9/canary'/access-*.log) [ -f "$canary_log" ] ;; *) return 1 ;; esac; }
load_config() {
  { mkdir -p '/var/lib/l9-deploy/l9/canary' && chmod 1733 '/var/lib/l9-deploy/l9/canary'; } || fail 'cannot create /var/lib/l9-deploy/l9/canary with mode 1733'
  if ! canary_log_current; then
    canary_id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    [ ${#canary_id} -eq 16 ] || fail "cannot read 8 random bytes from /dev/urandom for the canary access log's name"
    canary_log='/var/lib/l9-deploy/l9/canary'/access-$(date -u +%Y%m%dT%H%M%SZ)-$canary_id.log
  fi
  logs=$(curl -fsS -m 5 "$admin/config/logging/logs" 2>/dev/null || true)
  case "$logs" in
    "{"*) ;;
    *) logging=$(curl -fsS -m 5 "$admin/config/logging" 2>/dev/null || true)
       case "$logging" in "{"*) api -f -X POST -d '{}' "$admin/config/logging/logs" >&2 ;; *) api -f -X POST -d '{"logs":{}}' "$admin/config/logging" >&2 ;; esac || fail "cannot create Caddy's logging config" ;;
  esac
  api -f -X POST -d "$(printf '{"writer":{"output":"file","filename":"%s","roll":false},"encoder":{"format":"json"},"include":["http.log.access.l9-canary"]}' "$canary_log")" 'http://127.0.0.1:2019/config/logging/logs/l9-canary' >&2 || fail 'Caddy refused the canary access log '"$canary_log"' (may Caddy'\''s user write /var/lib/l9-deploy/l9/canary?)'
  default_log=$(curl -fsS -m 5 "$admin/config/logging/logs/default" 2>/dev/null || true)
  case "$default_log" in "{"*) ;; *) api -f -X POST -d '{"exclude":["http.log.access.l9-canary"]}' "$admin/config/logging/logs/default" >&2 || true ;; esac
  servers=$(curl -fsS -m 5 "$admin/config/apps/http/servers" 2>/dev/null || true)
  case "$servers" in
    "{"*) ;;
    *) apps=$(curl -fsS -m 5 "$admin/config/apps" 2>/dev/null || true)
       case "$apps" in "{"*) api -f -X POST -d '{"servers":{}}' "$admin/config/apps/http" >&2 ;; *) api -f -X POST -d '{"http":{"servers":{}}}' "$admin/config/apps" >&2 ;; esac || fail "cannot create Caddy's http app" ;;
  esac
case "$(curl -fsS -m 5 'http://127.0.0.1:2019/config/apps/http/servers/l9' 2>/dev/null)" in
  "{"*'/var/lib/l9-deploy/l9/caddy/'*) caddy_server_name='l9'; caddy_server=yes ;;
  *) caddy_server_name='l9-l9'
     case "$(curl -fsS -m 5 'http://127.0.0.1:2019/config/apps/http/servers/l9-l9' 2>/dev/null)" in "{"*'/var/lib/l9-deploy/l9/caddy/'*) caddy_server=yes ;; "{"*) caddy_server=foreign ;; *) caddy_server=no ;; esac ;;
esac
[ "$caddy_server" != foreign ] || fail 'Caddy runs a server named l9-l9 that l9-deploy did not create (no routing marker of l9 in it): it is left as it is, and traffic was not moved. Fix: give the service another name (pulumi config set serviceName ...), or remove that server from Caddy'\''s config if it is not needed'
  say 'loading Caddy server '"$caddy_server_name"' on :443'
  api -f -X POST -d '{"listen":[":443"],"logs":{"default_logger_name":"l9-canary"},"routes":[{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-maintenance.on"]},"not":[{"path":["/health"]}]}],"handle":[{"handler":"vars","skip_log":true},{"handler":"headers","request":{"delete":["If-None-Match","If-Modified-Since","If-Match","If-Unmodified-Since","If-Range","Range"]},"response":{"set":{"Retry-After":["300"],"Cache-Control":["no-store"]}}},{"handler":"rewrite","method":"GET","uri":"/l9-maintenance.txt"},{"handler":"file_server","root":"/var/lib/l9-deploy/l9/caddy","status_code":503}],"terminal":true},{"match":[{"host":["api.example.com"],"expression":"!({http.request.cookie.l9_canary_bucket} != null && string({http.request.cookie.l9_canary_bucket}).matches(\"^[0-9a-f]{2}\"))"}],"handle":[{"handler":"headers","response":{"add":{"Set-Cookie":["l9_canary_bucket={http.request.uuid}; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax"]}}}]},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-canary-green-10.on"]},"expression":"(({http.request.cookie.l9_canary_bucket} != null && string({http.request.cookie.l9_canary_bucket}).matches(\"^[0-9a-f]{2}\")) ? string({http.request.cookie.l9_canary_bucket}) : string({http.request.uuid})).substring(0, 2) < \"1a\""}],"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:8002"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-canary-green-20.on"]},"expression":"(({http.request.cookie.l9_canary_bucket} != null && string({http.request.cookie.l9_canary_bucket}).matches(\"^[0-9a-f]{2}\")) ? string({http.request.cookie.l9_canary_bucket}) : string({http.request.uuid})).substring(0, 2) < \"33\""}],"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:8002"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-canary-blue-10.on"]},"expression":"(({http.request.cookie.l9_canary_bucket} != null && string({http.request.cookie.l9_canary_bucket}).matches(\"^[0-9a-f]{2}\")) ? string({http.request.cookie.l9_canary_bucket}) : string({http.request.uuid})).substring(0, 2) < \"1a\""}],"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:8001"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-canary-blue-20.on"]},"expression":"(({http.request.cookie.l9_canary_bucket} != null && string({http.request.cookie.l9_canary_bucket}).matches(\"^[0-9a-f]{2}\")) ? string({http.request.cookie.l9_canary_bucket}) : string({http.request.uuid})).substring(0, 2) < \"33\""}],"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:8001"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-green.active"]}}],"handle":[{"handler":"vars","skip_log":true},{"handler":"reverse_proxy","@id":"l9-green-upstream","upstreams":[{"dial":"127.0.0.1:8002"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"]}],"handle":[{"handler":"vars","skip_log":true},{"handler":"reverse_proxy","@id":"l9-blue-upstream","upstreams":[{"dial":"127.0.0.1:8001"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true,"@id":"l9-config-0e6009723ccd"}]}' "$admin/config/apps/http/servers/$caddy_server_name" >&2 || fail "Caddy refused the server config"
}
{ curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/l9-config-0e6009723ccd' 2>/dev/null && canary_log_current; } || load_config
if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
upstream=$(curl -fsS -m 5 'http://127.0.0.1:2019/id/l9-'"$routing"'-upstream/upstreams' 2>/dev/null | tr -d ' \n') || upstream=unreachable
if curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/l9-config-0e6009723ccd' 2>/dev/null; then config=current; elif curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/config/' 2>/dev/null; then config=stale; else config=unreachable; fi
if [ "$routing" = 'green' ]; then say 'green already serves: no canary'; date -u +%Y-%m-%dT%H:%M:%SZ; exit 0; fi
container_is_new() { [ "$(date -d "$(docker inspect -f '{{.Created}}' "$1")" +%s)" -ge "$(cat '/opt/l9/state/attempt-started' 2>/dev/null || echo 0)" ]; }
if ! container_is_new 'l9-green'; then say 'l9-green is the standby returning, not a new release: no canary (a plain switch)'; date -u +%Y-%m-%dT%H:%M:%SZ; exit 0; fi
canary_log_current || fail 'Caddy does not write the canary access log in /var/lib/l9-deploy/l9/canary (may Caddy'\''s user write there?)'
log=$canary_log
[ -r "$log" ] || fail "the deploy user cannot read the canary access log $log"
clear_canary() {
  rm -f '/var/lib/l9-deploy/l9/caddy/l9-canary-'*.on
}
trap clear_canary EXIT
trap 'clear_canary; exit 1' HUP INT TERM
judge() {
  total=$(tail -c +$((from + 1)) "$log" | grep -c ',"status":[0-9]' || true)
  errors=$(tail -c +$((from + 1)) "$log" | grep -c ',"status":5[0-9][0-9]' || true)
  rate=$(awk -v e="$errors" -v t="$total" 'BEGIN { if (t > 0) printf "%.1f", 100 * e / t; else printf "0" }')
  [ "$total" -ge 20 ] || return 0
  [ $((errors * 10000)) -gt $((250 * total)) ] || return 0
  clear_canary
  log_tail=$(docker logs --tail 30 'l9-green' 2>&1 | tr -d '\000-\010\013-\037\177' || true)
  notify failure 'canary of v1.2.0-l9: error rate '"$rate% ($errors of $total requests)"' above 2.5%; traffic returned to blue' "$log_tail"
  printf '%s\n' "$log_tail" | sed 's/^/  | /' >&2
  fail 'step '"$1/2 ($2%): error rate $rate% ($errors of $total canary requests answered 5xx or failed to connect) is above maxErrorRate "'2.5%; the canary was rolled back: 0% of requests to green, blue serves them all'
}
say 'step 1/2: 10% of requests to green (v1.2.0-l9) for 60s; above 2.5% errors the canary ends'
from=$(stat -c %s "$log")
{ tmp='/var/lib/l9-deploy/l9/caddy/l9-canary-green-10.on'.$$ && date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" '/var/lib/l9-deploy/l9/caddy/l9-canary-green-10.on'; } || fail 'cannot write /var/lib/l9-deploy/l9/caddy/l9-canary-green-10.on'
step_end=$(( $(date +%s) + 60 ))
while [ "$(date +%s)" -lt "$step_end" ]; do sleep 1; judge 1 10; done
if [ "$total" -ge 20 ]; then say 'step 1/2: '"$total canary requests, $errors errors ($rate%)"; else printf '%s\n' 'warning: canary step 1/2 of v1.2.0-l9 saw only '"$total"' requests (fewer than minRequests 20): its error rate was not judged' >&2; fi
say 'step 2/2: 20% of requests to green (v1.2.0-l9) for 60s; above 2.5% errors the canary ends'
from=$(stat -c %s "$log")
{ tmp='/var/lib/l9-deploy/l9/caddy/l9-canary-green-20.on'.$$ && date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" '/var/lib/l9-deploy/l9/caddy/l9-canary-green-20.on'; } || fail 'cannot write /var/lib/l9-deploy/l9/caddy/l9-canary-green-20.on'
rm -f '/var/lib/l9-deploy/l9/caddy/l9-canary-green-10.on'
step_end=$(( $(date +%s) + 60 ))
while [ "$(date +%s)" -lt "$step_end" ]; do sleep 1; judge 2 20; done
if [ "$total" -ge 20 ]; then say 'step 2/2: '"$total canary requests, $errors errors ($rate%)"; else printf '%s\n' 'warning: canary step 2/2 of v1.2.0-l9 saw only '"$total"' requests (fewer than minRequests 20): its error rate was not judged' >&2; fi
clear_canary
say 'canary passed: 2 steps up to 20% of requests; the switch promotes v1.2.0-l9'
date -u +%Y-%m-%dT%H:%M:%SZ
