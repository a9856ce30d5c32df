set -eu
umask 027
L9_STEP='backup copy key'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
mkdir -p '/opt/l9/shared' || fail 'cannot create /opt/l9/shared'
f='/opt/l9/shared/backup-copy-key'
umask 077
tmp="$f.tmp.$$"
{ cat >"$tmp" && chmod 600 "$tmp" && mv -f "$tmp" "$f"; } || { rm -f "$tmp"; fail "cannot write $f"; }
say "wrote $f (mode 600)"
echo written
