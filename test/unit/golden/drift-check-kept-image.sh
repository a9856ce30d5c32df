#!/bin/sh
# l9-deploy drift check for 'l9': generated at each deploy by Pulumi, do not edit.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
svc='l9'; commit='0123456789abcdef0123456789abcdef01234567'
container='l9-green'; image='sha256:abababababababababababababababababababababababababababababababab'; envf='/opt/l9/shared/.env'
drift=0
report() { printf '%s l9-drift service=%s check=%s status=%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$svc" "$1" "$2" "$3"; if [ "$2" = ok ]; then eval "g_$1=0"; else eval "g_$1=1"; drift=1; fi; }
report worktree ok "none: the release returned from its image kept on the host (built from $commit)"
state=$(docker inspect -f '{{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.Image}}' "$container" 2>/dev/null) || state=missing
case "$state" in "true healthy $image"|"true none $image") report container ok "$container running, healthy, deployed image";; *) report container drift "$container: $state (deployed: running healthy $image)";; esac
admin='http://127.0.0.1:2019'
admin_curl() { curl "$@"; }
l9_routing_facts() {
  if [ -e "$1" ]; then routing=green; else routing=blue; fi
  upstream=$(admin_curl -fsS -m 5 "$admin/id/$2$routing$3/upstreams" 2>/dev/null | tr -d ' \n') || upstream=unreachable
  if admin_curl -fsS -m 5 -o /dev/null "$admin/id/$4" 2>/dev/null; then config=current; elif admin_curl -fsS -m 5 -o /dev/null "$admin/config/" 2>/dev/null; then config=stale; else config=unreachable; fi
}
l9_routing_facts '/var/lib/l9-deploy/l9/caddy/l9-green.active' 'l9-' '-upstream' 'l9-config-acd419a603fc'
if [ "$routing" = 'green' ] && [ "$upstream" = '[{"dial":"127.0.0.1:8002"}]' ] && [ "$config" = current ]; then report caddy_upstream ok 'Caddy routes to green (127.0.0.1:8002)'; else report caddy_upstream drift "Caddy routes to $routing, upstreams $upstream, config $config "'(deployed: green, 127.0.0.1:8002, current)'; fi
want=$(cat "$envf.sha256" 2>/dev/null || echo none); got=$(sha256sum "$envf" 2>/dev/null | cut -d' ' -f1)
if [ -n "$got" ] && [ "$got" = "$want" ]; then report env_file ok "unchanged since deploy"; else report env_file drift "$envf ${got:+changed since deploy}${got:-missing}"; fi
cron=$(sha256sum '/etc/cron.d/l9-drift' 2>/dev/null | cut -d' ' -f1)
if [ "$cron" = 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc' ]; then report cron_file ok '/etc/cron.d/l9-drift in place'; else report cron_file drift '/etc/cron.d/l9-drift '"${cron:+edited}${cron:-missing}"; fi
fail() { printf 'drift check: %s\n' "$*" >&2; [ -z "${tmp:-}" ] || rm -f "$tmp"; exit 2; }
mkdir -p '/var/lib/prometheus/node-exporter' || fail 'cannot create /var/lib/prometheus/node-exporter'
tmp=$(mktemp '/var/lib/prometheus/node-exporter/.l9_drift_l9.prom.XXXXXX') || fail 'cannot create a temporary file in /var/lib/prometheus/node-exporter'
{
  echo '# HELP l9_drift_detected 1 when the host differs from what l9-deploy last deployed, else 0.'
  echo '# TYPE l9_drift_detected gauge'
  echo "l9_drift_detected{service=\"$svc\"} $drift"
  echo '# HELP l9_drift_worktree 1 when the worktree check found drift, else 0.'
  echo '# TYPE l9_drift_worktree gauge'
  echo "l9_drift_worktree{service=\"$svc\"} $g_worktree"
  echo '# HELP l9_drift_container 1 when the container check found drift, else 0.'
  echo '# TYPE l9_drift_container gauge'
  echo "l9_drift_container{service=\"$svc\"} $g_container"
  echo '# HELP l9_drift_caddy_upstream 1 when the caddy upstream check found drift, else 0.'
  echo '# TYPE l9_drift_caddy_upstream gauge'
  echo "l9_drift_caddy_upstream{service=\"$svc\"} $g_caddy_upstream"
  echo '# HELP l9_drift_env_file 1 when the env file check found drift, else 0.'
  echo '# TYPE l9_drift_env_file gauge'
  echo "l9_drift_env_file{service=\"$svc\"} $g_env_file"
  echo '# HELP l9_drift_cron_file 1 when the cron file check found drift, else 0.'
  echo '# TYPE l9_drift_cron_file gauge'
  echo "l9_drift_cron_file{service=\"$svc\"} $g_cron_file"
  echo '# HELP l9_drift_last_run_timestamp_seconds When the drift check last ran (Unix time).'
  echo '# TYPE l9_drift_last_run_timestamp_seconds gauge'
  echo "l9_drift_last_run_timestamp_seconds{service=\"$svc\"} $(date +%s)"
} >"$tmp" || fail "cannot write $tmp"
chmod 644 "$tmp" || fail "cannot make $tmp readable (chmod 644)"
mv -f "$tmp" '/var/lib/prometheus/node-exporter/l9_drift_l9.prom' || fail 'cannot install /var/lib/prometheus/node-exporter/l9_drift_l9.prom'
exit $drift
