set -eu
umask 027
L9_STEP='switch to green'
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
  say 'another release step of this service runs on the host (one an interrupted update left?): waiting for it, up to 420s'
  flock -w 420 9 || fail 'another release step of this service still ran after 420s; nothing was changed. Find it with  ps -ef | grep '\''sh -s'\''  and run pulumi up again once it ended'
fi
load_config() {
  case "$(curl -fsS -m 5 'http://127.0.0.1:2019/config/logging/logs/l9-canary' 2>/dev/null || true)" in "{"*) curl -fsS -m 10 -X DELETE 'http://127.0.0.1:2019/config/logging/logs/l9-canary' >/dev/null || fail "Caddy refused to remove the canary's access log" ;; esac
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
  api -f -X POST -d '{"listen":[":443"],"routes":[{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-maintenance.on"]},"not":[{"path":["/health"]}]}],"handle":[{"handler":"headers","request":{"delete":["If-None-Match","If-Modified-Since","If-Match","If-Unmodified-Since","If-Range","Range"]},"response":{"set":{"Retry-After":["300"],"Cache-Control":["no-store"]}}},{"handler":"rewrite","method":"GET","uri":"/l9-maintenance.txt"},{"handler":"file_server","root":"/var/lib/l9-deploy/l9/caddy","status_code":503}],"terminal":true},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-green.active"]}}],"handle":[{"handler":"reverse_proxy","@id":"l9-green-upstream","upstreams":[{"dial":"127.0.0.1:8002"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"]}],"handle":[{"handler":"reverse_proxy","@id":"l9-blue-upstream","upstreams":[{"dial":"127.0.0.1:8001"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true,"@id":"l9-config-acd419a603fc"}]}' "$admin/config/apps/http/servers/$caddy_server_name" >&2 || fail "Caddy refused the server config"
}
curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/l9-config-acd419a603fc' 2>/dev/null || load_config
container_is_new() { [ "$(date -d "$(docker inspect -f '{{.Created}}' "$1")" +%s)" -ge "$(cat '/opt/l9/state/attempt-started' 2>/dev/null || echo 0)" ]; }
if container_is_new 'l9-green'; then release=yes; else release=no; fi
l9_record='{"id":"0123456789ab","tag":"v1.2.0-l9","commit":"0123456789abcdef0123456789abcdef01234567","imageId":"sha256:abababababababababababababababababababababababababababababababab","slot":"green","status":"@STATUS@","release":"@RELEASE@","envFingerprint":"@ENV@","actor":"ops@example.com","time":"@TIME@"}'
env_fp=$(cut -c1-16 '/opt/l9/shared/.env.sha256' 2>/dev/null || true)
case "$env_fp" in "" | *[!0-9a-f]*) env_fp=unknown ;; esac
record_as() { printf '%s\n' "$l9_record" | sed -e "s/@STATUS@/$1/" -e "s/@RELEASE@/$release/" -e "s/@ENV@/$env_fp/" -e "s/@TIME@/${2:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}/"; }
journal() { record_as "$@" >>'/opt/l9/deploys.jsonl' || fail 'cannot append to /opt/l9/deploys.jsonl'; }
mark_active() { record_as "$@" >'/opt/l9/state/active.json.tmp' || fail 'cannot write /opt/l9/state/active.json.tmp'; install_active; }
install_active() { mv -f '/opt/l9/state/active.json.tmp' '/opt/l9/state/active.json' || fail 'cannot replace /opt/l9/state/active.json'; }
settled=no
if grep -qF '{"id":"0123456789ab","tag":"v1.2.0-l9","commit":"0123456789abcdef0123456789abcdef01234567","imageId":"sha256:abababababababababababababababababababababababababababababababab","slot":"green",' '/opt/l9/state/active.json' 2>/dev/null; then already_live=yes; else already_live=no; fi
if [ "$already_live" = yes ]; then
  release=$(sed -n 's/.*"release":"\([a-z]*\)".*/\1/p' '/opt/l9/state/active.json')
  if grep -qF '"status":"live"' '/opt/l9/state/active.json'; then settled=yes; fi
fi
if [ "$already_live" = no ]; then
  if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routed=green; else routed=blue; fi
  if grep -qF "\"slot\":\"$routed\"" '/opt/l9/state/active.json' 2>/dev/null; then cp -f '/opt/l9/state/active.json' '/opt/l9/state/previous.json' || fail 'cannot keep /opt/l9/state/previous.json'; else rm -f '/opt/l9/state/previous.json' || fail 'cannot remove /opt/l9/state/previous.json'; fi
  journal switching
  mark_active switching
fi
{ tmp='/var/lib/l9-deploy/l9/caddy/l9-green.active'.$$ && date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" '/var/lib/l9-deploy/l9/caddy/l9-green.active'; } || fail 'cannot write /var/lib/l9-deploy/l9/caddy/l9-green.active'
if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
upstream=$(curl -fsS -m 5 'http://127.0.0.1:2019/id/l9-'"$routing"'-upstream/upstreams' 2>/dev/null | tr -d ' \n') || upstream=unreachable
if curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/l9-config-acd419a603fc' 2>/dev/null; then config=current; elif curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/config/' 2>/dev/null; then config=stale; else config=unreachable; fi
if [ "$upstream" != '[{"dial":"127.0.0.1:8002"}]' ]; then say 'Caddy'\''s green upstream is'" $upstream, "'not 127.0.0.1:8002: restoring the config'; load_config; if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi; upstream=$(curl -fsS -m 5 'http://127.0.0.1:2019/id/l9-'"$routing"'-upstream/upstreams' 2>/dev/null | tr -d ' \n') || upstream=unreachable; if curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/l9-config-acd419a603fc' 2>/dev/null; then config=current; elif curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/config/' 2>/dev/null; then config=stale; else config=unreachable; fi; fi
[ "$routing" = 'green' ] && [ "$upstream" = '[{"dial":"127.0.0.1:8002"}]' ] && [ "$config" = current ] || fail 'Caddy does not route to green (127.0.0.1:8002) after the switch:'" routing $routing, upstream $upstream, config $config"
say 'Caddy now routes to green (127.0.0.1:8002)'
time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
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
  return 0
}
switch_back() {
  log_tail=$(docker logs --tail 30 'l9-green' 2>&1 | tr -d '\000-\010\013-\037\177' || true)
  if [ "$release" != yes ] || [ "$settled" = yes ]; then journal failed-after-switch; mark_active failed-after-switch; notify failure 'watch: '"$check_failed" "$log_tail"; fail 'post-switch watch: '"$check_failed"'; green is not a new release (a rollback or a heal), so traffic stays on it'; fi
  [ "$(docker inspect -f '{{.State.Running}}' 'l9-blue' 2>/dev/null)" = true ] || { journal failed-after-switch; mark_active failed-after-switch; notify failure 'watch: '"$check_failed" "$log_tail"; fail 'post-switch watch: '"$check_failed"'; the standby l9-blue is not running, so traffic stays on green'; }
  curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:8001/health?deep=1' || { journal failed-after-switch; mark_active failed-after-switch; notify failure 'watch: '"$check_failed" "$log_tail"; fail 'post-switch watch: '"$check_failed"'; the standby l9-blue does not answer its health endpoint either, so traffic stays on green'; }
  say 'switching traffic back to blue (l9-blue, v1.1.0-l9)'
rm -f '/var/lib/l9-deploy/l9/caddy/l9-green.active'
  if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
  upstream=$(curl -fsS -m 5 'http://127.0.0.1:2019/id/l9-'"$routing"'-upstream/upstreams' 2>/dev/null | tr -d ' \n') || upstream=unreachable
  if curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/l9-config-acd419a603fc' 2>/dev/null; then config=current; elif curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/config/' 2>/dev/null; then config=stale; else config=unreachable; fi
  [ "$routing" = 'blue' ] && [ "$upstream" = '[{"dial":"127.0.0.1:8001"}]' ] || fail 'switch-back to blue could not be verified:'" routing $routing, upstream $upstream"
  journal switched-back
  if [ -f '/opt/l9/state/previous.json' ]; then cp -f '/opt/l9/state/previous.json' '/opt/l9/state/active.json.tmp' || fail 'cannot copy /opt/l9/state/previous.json'; install_active; else mark_active switched-back; fi
  notify rollback 'automatic switch-back to v1.1.0-l9: '"$check_failed" "$log_tail"
  printf '%s
' "$log_tail" | sed 's/^/  | /' >&2
  fail 'post-switch watch: '"$check_failed ($w_fails times in a row)"'; traffic was switched back to blue (v1.1.0-l9)'
}
say 'watching green for 60s (health and smoke every second; 3 failures in a row switch back)'
w_end=$(( $(date +%s) + 60 )); w_fails=0
while [ "$(date +%s)" -lt "$w_end" ]; do
  if check_health && check_smoke; then w_fails=0; else w_fails=$((w_fails + 1)); say "watch: $check_failed ($w_fails/3)"; [ "$w_fails" -lt 3 ] || switch_back; fi
  sleep 1
done
say 'watch: green passed 60s of checks'" ($w_fails failed at the end, below 3)"
if [ "$settled" = no ]; then
  journal live "$time"
  mark_active live "$time"
fi
if docker inspect 'l9-blue' >/dev/null 2>&1; then say 'draining l9-blue (SIGTERM, 30s grace)'; docker stop -t 30 'l9-blue' >/dev/null || say 'could not stop l9-blue'; fi
in_use=$(docker ps -a --format '{{.Image}}' | xargs -r docker image inspect -f '{{.Id}}' 2>/dev/null || true)
docker image ls --filter 'label=l9.service=l9' --format '{{.CreatedAt}}\t{{.ID}}' | sort -r | cut -f2 | awk '!seen[$0]++' | tail -n +4 | while read -r img; do
  full=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || continue
  case "$in_use" in *"$full"*) continue;; esac
  say "pruning image $img"; docker image rm -f "$img" >/dev/null 2>&1 || true
done
if [ "$already_live" = no ]; then if [ "$release" = yes ]; then notify success; else notify rollback; fi; fi
rm -f '/opt/l9/state/attempt-started'
echo "$time"
