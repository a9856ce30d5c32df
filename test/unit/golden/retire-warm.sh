set -eu
umask 027
L9_STEP='retire green'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
command -v flock >/dev/null 2>&1 || fail "'flock' (util-linux) is not installed on the host: release steps need it to run one at a time"
exec 9>>'/opt/l9/state/switch.lock' || fail 'cannot open /opt/l9/state/switch.lock'
if ! flock -n 9; then
  say 'another release step of this service runs on the host (one an interrupted update left?): waiting for it, up to 420s'
  flock -w 420 9 || fail 'another release step of this service still ran after 420s; nothing was changed. Find it with  ps -ef | grep '\''sh -s'\''  and run pulumi up again once it ended'
fi
say 'keeping l9-green running as warm standby'
in_use=$(docker ps -a --format '{{.Image}}' | xargs -r docker image inspect -f '{{.Id}}' 2>/dev/null || true)
docker image ls --filter 'label=l9.service=l9' --format '{{.CreatedAt}}\t{{.ID}}' | sort -r | cut -f2 | awk '!seen[$0]++' | tail -n +6 | while read -r img; do
  full=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || continue
  case "$in_use" in *"$full"*) continue;; esac
  say "pruning image $img"; docker image rm -f "$img" >/dev/null 2>&1 || true
done
