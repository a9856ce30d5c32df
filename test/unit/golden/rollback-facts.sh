docker image ls --filter 'label=l9.service=l9' --filter 'reference=l9-api' --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |
  sort -u | xargs -r docker image inspect -f '{{index .Config.Labels "l9.tag"}} {{index .Config.Labels "l9.commit"}} {{.Id}} {{.Created}} {{range .RepoTags}}{{.}},{{end}}' 2>/dev/null |
  while read -r k_tag k_commit k_id k_built k_refs; do
    case ",$k_refs," in *',l9-api:'"$k_tag,"*) ;; *) continue ;; esac
    if [ "$(git -C '/opt/l9/repo.git' rev-parse -q --verify "refs/tags/$k_tag^{commit}" 2>/dev/null)" = "$k_commit" ]; then echo 'kept='"$k_tag $k_commit $k_id $k_built"; fi
  done || true
tail -n 1000 '/opt/l9/deploys.jsonl' 2>/dev/null | sed 's/^/journal=/'
printf 'active=%s\n' "$(tr -d '\n' 2>/dev/null <'/opt/l9/state/active.json')"
docker inspect --type container -f '{{index .Config.Labels "l9.tag"}}' 'l9-blue' 2>/dev/null | sed 's/^/slot=blue /'
docker inspect --type container -f '{{index .Config.Labels "l9.tag"}}' 'l9-green' 2>/dev/null | sed 's/^/slot=green /'
