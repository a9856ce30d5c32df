set -eu
umask 027
L9_STEP='image v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
ref='l9-api:v1.2.0-l9'; commit='0123456789abcdef0123456789abcdef01234567'
existing=$(docker image inspect -f '{{index .Config.Labels "l9.commit"}}' "$ref" 2>/dev/null) || fail 'the image l9-api:v1.2.0-l9 is no longer on the host (pruned or removed since the plan): run pulumi up again; it then checks out and builds v1.2.0-l9'
[ "$existing" = "$commit" ] || fail "$ref was built from $existing, not from $commit, where the host's mirror has the tag"
say "$ref is kept on the host, built from $commit: no checkout, no build"
printf 'l9.imageId=%s\n' "$(docker image inspect -f '{{.Id}}' "$ref")"
