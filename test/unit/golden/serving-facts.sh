if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
echo "routing=$routing"
printf 'journal=%s\n' "$(tr -d '\n' <'/opt/l9/state/active.json' 2>/dev/null)"
printf 'servers=%s\n' "$(curl -fsS -m 5 'http://127.0.0.1:2019/config/apps/http/servers' 2>/dev/null | tr -d '\n')"
docker inspect -f '{{.Name}} {{with index .Config.Labels "l9.tag"}}{{.}}{{end}} {{.HostConfig.NetworkMode}}' 'l9-blue' 'l9-green' 2>/dev/null | sed 's/^/container=/'
docker ps -aq | xargs -r docker inspect -f '{{.Name}} {{.State.Status}} {{with index .Config.Labels "l9.service"}}{{.}}{{else}}-{{end}}{{range $p, $b := .HostConfig.PortBindings}}{{range $b}} {{.HostPort}}{{end}}{{end}}' 2>/dev/null | sed 's/^/published=/'
docker image ls --filter 'label=l9.service=l9' --filter 'reference=l9-api' --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |
  sort -u | xargs -r docker image inspect -f '{{index .Config.Labels "l9.tag"}} {{index .Config.Labels "l9.commit"}} {{.Id}} {{.Created}} {{range .RepoTags}}{{.}},{{end}}' 2>/dev/null |
  while read -r k_tag k_commit k_id k_built k_refs; do
    case ",$k_refs," in *',l9-api:'"$k_tag,"*) ;; *) continue ;; esac
    if [ "$(git -C '/opt/l9/repo.git' rev-parse -q --verify "refs/tags/$k_tag^{commit}" 2>/dev/null)" = "$k_commit" ]; then echo 'kept='"$k_tag $k_commit $k_id $k_built"; fi
  done || true
for w in '/opt/l9/releases'/*/; do
  [ -d "$w" ] || continue
  w=${w%/}; w=${w##*/}
  case "$w" in [!A-Za-z0-9_]*|*[!A-Za-z0-9._-]*) continue ;; esac
  printf 'worktree=%s\n' "$w"
done
