set -eu
umask 027
L9_STEP='guard green'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
l9_step_lock() {
  command -v flock >/dev/null 2>&1 || fail "'flock' (util-linux) is not installed on the host: release steps need it to run one at a time"
  exec 9>>"$1" || fail "cannot open $1"
  if ! flock -n 9; then
    say "another release step of this service runs on the host (one an interrupted update left?): waiting for it, up to $2s"
    flock -w "$2" 9 || fail "another release step of this service still ran after $2s; nothing was changed. Find it with  ps -ef | grep 'sh -s'  and run pulumi up again once it ended"
  fi
}
if [ -d '/opt/l9/state' ]; then
l9_step_lock '/opt/l9/state/switch.lock' 420
fi
for m in '/var/lib/l9-deploy/l9/caddy/l9-canary-green-'*.on; do
  [ -e "$m" ] || continue
  say "removing $m: a canary that was interrupted left it, and no canary runs now"
  rm -f "$m" || fail "cannot remove $m"
done
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
if [ ! -f '/opt/l9/state/active.json' ] && [ "$caddy_server" = no ]; then echo "nothing was switched on this host yet"; exit 0; fi
if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
if [ "$routing" != 'green' ]; then echo "Caddy routes to $routing"; exit 0; fi
if ! running_image=$(docker inspect -f '{{.Image}}' 'l9-green' 2>/dev/null); then echo 'l9-green does not exist'; exit 0; fi
running_tag=$(docker inspect -f '{{index .Config.Labels "l9.tag"}}' 'l9-green')
running_network=$(docker inspect -f '{{.HostConfig.NetworkMode}}' 'l9-green')
if [ "$running_network" = default ]; then running_network=bridge; fi
if [ "$running_image" = 'sha256:abababababababababababababababababababababababababababababababab' ] && [ "$running_tag" = 'v1.2.0-l9' ] && [ "$running_network" = 'bridge' ]; then echo 'l9-green already runs v1.2.0-l9'; exit 0; fi
fail 'refusing to replace green (l9-green'", running $running_tag, $running_network network): "'Caddy routes to it, and this update would put v1.2.0-l9 (bridge network) there. Nothing was changed. The stack'\''s record is older than the host (an update interrupted after its switch?): run pulumi up again, it plans from what the host serves; if this repeats, the plan is wrong, report it with the output of: cat /opt/l9/state/active.json; ls /var/lib/l9-deploy/l9/caddy'
