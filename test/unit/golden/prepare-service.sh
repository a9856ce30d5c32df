set -eu
umask 027
L9_STEP='service l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
mkdir -p '/opt/l9' '/opt/l9/state' '/opt/l9/releases' && chmod 750 '/opt/l9' '/opt/l9/state' '/opt/l9/releases'
mkdir -p '/opt/l9/shared' && chmod 700 '/opt/l9/shared'
mkdir -p '/var/lib/l9-deploy' && chmod 755 '/var/lib/l9-deploy'
mkdir -p '/var/lib/l9-deploy/l9' && chmod 755 '/var/lib/l9-deploy/l9'
mkdir -p '/var/lib/l9-deploy/l9/caddy' && chmod 755 '/var/lib/l9-deploy/l9/caddy'
say '/opt/l9 ready'
