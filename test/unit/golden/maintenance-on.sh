set -eu
umask 027
L9_STEP='maintenance on'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
[ -d '/var/lib/l9-deploy/l9/caddy' ] || fail '/var/lib/l9-deploy/l9/caddy is missing: the service'\''s place on the host is not prepared'
{ tmp='/var/lib/l9-deploy/l9/caddy/l9-maintenance.txt'.$$ && printf '%s\n' 'Back at 04:00 UTC; it'\''s a '\''planned'\'' $(upgrade)' >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" '/var/lib/l9-deploy/l9/caddy/l9-maintenance.txt'; } || fail 'cannot write /var/lib/l9-deploy/l9/caddy/l9-maintenance.txt'
{ tmp='/var/lib/l9-deploy/l9/caddy/l9-maintenance.on'.$$ && date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" '/var/lib/l9-deploy/l9/caddy/l9-maintenance.on'; } || fail 'cannot write /var/lib/l9-deploy/l9/caddy/l9-maintenance.on'
say "on: requests outside the allowed paths get 503"
echo 'on'
