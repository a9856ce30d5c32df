set -eu
umask 027
L9_STEP='service l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
if [ -f '/opt/l9/.l9-deploy-owner' ]; then
  owner=$(cat '/opt/l9/.l9-deploy-owner') || fail 'cannot read /opt/l9/.l9-deploy-owner'
  case "$owner" in
    'l9-deploy/production l9') ;;
    'l9-deploy/production '*) say 'taking over /opt/l9 from service '"${owner#* }"' of this stack (a rename)' ;;
    *) fail '/opt/l9 belongs to another l9-deploy stack ('"$owner"'); nothing was changed. Fix: give this service its own directory (pulumi config set appDir /opt/l9); if that stack is gone for good, remove /opt/l9/.l9-deploy-owner on the host' ;;
  esac
elif [ -d '/opt/l9' ] && [ -n "$(ls -A '/opt/l9')" ]; then
  if [ -d '/opt/l9/state' ] && [ -d '/opt/l9/releases' ]; then
    say 'claiming /opt/l9: an earlier l9-deploy version deployed here'
  else
    fail '/opt/l9 is not empty and no l9-deploy stack owns it; nothing was changed (l9-deploy owns its appDir entirely). Fix: choose a new or empty directory (pulumi config set appDir /opt/l9), or move what is in it away'
  fi
fi
mkdir -p '/opt/l9' || fail 'cannot create /opt/l9'
printf '%s\n' 'l9-deploy/production l9' >'/opt/l9/.l9-deploy-owner' || fail 'cannot write /opt/l9/.l9-deploy-owner'
mkdir -p '/opt/l9' '/opt/l9/state' '/opt/l9/releases' || fail 'cannot create /opt/l9 and its state and releases directories'
chmod 750 '/opt/l9' '/opt/l9/state' '/opt/l9/releases' || fail 'cannot set mode 750 on /opt/l9 and its state and releases directories'
mkdir -p '/opt/l9/shared' || fail 'cannot create /opt/l9/shared'
chmod 700 '/opt/l9/shared' || fail 'cannot set mode 700 on /opt/l9/shared'
{ mkdir -p '/var/lib/l9-deploy' && chmod 755 '/var/lib/l9-deploy'; } || fail 'cannot create /var/lib/l9-deploy with mode 755'
{ mkdir -p '/var/lib/l9-deploy/l9' && chmod 755 '/var/lib/l9-deploy/l9'; } || fail 'cannot create /var/lib/l9-deploy/l9 with mode 755'
{ mkdir -p '/var/lib/l9-deploy/l9/caddy' && chmod 755 '/var/lib/l9-deploy/l9/caddy'; } || fail 'cannot create /var/lib/l9-deploy/l9/caddy with mode 755'
say '/opt/l9 ready'
