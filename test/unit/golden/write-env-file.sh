set -eu
umask 027
L9_STEP='env file'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
f='/opt/l9/shared/.env'
mkdir -p "$(dirname "$f")"
umask 077
tmp="$f.tmp.$$"
cat >"$tmp"
chmod 600 "$tmp"
mv -f "$tmp" "$f"
sha256sum "$f" | cut -d' ' -f1 >"$f.sha256"
say "wrote $f (mode 600)"
echo written
