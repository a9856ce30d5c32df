set -eu
umask 027
L9_STEP='retire the old deploy'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
admin='http://127.0.0.1:2019'
admin_curl() { curl "$@"; }
dials=
l9_caddy_dials() {
  caddy_config=$(admin_curl -fsS -m 10 "$admin/config/") ||
    fail 'cannot read Caddy'\''s config at 127.0.0.1:2019: no old container is stopped unchecked'
  dials=" $(printf '%s' "$caddy_config" | grep -o '"dial":"[^"]*"' | sed 's/^"dial":"//; s/"$//' | tr '\n' ' ') "
}
if [ "$(docker inspect --type container -f '{{.State.Running}}' 'l9-api-blue' 2>/dev/null)" = true ]; then
  [ -n "$dials" ] || l9_caddy_dials
  network=$(docker inspect --type container -f '{{.HostConfig.NetworkMode}}' 'l9-api-blue') || fail 'cannot read l9-api-blue'\''s network'
  if [ "$network" = host ]; then
    fail 'l9-api-blue runs on the host'\''s network, so l9-deploy cannot tell which of Caddy'\''s routes reach it:' \
      'it was not stopped, and nothing was changed.' \
      'Fix: check that no site of Caddy'\''s proxies to it, stop it yourself, and drop l9-api-blue from adopt.containers'
  fi
  ports=$(docker inspect --type container -f '{{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostPort}} {{end}}{{end}}' 'l9-api-blue') || fail 'cannot read the ports l9-api-blue has bound'
  for port in $ports; do
    case "$dials" in *":$port "*)
      fail "a route of Caddy's still proxies to port $port, which "'l9-api-blue'" publishes: it was not stopped, and nothing was changed." \
        "Fix: point that site at l9-deploy's routes (import the snippet, as caddyHosts[0]'s site does)" \
        "or drop "'l9-api-blue'" from adopt.containers" ;;
    esac
  done
fi
mkdir -p '/srv/l9/state' || fail 'cannot create /srv/l9/state'
if [ -e '/etc/cron.d/l9-health-checks' ]; then
  mv -f '/etc/cron.d/l9-health-checks' '/etc/cron.d/l9-health-checks.disabled-by-l9-deploy' || fail 'cannot rename /etc/cron.d/l9-health-checks'
  say 'renamed /etc/cron.d/l9-health-checks to /etc/cron.d/l9-health-checks.disabled-by-l9-deploy: cron no longer runs it'
elif [ ! -e '/etc/cron.d/l9-health-checks.disabled-by-l9-deploy' ]; then say '/etc/cron.d/l9-health-checks is not on the host: nothing to rename'; fi
if [ -e '/etc/cron.d/l9-health-checks.disabled-by-l9-deploy' ]; then printf 'cron %s\n' '/etc/cron.d/l9-health-checks'; fi
if docker inspect 'l9-api-blue' >/dev/null 2>&1; then
  if [ ! -s '/srv/l9/state/old-deploy-l9-api-blue.restart-policy' ]; then docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' 'l9-api-blue' >'/srv/l9/state/old-deploy-l9-api-blue.restart-policy' || fail 'cannot keep l9-api-blue'\''s restart policy'; fi
  docker update --restart=no 'l9-api-blue' >/dev/null || fail 'cannot set l9-api-blue'\''s restart policy to no'
  if [ "$(docker inspect -f '{{.State.Running}}' 'l9-api-blue')" = true ]; then
    say 'stopping l9-api-blue (SIGTERM, 30s grace): l9-deploy serves now; the container is kept'
    docker stop -t 30 'l9-api-blue' >/dev/null || fail 'cannot stop l9-api-blue'
  fi
  printf 'container %s %s\n' 'l9-api-blue' "$(cat '/srv/l9/state/old-deploy-l9-api-blue.restart-policy')"
else
  say 'l9-api-blue is not on the host: nothing to stop'
fi
