if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
echo "routing=$routing"
printf 'journal=%s\n' "$(tr -d '\n' <'/opt/l9/state/active.json' 2>/dev/null)"
printf 'servers=%s\n' "$(curl -fsS -m 5 'http://127.0.0.1:2019/config/apps/http/servers' 2>/dev/null | tr -d '\n')"
docker inspect -f '{{.Name}} {{with index .Config.Labels "l9.tag"}}{{.}}{{end}} {{.HostConfig.NetworkMode}}' 'l9-blue' 'l9-green' 2>/dev/null | sed 's/^/container=/'
docker ps -aq | xargs -r docker inspect -f '{{.Name}} {{.State.Status}} {{with index .Config.Labels "l9.service"}}{{.}}{{else}}-{{end}}{{range $p, $b := .HostConfig.PortBindings}}{{range $b}} {{.HostPort}}{{end}}{{end}}' 2>/dev/null | sed 's/^/published=/'
