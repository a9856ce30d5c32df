set -eu
umask 027
L9_STEP='notification targets'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
f='/opt/l9/shared/notify-targets'
umask 077
tmp="$f.tmp.$$"
{ cat >"$tmp" && chmod 600 "$tmp" && mv -f "$tmp" "$f"; } || { rm -f "$tmp"; fail "cannot write $f"; }
say "$(wc -l <"$f") notification target(s) in $f (mode 600)"
echo written
