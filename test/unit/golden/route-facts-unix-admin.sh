if [ -e '/var/lib/l9-deploy/l9/caddy/l9-green.active' ]; then routing=green; else routing=blue; fi
upstream=$(curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 'http://127.0.0.1/id/l9-'"$routing"'-upstream/upstreams' 2>/dev/null | tr -d ' \n') || upstream=unreachable
if curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 -o /dev/null 'http://127.0.0.1/id/l9-config-acd419a603fc' 2>/dev/null; then config=current; elif curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 -o /dev/null 'http://127.0.0.1/config/' 2>/dev/null; then config=stale; else config=unreachable; fi
printf 'routing=%s\nupstream=%s\nconfig=%s\n' "$routing" "$upstream" "$config"
