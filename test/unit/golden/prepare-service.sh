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
    *) fail '/opt/l9 belongs to another l9-deploy stack ('"$owner"'); nothing was changed. Fix: give this service its own directory (pulumi config set appDir /srv/l9); if that stack is gone for good, remove /opt/l9/.l9-deploy-owner on the host' ;;
  esac
elif [ -d '/opt/l9' ] && [ -n "$(ls -A '/opt/l9')" ]; then
  if [ -d '/opt/l9/state' ] && [ -d '/opt/l9/releases' ]; then
    say 'claiming /opt/l9: an earlier l9-deploy version deployed here'
  else
    fail '/opt/l9 is not empty and no l9-deploy stack owns it; nothing was changed (l9-deploy owns its appDir entirely). Fix: choose a new or empty directory (pulumi config set appDir /srv/l9), or move what is in it away'
  fi
fi
mkdir -p '/opt/l9' || fail 'cannot create /opt/l9'
printf '%s\n' 'l9-deploy/production l9' >'/opt/l9/.l9-deploy-owner' || fail 'cannot write /opt/l9/.l9-deploy-owner'
l9_dirs() {
  d_mode=$1; shift
  for d in "$@"; do { mkdir -p "$d" && chmod "$d_mode" "$d"; } || fail "cannot create $d with mode $d_mode"; done
}
l9_dirs 750 '/opt/l9' '/opt/l9/state' '/opt/l9/releases'
l9_dirs 700 '/opt/l9/shared'
l9_dirs 755 '/var/lib/l9-deploy' '/var/lib/l9-deploy/l9' '/var/lib/l9-deploy/l9/caddy'
say '/opt/l9 ready'
