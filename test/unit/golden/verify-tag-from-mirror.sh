set -eu
umask 027
L9_STEP='releaseTag v1.2.0-l9'
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
say "$tag is annotated, on $main, at $commit"
printf 'l9.commit=%s\n' "$commit"
printf 'l9.envExample=%s\n' "$(git -C "$mirror" show "$commit:.env.example" 2>/dev/null | base64 -w0)"
