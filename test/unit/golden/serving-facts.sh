if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
echo "routing=$routing"
printf 'journal=%s\n' "$(tr -d '\n' <'/opt/l9/state/active.json' 2>/dev/null)"
case "$(curl -fsS -m 5 'http://127.0.0.1:2019/config/apps/http/servers/l9' 2>/dev/null)" in
  "{"*'/var/lib/l9-deploy/l9/caddy/'*) caddy_server_name='l9'; caddy_server=yes ;;
  *) caddy_server_name='l9-l9'
     case "$(curl -fsS -m 5 'http://127.0.0.1:2019/config/apps/http/servers/l9-l9' 2>/dev/null)" in "{"*'/var/lib/l9-deploy/l9/caddy/'*) caddy_server=yes ;; "{"*) caddy_server=foreign ;; *) caddy_server=no ;; esac ;;
esac
echo "caddy_server=$caddy_server"
printf 'servers=%s\n' "$(curl -fsS -m 5 'http://127.0.0.1:2019/config/apps/http/servers' 2>/dev/null | tr -d '\n')"
printf '%s=%s\n' 'blue' "$(docker inspect -f '{{index .Config.Labels "l9.tag"}}' 'l9-blue' 2>/dev/null)"
printf '%s=%s\n' 'green' "$(docker inspect -f '{{index .Config.Labels "l9.tag"}}' 'l9-green' 2>/dev/null)"
printf '%s=%s\n' 'blue_network' "$(docker inspect -f '{{.HostConfig.NetworkMode}}' 'l9-blue' 2>/dev/null)"
printf '%s=%s\n' 'green_network' "$(docker inspect -f '{{.HostConfig.NetworkMode}}' 'l9-green' 2>/dev/null)"
