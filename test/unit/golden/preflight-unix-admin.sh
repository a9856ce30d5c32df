set -eu
umask 027
L9_STEP='preflight'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
for tool in docker git curl sha256sum df; do command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed on the host"; done
docker info >/dev/null 2>&1 || fail "the Docker daemon does not answer (is dockerd running? try: systemctl status docker)"
curl --unix-socket '/run/caddy/admin.sock' -H 'Host;' -fsS -m 5 -o /dev/null 'http://127.0.0.1/config/' || fail 'Caddy'\''s admin API does not answer at unix//run/caddy/admin.sock (is caddy running with its admin endpoint there? A socket opens for root and Caddy'\''s user only: is sshUser one of them?)'
dir='/opt/l9'
while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
docker_root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)
[ -d "$docker_root" ] || docker_root=/
for d in "$dir" "$docker_root"; do
  free_mb=$(df -Pm "$d" | awk 'NR==2 {print $4}')
  [ "$free_mb" -ge 2048 ] || fail "only $free_mb MiB free on the filesystem of $d, below minFreeDiskMb=2048 (free space, or lower it: pulumi config set minFreeDiskMb N)"
done
say "host ready: docker, caddy admin and disk space ok"
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
mkdir -p '/opt/l9/state' || fail 'cannot create /opt/l9/state'
date +%s >'/opt/l9/state/attempt-started' || fail 'cannot write /opt/l9/state/attempt-started'
echo ok
