set -eu
umask 027
L9_STEP='remove checkout v1.2.0-l9'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
git -C '/opt/l9/repo.git' worktree remove --force '/opt/l9/releases/v1.2.0-l9' 2>/dev/null || rm -rf '/opt/l9/releases/v1.2.0-l9'
git -C '/opt/l9/repo.git' worktree prune 2>/dev/null || true
