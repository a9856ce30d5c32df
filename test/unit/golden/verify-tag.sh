set -eu
umask 027
L9_STEP='releaseTag v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
mirror='/opt/l9/repo.git'; tag='v1.2.0-l9'; main='main'; url='git@example.com:team/l9-api.git'
mkdir -p "$(dirname "$mirror")"
if [ ! -d "$mirror" ]; then
  say "cloning $url"
  git clone --quiet --mirror "$url" "$mirror" >&2 || fail "repoUrl: cannot clone $url from the host"
else
  git -C "$mirror" remote set-url origin "$url"
  git -C "$mirror" fetch --quiet --prune --prune-tags origin >&2 || fail "repoUrl: cannot fetch $url from the host"
fi
type=$(git -C "$mirror" cat-file -t "refs/tags/$tag" 2>/dev/null || true)
[ -n "$type" ] || fail "releaseTag: tag $tag does not exist in $url (push it first: git push origin $tag)"
[ "$type" = tag ] || fail "releaseTag: tag $tag is a lightweight tag; release tags must be annotated (git tag -a $tag -m ...)"
commit=$(git -C "$mirror" rev-parse "refs/tags/$tag^{commit}")
git -C "$mirror" rev-parse -q --verify "refs/heads/$main" >/dev/null || fail "mainBranch: branch $main does not exist in $url"
git -C "$mirror" merge-base --is-ancestor "$commit" "refs/heads/$main" || fail "releaseTag: tag $tag ($commit) is not reachable from $main; release from $main only"
git -C "$mirror" verify-tag "$tag" >&2 || fail "releaseTag: the signature of tag $tag does not verify (import the signer's key on the host, or set verifyTagSignature false)"
say "$tag is annotated, on $main, at $commit"
printf 'l9.commit=%s\n' "$commit"
printf 'l9.envExample=%s\n' "$(git -C "$mirror" show "$commit:.env.example" 2>/dev/null | base64 -w0)"
