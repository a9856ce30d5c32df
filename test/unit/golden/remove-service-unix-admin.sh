set -eu
umask 027
L9_STEP='remove service l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
l9_remove_canary_logger() { l9_admin_get "logging/logs/$1"; case "$admin_got" in "{"*) admin_curl -fsS -m 10 -X DELETE "$admin/config/logging/logs/$1" >/dev/null || fail "Caddy refused to remove the canary's access log" ;; esac; }
admin='http://127.0.0.1'
admin_curl() { curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' "$@"; }
l9_admin_get() {
  admin_get_exit=0
  admin_got=$(admin_curl -sS -m 5 -w '%{http_code}' "$admin/config/$1" 2>/dev/null) || admin_get_exit=$?
  [ "$admin_get_exit" -eq 0 ] || fail "Caddy's admin API did not answer GET /config/$1 (curl exit $admin_get_exit)"
  admin_get_status=${admin_got#"${admin_got%???}"}
  admin_got=${admin_got%???}
  case "$admin_get_status:$admin_got" in
    200:*) ;;
    400:*"invalid traversal path"*) admin_got= ;;
    *) fail "Caddy's admin API answered GET /config/$1 with HTTP $admin_get_status, not with its config" ;;
  esac
}
l9_caddy_server_present() {
  l9_admin_get "apps/http/servers/$1"
  case "$admin_got" in
    "{"*"$3"*) caddy_server_name=$1; caddy_server=yes ;;
    *) caddy_server_name=$2
       l9_admin_get "apps/http/servers/$2"
       case "$admin_got" in "{"*"$3"*) caddy_server=yes ;; "{"*) caddy_server=foreign ;; *) caddy_server=no ;; esac ;;
  esac
  if [ "$caddy_server" = no ]; then
    l9_admin_get apps/http/servers
    case "$admin_got" in
      *"\"l9_upstream\":\"$4-blue\""* | *"\"l9_upstream\":\"$4-green\""*) caddy_server_name=; caddy_server=yes ;;
    esac
  fi
}
l9_caddy_server_present 'l9' 'l9-l9' '/var/lib/l9-deploy/l9/caddy/' 'l9'
case "$caddy_server" in
  yes)
    if [ -z "$caddy_server_name" ]; then say 'Caddy routes the service from a Caddyfile site that imports l9-deploy'\''s snippet: the snippet and the import are kept (to go back, restore <Caddyfile>.before-l9-deploy and reload Caddy)'; else
    admin_curl -fsS -m 10 -X DELETE "$admin/config/apps/http/servers/$caddy_server_name" >/dev/null || fail "Caddy refused to remove the server of the service"
    say "Caddy server $caddy_server_name removed"; fi ;;
  foreign) say 'Caddy'\''s server l9-l9 is not one l9-deploy created (no routing marker of l9 in it): left as it is' ;;
esac
l9_remove_canary_logger 'l9-canary'
rm -rf '/var/lib/l9-deploy/l9' || fail 'cannot remove /var/lib/l9-deploy/l9'
rmdir '/var/lib/l9-deploy' 2>/dev/null || true
docker image ls -q --filter 'label=l9.service=l9' | sort -u | xargs -r docker image rm -f >/dev/null 2>&1 || true
rm -f '/var/lib/prometheus/node-exporter/l9_deploy_l9.prom' || fail 'cannot remove /var/lib/prometheus/node-exporter/l9_deploy_l9.prom'
rm -f '/var/lib/prometheus/node-exporter/l9_deploy_run_l9.prom' || fail 'cannot remove /var/lib/prometheus/node-exporter/l9_deploy_run_l9.prom'
owner=$(cat '/opt/l9/.l9-deploy-owner' 2>/dev/null || true)
case "$owner" in
  'l9-deploy/production l9'|"")
    rm -rf '/opt/l9/repo.git' '/opt/l9/releases' '/opt/l9/shared' '/opt/l9/state' '/opt/l9/bin' '/opt/l9/logs' || fail 'cannot remove the service'\''s files in /opt/l9'
    rm -f '/opt/l9/.l9-deploy-owner' || fail 'cannot remove /opt/l9/.l9-deploy-owner'
    say 'removed; kept /opt/l9/deploys.jsonl and /opt/l9/backups' ;;
  *) say '/opt/l9 belongs to '"$owner"' now: its files are left to it' ;;
esac
