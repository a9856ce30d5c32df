set -eu
umask 027
L9_STEP='image v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
ref='l9-api:v1.2.0-l9'; commit='0123456789abcdef0123456789abcdef01234567'; wt='/opt/l9/releases/v1.2.0-l9'; dockerfile='deploy/Dockerfile'
existing=$(docker image inspect -f '{{index .Config.Labels "l9.commit"}}' "$ref" 2>/dev/null || true)
if [ "$existing" = "$commit" ]; then
  say "$ref already built from $commit"
else
  [ "$(git -C "$wt" rev-parse HEAD 2>/dev/null)" = "$commit" ] || fail "worktree $wt is not at $commit"
  [ -f "$wt/$dockerfile" ] || fail 'no deploy/Dockerfile in the repository at v1.2.0-l9 (set dockerfile to its path)'
  say "building $ref from $commit"
  docker build -f "$wt/$dockerfile" -t "$ref" --label 'l9.service=l9' \
    --label 'l9.tag=v1.2.0-l9' --label "l9.commit=$commit" "$wt" >&2 || fail "docker build of $ref failed (see the build output above)"
fi
printf 'l9.imageId=%s\n' "$(docker image inspect -f '{{.Id}}' "$ref")"
