set -eu
umask 027
L9_STEP='recover l9-green'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
admin='http://127.0.0.1:2019'
admin_curl() { curl "$@"; }
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
if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
if [ "$caddy_server" = yes ] && [ "$routing" = 'green' ]; then fail 'Caddy routes to green: l9-green is kept. Nothing was changed; report this with the output of: docker ps -a; ls /var/lib/l9-deploy/l9/caddy'; fi
if ! docker inspect -f '{{.Id}}' 'l9-green' >/dev/null 2>&1; then say 'l9-green is not on the host: nothing to remove'; exit 0; fi
docker rm -f 'l9-green' >/dev/null || fail 'cannot remove l9-green'
say 'removed l9-green: the interrupted update was creating it, and Caddy does not route to it'
