admin='http://127.0.0.1'
admin_curl() { curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' "$@"; }
l9_routing_facts() {
  if [ -e "$1" ]; then routing=green; else routing=blue; fi
  upstream=$(admin_curl -fsS -m 5 "$admin/id/$2$routing$3/upstreams" 2>/dev/null | tr -d ' \n') || upstream=unreachable
  if admin_curl -fsS -m 5 -o /dev/null "$admin/id/$4" 2>/dev/null; then config=current; elif admin_curl -fsS -m 5 -o /dev/null "$admin/config/" 2>/dev/null; then config=stale; else config=unreachable; fi
}
l9_routing_facts '/var/lib/l9-deploy/l9/caddy/l9-green.active' 'l9-' '-upstream' 'l9-config-acd419a603fc'
printf 'routing=%s\nupstream=%s\nconfig=%s\n' "$routing" "$upstream" "$config"
