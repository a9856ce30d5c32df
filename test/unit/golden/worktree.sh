set -eu
umask 027
L9_STEP='checkout v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
mirror='/opt/l9/repo.git'; wt='/opt/l9/releases/v1.2.0-l9'; commit='0123456789abcdef0123456789abcdef01234567'
mkdir -p '/opt/l9/releases'
if [ -e "$wt/.git" ]; then
  git -C "$wt" checkout --quiet --force --detach "$commit" >&2
  git -C "$wt" clean --quiet -fdx >&2
else
  rm -rf "$wt"
  git -C "$mirror" worktree prune
  git -C "$mirror" worktree add --quiet --force --detach "$wt" "$commit" >&2
fi
[ "$(git -C "$wt" rev-parse HEAD)" = "$commit" ] || fail "worktree $wt is not at $commit after checkout"
say 'v1.2.0-l9 checked out at' "$wt"
echo "$commit"
