set -eu
umask 027
L9_STEP='env import'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
f='/opt/l9/.env'
[ -f "$f" ] || fail "$f is not a file on this host"
[ -r "$f" ] || fail "$f is not readable by $(id -un), the stack's sshUser: make it readable to that user (nothing was read)"
cat -- "$f"
