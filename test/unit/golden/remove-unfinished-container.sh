set -eu
umask 027
L9_STEP='recover l9-green'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
case "$(curl -fsS -m 5 'http://127.0.0.1:2019/config/apps/http/servers/l9' 2>/dev/null)" in
  "{"*'/var/lib/l9-deploy/l9/caddy/'*) caddy_server_name='l9'; caddy_server=yes ;;
  *) caddy_server_name='l9-l9'
     case "$(curl -fsS -m 5 'http://127.0.0.1:2019/config/apps/http/servers/l9-l9' 2>/dev/null)" in "{"*'/var/lib/l9-deploy/l9/caddy/'*) caddy_server=yes ;; "{"*) caddy_server=foreign ;; *) caddy_server=no ;; esac ;;
esac
if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
if [ "$caddy_server" = yes ] && [ "$routing" = 'green' ]; then fail 'Caddy routes to green: l9-green is kept. Nothing was changed; report this with the output of: docker ps -a; ls /var/lib/l9-deploy/l9/caddy'; fi
if ! docker inspect -f '{{.Id}}' 'l9-green' >/dev/null 2>&1; then say 'l9-green is not on the host: nothing to remove'; exit 0; fi
docker rm -f 'l9-green' >/dev/null || fail 'cannot remove l9-green'
say 'removed l9-green: the interrupted update was creating it, and Caddy does not route to it'
