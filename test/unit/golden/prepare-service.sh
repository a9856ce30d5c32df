set -eu
umask 027
L9_STEP='service l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
mkdir -p '/opt/l9' '/opt/l9/state' '/opt/l9/releases' || fail 'cannot create /opt/l9 and its state and releases directories'
chmod 750 '/opt/l9' '/opt/l9/state' '/opt/l9/releases' || fail 'cannot set mode 750 on /opt/l9 and its state and releases directories'
mkdir -p '/opt/l9/shared' || fail 'cannot create /opt/l9/shared'
chmod 700 '/opt/l9/shared' || fail 'cannot set mode 700 on /opt/l9/shared'
{ mkdir -p '/var/lib/l9-deploy' && chmod 755 '/var/lib/l9-deploy'; } || fail 'cannot create /var/lib/l9-deploy with mode 755'
{ mkdir -p '/var/lib/l9-deploy/l9' && chmod 755 '/var/lib/l9-deploy/l9'; } || fail 'cannot create /var/lib/l9-deploy/l9 with mode 755'
{ mkdir -p '/var/lib/l9-deploy/l9/caddy' && chmod 755 '/var/lib/l9-deploy/l9/caddy'; } || fail 'cannot create /var/lib/l9-deploy/l9/caddy with mode 755'
say '/opt/l9 ready'
