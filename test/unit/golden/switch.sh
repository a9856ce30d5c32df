set -eu
umask 027
L9_STEP='switch to green'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
admin='http://127.0.0.1:2019'
api() { curl -sS -m 10 -H 'Content-Type: application/json' "$@"; }
curl -fsS -m 5 -o /dev/null "$admin/config/" || fail 'Caddy'\''s admin API does not answer at 127.0.0.1:2019; traffic was not moved'
mkdir -p '/opt/l9' '/opt/l9/state' '/opt/l9/releases' && chmod 750 '/opt/l9' '/opt/l9/state' '/opt/l9/releases'
mkdir -p '/opt/l9/shared' && chmod 700 '/opt/l9/shared'
mkdir -p '/var/lib/l9-deploy' && chmod 755 '/var/lib/l9-deploy'
mkdir -p '/var/lib/l9-deploy/l9' && chmod 755 '/var/lib/l9-deploy/l9'
mkdir -p '/var/lib/l9-deploy/l9/caddy' && chmod 755 '/var/lib/l9-deploy/l9/caddy'
load_config() {
  say 'loading Caddy server l9 on :443'
  servers=$(curl -fsS -m 5 "$admin/config/apps/http/servers" 2>/dev/null || true)
  case "$servers" in
    "{"*) ;;
    *) apps=$(curl -fsS -m 5 "$admin/config/apps" 2>/dev/null || true)
       case "$apps" in "{"*) api -f -X POST -d '{"servers":{}}' "$admin/config/apps/http" >&2 ;; *) api -f -X POST -d '{"http":{"servers":{}}}' "$admin/config/apps" >&2 ;; esac || fail "cannot create Caddy's http app" ;;
  esac
  api -f -X POST -d '{"listen":[":443"],"routes":[{"match":[{"host":["api.example.com"],"file":{"root":"/","try_files":["/var/lib/l9-deploy/l9/caddy/l9-green.active"]}}],"handle":[{"handler":"reverse_proxy","@id":"l9-green-upstream","upstreams":[{"dial":"127.0.0.1:8002"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true},{"match":[{"host":["api.example.com"]}],"handle":[{"handler":"reverse_proxy","@id":"l9-blue-upstream","upstreams":[{"dial":"127.0.0.1:8001"}],"load_balancing":{"try_duration":"5s","try_interval":"100ms"}}],"terminal":true,"@id":"l9-config-7ae626b1b9bf"}]}' 'http://127.0.0.1:2019/config/apps/http/servers/l9' >&2 || fail "Caddy refused the server config"
}
curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/l9-config-7ae626b1b9bf' 2>/dev/null || load_config
tmp='/var/lib/l9-deploy/l9/caddy/l9-green.active'.$$ && date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" '/var/lib/l9-deploy/l9/caddy/l9-green.active'
if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
upstream=$(curl -fsS -m 5 'http://127.0.0.1:2019/id/l9-'"$routing"'-upstream/upstreams' 2>/dev/null | tr -d ' \n') || upstream=unreachable
if curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/l9-config-7ae626b1b9bf' 2>/dev/null; then config=current; elif curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/config/' 2>/dev/null; then config=stale; else config=unreachable; fi
if [ "$upstream" != '[{"dial":"127.0.0.1:8002"}]' ]; then say 'Caddy'\''s green upstream is'" $upstream, "'not 127.0.0.1:8002: restoring the config'; load_config; if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi; upstream=$(curl -fsS -m 5 'http://127.0.0.1:2019/id/l9-'"$routing"'-upstream/upstreams' 2>/dev/null | tr -d ' \n') || upstream=unreachable; if curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/l9-config-7ae626b1b9bf' 2>/dev/null; then config=current; elif curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/config/' 2>/dev/null; then config=stale; else config=unreachable; fi; fi
[ "$routing" = 'green' ] && [ "$upstream" = '[{"dial":"127.0.0.1:8002"}]' ] && [ "$config" = current ] || fail 'Caddy does not route to green (127.0.0.1:8002) after the switch:'" routing $routing, upstream $upstream, config $config"
say 'Caddy now routes to green (127.0.0.1:8002)'
time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
printf '%s\n' '{"id":"0123456789ab","tag":"v1.2.0-l9","commit":"0123456789abcdef0123456789abcdef01234567","imageId":"sha256:abababababababababababababababababababababababababababababababab","slot":"green","actor":"ops@example.com","status":"live","time":"@TIME@"}' | sed "s/@TIME@/$time/" >>'/opt/l9/deploys.jsonl'
printf '%s\n' '{"id":"0123456789ab","tag":"v1.2.0-l9","commit":"0123456789abcdef0123456789abcdef01234567","imageId":"sha256:abababababababababababababababababababababababababababababababab","slot":"green","actor":"ops@example.com","status":"live","time":"@TIME@"}' | sed "s/@TIME@/$time/" >'/opt/l9/state/active.json'
if docker inspect 'l9-blue' >/dev/null 2>&1; then say 'draining l9-blue (SIGTERM, 30s grace)'; docker stop -t 30 'l9-blue' >/dev/null || say 'could not stop l9-blue'; fi
in_use=$(docker ps -a --format '{{.Image}}' | xargs -r docker image inspect -f '{{.Id}}' 2>/dev/null || true)
docker image ls --filter 'label=l9.service=l9' --format '{{.CreatedAt}}\t{{.ID}}' | sort -r | cut -f2 | awk '!seen[$0]++' | tail -n +4 | while read -r img; do
  full=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || continue
  case "$in_use" in *"$full"*) continue;; esac
  say "pruning image $img"; docker image rm -f "$img" >/dev/null 2>&1 || true
done
echo "$time"
