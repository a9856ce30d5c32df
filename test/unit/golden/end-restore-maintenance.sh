set -eu
umask 027
L9_STEP='backup restore'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
if [ ! -e '/var/lib/l9-deploy/l9/caddy/l9-maintenance.on' ]; then say "maintenance is not on"; echo off; exit 0; fi
rm -f '/var/lib/l9-deploy/l9/caddy/l9-maintenance.on' || fail 'cannot remove /var/lib/l9-deploy/l9/caddy/l9-maintenance.on'
say "maintenance off: traffic is served"
echo off
