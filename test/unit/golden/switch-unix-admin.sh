set -eu
umask 027
L9_STEP='switch to blue'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
notify() {
  [ -s '/opt/l9/shared/notify-targets' ] || return 0
  [ -x '/opt/l9/bin/l9-notify' ] || { printf 'warning: notification %s not sent (no %s); the release goes on\n' "$1" '/opt/l9/bin/l9-notify' >&2; return 0; }
  '/opt/l9/bin/l9-notify' "$1" "${2:-}" "${3:-}" 'l9-deploy/production' 'l9' 'v1.2.0-l9' 'v1.1.0-l9' 'ops@example.com' '"stack":"l9-deploy/production","service":"l9","tag":"v1.2.0-l9","previousTag":"v1.1.0-l9","actor":"ops@example.com"' || true
}
admin='http://127.0.0.1'
api() { curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -sS -m 10 -H 'Content-Type: application/json' "$@"; }
curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 -o /dev/null "$admin/config/" || fail 'Caddy'\''s admin API does not answer at unix//run/caddy/admin.sock; traffic was not moved'
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
canary_log_current() { canary_log=$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 'http://127.0.0.1/config/logging/logs/l9-canary/writer/filename' 2>/dev/null | tr -d '"\n' || true); case "$canary_log" in '/var/lib/l9-deploy/l9/canary'/access-*.log) [ -f "$canary_log" ] ;; *) return 1 ;; esac; }
load_config() {
  { mkdir -p '/var/lib/l9-deploy/l9/canary' && chmod 1733 '/var/lib/l9-deploy/l9/canary'; } || fail 'cannot create /var/lib/l9-deploy/l9/canary with mode 1733'
  if ! canary_log_current; then
    canary_id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    [ ${#canary_id} -eq 16 ] || fail "cannot read 8 random bytes from /dev/urandom for the canary access log's name"
    canary_log='/var/lib/l9-deploy/l9/canary'/access-$(date -u +%Y%m%dT%H%M%SZ)-$canary_id.log
  fi
  logs=$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 "$admin/config/logging/logs" 2>/dev/null || true)
  case "$logs" in
    "{"*) ;;
    *) logging=$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 "$admin/config/logging" 2>/dev/null || true)
       case "$logging" in "{"*) api -f -X POST -d '{}' "$admin/config/logging/logs" >&2 ;; *) api -f -X POST -d '{"logs":{}}' "$admin/config/logging" >&2 ;; esac || fail "cannot create Caddy's logging config" ;;
  esac
  api -f -X POST -d "$(printf '{"writer":{"output":"file","filename":"%s","roll":false},"encoder":{"format":"json"},"include":["http.log.access.l9-canary"]}' "$canary_log")" 'http://127.0.0.1/config/logging/logs/l9-canary' >&2 || fail 'Caddy refused the canary access log '"$canary_log"' (may Caddy'\''s user write /var/lib/l9-deploy/l9/canary?)'
  default_log=$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 "$admin/config/logging/logs/default" 2>/dev/null || true)
  case "$default_log" in "{"*) ;; *) api -f -X POST -d '{"exclude":["http.log.access.l9-canary"]}' "$admin/config/logging/logs/default" >&2 || true ;; esac
  servers=$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 "$admin/config/apps/http/servers" 2>/dev/null || true)
  case "$servers" in
    "{"*) ;;
    *) apps=$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 "$admin/config/apps" 2>/dev/null || true)
       case "$apps" in "{"*) api -f -X POST -d '{"servers":{}}' "$admin/config/apps/http" >&2 ;; *) api -f -X POST -d '{"http":{"servers":{}}}' "$admin/config/apps" >&2 ;; esac || fail "cannot create Caddy's http app" ;;
  esac
case "$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 'http://127.0.0.1/config/apps/http/servers/l9' 2>/dev/null)" in
  "{"*'/var/lib/l9-deploy/l9/caddy/'*) caddy_server_name='l9'; caddy_server=yes ;;
  *) caddy_server_name='l9-l9'
     case "$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 'http://127.0.0.1/config/apps/http/servers/l9-l9' 2>/dev/null)" in "{"*'/var/lib/l9-deploy/l9/caddy/'*) caddy_server=yes ;; "{"*) caddy_server=foreign ;; *) caddy_server=no ;; esac ;;
esac
[ "$caddy_server" != foreign ] || fail 'Caddy runs a server named l9-l9 that l9-deploy did not create (no routing marker of l9 in it): it is left as it is, and traffic was not moved. Fix: give the service another name (pulumi config set serviceName ...), or remove that server from Caddy'\''s config if it is not needed'
  say 'loading Caddy server '"$caddy_server_name"' on :443'
  api -f -X POST -d '{"listen":[":443"],"logs":{"default_logger_name":"l9-canary"},"routes":[{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-maintenance.on"]},"not":[{"path":["/health"]}]}],"handle":[{"handler":"vars","skip_log":true},{"handler":"headers","request":{"delete":["If-None-Match","If-Modified-Since","If-Match","If-Unmodified-Since","If-Range","Range"]},"response":{"set":{"Retry-After":["300"],"Cache-Control":["no-store"]}}},{"handler":"rewrite","method":"GET","uri":"/l9-maintenance.txt"},{"handler":"file_server","root":"/var/lib/l9-deploy/l9/caddy","status_code":503}],"terminal":true},{"match":[{"host":["api.example.com"],"expression":"!({http.request.cookie.l9_canary_bucket} != null && string({http.request.cookie.l9_canary_bucket}).matches(\"^[0-9a-f]{2}\"))"}],"handle":[{"handler":"headers","response":{"add":{"Set-Cookie":["l9_canary_bucket={http.request.uuid}; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax"]}}}]},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-canary-green-10.on"]},"expression":"(({http.request.cookie.l9_canary_bucket} != null && string({http.request.cookie.l9_canary_bucket}).matches(\"^[0-9a-f]{2}\")) ? string({http.request.cookie.l9_canary_bucket}) : string({http.request.uuid})).substring(0, 2) < \"1a\""}],"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:8002"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-canary-green-20.on"]},"expression":"(({http.request.cookie.l9_canary_bucket} != null && string({http.request.cookie.l9_canary_bucket}).matches(\"^[0-9a-f]{2}\")) ? string({http.request.cookie.l9_canary_bucket}) : string({http.request.uuid})).substring(0, 2) < \"33\""}],"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:8002"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-canary-blue-10.on"]},"expression":"(({http.request.cookie.l9_canary_bucket} != null && string({http.request.cookie.l9_canary_bucket}).matches(\"^[0-9a-f]{2}\")) ? string({http.request.cookie.l9_canary_bucket}) : string({http.request.uuid})).substring(0, 2) < \"1a\""}],"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:8001"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-canary-blue-20.on"]},"expression":"(({http.request.cookie.l9_canary_bucket} != null && string({http.request.cookie.l9_canary_bucket}).matches(\"^[0-9a-f]{2}\")) ? string({http.request.cookie.l9_canary_bucket}) : string({http.request.uuid})).substring(0, 2) < \"33\""}],"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:8001"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-green.active"]}}],"handle":[{"handler":"vars","skip_log":true},{"handler":"reverse_proxy","@id":"l9-green-upstream","upstreams":[{"dial":"127.0.0.1:8002"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"]}],"handle":[{"handler":"vars","skip_log":true},{"handler":"reverse_proxy","@id":"l9-blue-upstream","upstreams":[{"dial":"127.0.0.1:8001"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true,"@id":"l9-config-0e6009723ccd"}]}' "$admin/config/apps/http/servers/$caddy_server_name" >&2 || fail "Caddy refused the server config"
}
{ curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 -o /dev/null 'http://127.0.0.1/id/l9-config-0e6009723ccd' 2>/dev/null && canary_log_current; } || load_config
container_is_new() { [ "$(date -d "$(docker inspect -f '{{.Created}}' "$1")" +%s)" -ge "$(cat '/opt/l9/state/attempt-started' 2>/dev/null || echo 0)" ]; }
if container_is_new 'l9-blue'; then release=yes; else release=no; fi
l9_record='{"id":"0123456789ab","tag":"v1.2.0-l9","commit":"0123456789abcdef0123456789abcdef01234567","imageId":"sha256:abababababababababababababababababababababababababababababababab","slot":"blue","status":"@STATUS@","release":"@RELEASE@","envFingerprint":"@ENV@","actor":"ops@example.com","time":"@TIME@"}'
env_fp=$(cut -c1-16 '/opt/l9/shared/.env.sha256' 2>/dev/null || true)
case "$env_fp" in "" | *[!0-9a-f]*) env_fp=unknown ;; esac
record_as() { printf '%s\n' "$l9_record" | sed -e "s/@STATUS@/$1/" -e "s/@RELEASE@/$release/" -e "s/@ENV@/$env_fp/" -e "s/@TIME@/${2:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}/"; }
journal() { record_as "$@" >>'/opt/l9/deploys.jsonl' || fail 'cannot append to /opt/l9/deploys.jsonl'; }
mark_active() { record_as "$@" >'/opt/l9/state/active.json.tmp' || fail 'cannot write /opt/l9/state/active.json.tmp'; install_active; }
install_active() { mv -f '/opt/l9/state/active.json.tmp' '/opt/l9/state/active.json' || fail 'cannot replace /opt/l9/state/active.json'; }
settled=no
if grep -qF '{"id":"0123456789ab","tag":"v1.2.0-l9","commit":"0123456789abcdef0123456789abcdef01234567","imageId":"sha256:abababababababababababababababababababababababababababababababab","slot":"blue",' '/opt/l9/state/active.json' 2>/dev/null; then already_live=yes; else already_live=no; fi
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
rm -f '/var/lib/l9-deploy/l9/caddy/l9-green.active'
rm -f '/var/lib/l9-deploy/l9/caddy/l9-canary-'*.on
if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
upstream=$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 'http://127.0.0.1/id/l9-'"$routing"'-upstream/upstreams' 2>/dev/null | tr -d ' \n') || upstream=unreachable
if curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 -o /dev/null 'http://127.0.0.1/id/l9-config-0e6009723ccd' 2>/dev/null; then config=current; elif curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 -o /dev/null 'http://127.0.0.1/config/' 2>/dev/null; then config=stale; else config=unreachable; fi
if [ "$upstream" != '[{"dial":"127.0.0.1:8001"}]' ]; then say 'Caddy'\''s blue upstream is'" $upstream, "'not 127.0.0.1:8001: restoring the config'; load_config; if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi; upstream=$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 'http://127.0.0.1/id/l9-'"$routing"'-upstream/upstreams' 2>/dev/null | tr -d ' \n') || upstream=unreachable; if curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 -o /dev/null 'http://127.0.0.1/id/l9-config-0e6009723ccd' 2>/dev/null; then config=current; elif curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 -o /dev/null 'http://127.0.0.1/config/' 2>/dev/null; then config=stale; else config=unreachable; fi; fi
[ "$routing" = 'blue' ] && [ "$upstream" = '[{"dial":"127.0.0.1:8001"}]' ] && [ "$config" = current ] || fail 'Caddy does not route to blue (127.0.0.1:8001) after the switch:'" routing $routing, upstream $upstream, config $config"
say 'Caddy now routes to blue (127.0.0.1:8001)'
time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
if [ "$settled" = no ]; then
  journal live "$time"
  mark_active live "$time"
fi
say 'keeping l9-green running as warm standby'
in_use=$(docker ps -a --format '{{.Image}}' | xargs -r docker image inspect -f '{{.Id}}' 2>/dev/null || true)
docker image ls --filter 'label=l9.service=l9' --format '{{.CreatedAt}}\t{{.ID}}' | sort -r | cut -f2 | awk '!seen[$0]++' | tail -n +4 | while read -r img; do
  full=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || continue
  case "$in_use" in *"$full"*) continue;; esac
  say "pruning image $img"; docker image rm -f "$img" >/dev/null 2>&1 || true
done
if [ "$already_live" = no ]; then if [ "$release" = yes ]; then notify success; else notify rollback; fi; fi
rm -f '/opt/l9/state/attempt-started'
echo "$time"
