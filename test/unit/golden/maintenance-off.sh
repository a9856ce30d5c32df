set -eu
umask 027
L9_STEP='maintenance off'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
[ -d '/var/lib/l9-deploy/l9/caddy' ] || fail '/var/lib/l9-deploy/l9/caddy is missing: the service'\''s place on the host is not prepared'
{ tmp='/var/lib/l9-deploy/l9/caddy/l9-maintenance.txt'.$$ && printf '%s\n' 'Back soon' >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" '/var/lib/l9-deploy/l9/caddy/l9-maintenance.txt'; } || fail 'cannot write /var/lib/l9-deploy/l9/caddy/l9-maintenance.txt'
rm -f '/var/lib/l9-deploy/l9/caddy/l9-maintenance.on' || fail 'cannot remove /var/lib/l9-deploy/l9/caddy/l9-maintenance.on'
say "off: traffic is served"
echo 'off'
