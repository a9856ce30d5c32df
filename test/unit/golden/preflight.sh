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
say "host ready: docker, caddy admin and disk space ok"
echo ok
