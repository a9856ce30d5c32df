set -eu
umask 027
L9_STEP='preflight'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
for tool in docker git curl sha256sum df; do command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed on the host"; done
docker info >/dev/null 2>&1 || fail "the Docker daemon does not answer (is dockerd running? try: systemctl status docker)"
curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/config/' || fail 'Caddy'\''s admin API does not answer at 127.0.0.1:2019 (is caddy running with its admin endpoint there?)'
dir='/opt/l9'
while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
docker_root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)
[ -d "$docker_root" ] || docker_root=/
for d in "$dir" "$docker_root"; do
  free_mb=$(df -Pm "$d" | awk 'NR==2 {print $4}')
  [ "$free_mb" -ge 2048 ] || fail "only $free_mb MiB free on the filesystem of $d, below minFreeDiskMb=2048 (free space, or lower it: pulumi config set minFreeDiskMb N)"
done
command -v openssl >/dev/null 2>&1 || fail "'openssl' is not installed on the host (needed to check certificates; or: pulumi config set minCertDays 0)"
if curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/l9-config-acd419a603fc' 2>/dev/null; then
  cert=$(openssl s_client -connect '127.0.0.1:443' -servername 'api.example.com' </dev/null 2>/dev/null | openssl x509 2>/dev/null) || cert=
  [ -n "$cert" ] || fail 'Caddy serves no certificate for api.example.com on 127.0.0.1:443 (check Caddy'\''s log; or: pulumi config set minCertDays 0)'
  until=$(printf '%s
' "$cert" | openssl x509 -noout -enddate | cut -d= -f2)
  printf '%s
' "$cert" | openssl x509 -noout -checkend 1209600 >/dev/null || fail 'the certificate Caddy serves for api.example.com expires'" $until, "'within minCertDays=14 days (renew it: check Caddy'\''s log and its ACME account; or: pulumi config set minCertDays N)'
  say 'certificate for api.example.com valid until'" $until"
  cert=$(openssl s_client -connect '127.0.0.1:443' -servername 'www.example.com' </dev/null 2>/dev/null | openssl x509 2>/dev/null) || cert=
  [ -n "$cert" ] || fail 'Caddy serves no certificate for www.example.com on 127.0.0.1:443 (check Caddy'\''s log; or: pulumi config set minCertDays 0)'
  until=$(printf '%s
' "$cert" | openssl x509 -noout -enddate | cut -d= -f2)
  printf '%s
' "$cert" | openssl x509 -noout -checkend 1209600 >/dev/null || fail 'the certificate Caddy serves for www.example.com expires'" $until, "'within minCertDays=14 days (renew it: check Caddy'\''s log and its ACME account; or: pulumi config set minCertDays N)'
  say 'certificate for www.example.com valid until'" $until"
else
  say "certificates: Caddy does not run the site's current config yet; it obtains them when the switch loads it"
fi
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
