set -eu
umask 027
L9_STEP='hand the host back to the old deploy'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
[ ! -L '/etc/caddy/Caddyfile' ] || fail '/etc/caddy/Caddyfile is a symbolic link (l9-deploy replaces no link); nothing was changed.' 'Fix: put the line back by hand'
if [ -e '/etc/cron.d/l9-health-checks.disabled-by-l9-deploy' ] && [ ! -e '/etc/cron.d/l9-health-checks' ]; then
  mv '/etc/cron.d/l9-health-checks.disabled-by-l9-deploy' '/etc/cron.d/l9-health-checks' || fail 'cannot rename /etc/cron.d/l9-health-checks.disabled-by-l9-deploy back'
  say '/etc/cron.d/l9-health-checks is back: cron runs it again'
fi
if docker inspect 'l9-api-blue' >/dev/null 2>&1; then
  if [ -s '/srv/l9/state/old-deploy-l9-api-blue.restart-policy' ]; then docker update --restart="$(cat '/srv/l9/state/old-deploy-l9-api-blue.restart-policy')" 'l9-api-blue' >/dev/null || fail 'cannot restore l9-api-blue'\''s restart policy'; fi
  docker start 'l9-api-blue' >/dev/null || fail 'cannot start l9-api-blue'
  rm -f '/srv/l9/state/old-deploy-l9-api-blue.restart-policy'
  say 'l9-api-blue runs again'
fi
l9_caddy_validate() {
  vhome=$(mktemp -d) || return 1
  v_status=0
  XDG_DATA_HOME="$vhome" XDG_CONFIG_HOME="$vhome" caddy validate --config "$1" --adapter caddyfile >"$vhome/validate.log" 2>&1 || v_status=1
  [ "$v_status" = 0 ] || tail -5 "$vhome/validate.log" >&2
  rm -rf "$vhome"
  return "$v_status"
}
l9_replace_caddyfile() {
  if [ -L "$2" ]; then
    rm -f "$1"
    fail "$2 is a symbolic link, which l9-deploy does not replace." "Fix: set caddyfile to the file it points to, $(readlink -f "$2")"
  fi
  cp -p "$2" "$2.l9-deploy-previous" || { rm -f "$1"; fail "cannot keep a copy of $2"; }
  { chown --reference="$2" "$1" && chmod --reference="$2" "$1"; } || { rm -f "$1"; fail "cannot give the new $2 the old one's owner and mode"; }
  mv -f "$1" "$2" || { rm -f "$1"; fail "cannot replace $2"; }
}
waited=0
until curl -gfsS -m 2 -o /dev/null 'http://127.0.0.1:8000/health'; do
  [ "$waited" -lt 120 ] || fail 'the old deploy does not answer http://127.0.0.1:8000/health after 120s: /etc/caddy/Caddyfile still routes to l9-deploy'\''s slots'
  sleep 1; waited=$((waited + 1))
done
edited='/etc/caddy/Caddyfile'.l9-deploy.$$
if awk -v snippet='/etc/caddy/l9-deploy/l9.caddy' -v dial='127.0.0.1:8000' '{ t = $0; gsub(/^[ \t]+|[ \t]+$/, "", t)
  if (t == "import " snippet) { match($0, /^[ \t]*/); print substr($0, 1, RLENGTH) "reverse_proxy " dial; n++ } else print }
END { if (n != 1) exit 3 }' '/etc/caddy/Caddyfile' >"$edited"; then
  l9_caddy_validate "$edited" || { rm -f "$edited"; fail 'Caddy does not accept /etc/caddy/Caddyfile with reverse_proxy 127.0.0.1:8000 back; it is left as it was'; }
  l9_replace_caddyfile "$edited" '/etc/caddy/Caddyfile'
  if ! caddy reload --config '/etc/caddy/Caddyfile' --adapter caddyfile --force >/dev/null 2>&1; then
    cp -p '/etc/caddy/Caddyfile.l9-deploy-previous' '/etc/caddy/Caddyfile' || fail 'Caddy did not reload /etc/caddy/Caddyfile, and putting back /etc/caddy/Caddyfile.l9-deploy-previous failed: do it by hand'
    fail 'Caddy did not reload /etc/caddy/Caddyfile; it is left as it was, routing to l9-deploy'\''s slots (check: journalctl -u caddy)'
  fi
  say '/etc/caddy/Caddyfile: the site proxies to 127.0.0.1:8000 again, and Caddy reloaded it'
else
  rm -f "$edited"
  say '/etc/caddy/Caddyfile does not import /etc/caddy/l9-deploy/l9.caddy (once): left as it is'
fi
