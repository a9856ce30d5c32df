set -eu
umask 027
L9_STEP='kept release v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
mirror='/opt/l9/repo.git'; tag='v1.2.0-l9'; main='main'; url='git@example.com:team/l9-api.git'
[ -d "$mirror" ] || fail "releaseTag: the host has no mirror at $mirror to return $tag from (its image is kept, its tag is not)"
say "verifying $tag in the host's mirror (no fetch: its image is kept on the host)"
type=$(git -C "$mirror" cat-file -t "refs/tags/$tag" 2>/dev/null || true)
[ -n "$type" ] || fail "releaseTag: tag $tag does not exist in $url (push it first: git push origin $tag)"
[ "$type" = tag ] || fail "releaseTag: tag $tag is a lightweight tag; release tags must be annotated (git tag -a $tag -m ...)"
commit=$(git -C "$mirror" rev-parse "refs/tags/$tag^{commit}")
git -C "$mirror" rev-parse -q --verify "refs/heads/$main" >/dev/null || fail "mainBranch: branch $main does not exist in $url"
git -C "$mirror" merge-base --is-ancestor "$commit" "refs/heads/$main" || fail "releaseTag: tag $tag ($commit) is not reachable from $main; release from $main only"
git -C "$mirror" verify-tag "$tag" >&2 || fail "releaseTag: the signature of tag $tag does not verify (import the signer's key on the host, or set verifyTagSignature false)"
say "$tag is annotated, on $main, at $commit"
ref='l9-api:v1.2.0-l9'
existing=$(docker image inspect -f '{{index .Config.Labels "l9.commit"}}' "$ref" 2>/dev/null) || fail 'the image l9-api:v1.2.0-l9 is no longer on the host (pruned or removed since the plan): run pulumi up again; it then checks out and builds v1.2.0-l9'
[ "$existing" = "$commit" ] || fail "$ref was built from $existing, not from $commit, where the host's mirror has the tag"
say "$ref is kept on the host, built from $commit: no checkout, no build"
printf 'l9.commit=%s\n' "$commit"
printf 'l9.envExample=%s\n' "$(git -C "$mirror" show "$commit:.env.example" 2>/dev/null | base64 -w0)"
printf 'l9.imageId=%s\n' "$(docker image inspect -f '{{.Id}}' "$ref")"
