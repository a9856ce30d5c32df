set -eu
umask 027
L9_STEP='caddyfile routes'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
command -v caddy >/dev/null 2>&1 || fail "'caddy' is not installed on the host"
{ mkdir -p '/etc/caddy/l9-deploy' && chmod 755 '/etc/caddy/l9-deploy'; } || fail 'cannot create /etc/caddy/l9-deploy'
if [ -f '/etc/caddy/l9-deploy/l9.caddy' ] && [ "$(sha256sum <'/etc/caddy/l9-deploy/l9.caddy' | cut -c1-64)" = 'e63a9cf5a6b73141be06a17856725639729a80ee711ab8961a3ce34dbf241f0b' ]; then snippet=unchanged; else
  { printf '%s' 'IyBsOS1kZXBsb3kncyByb3V0ZXMgb2Ygc2VydmljZSBsOTogd3JpdHRlbiBieSBsOS1kZXBsb3ksIHdoaWNoIG92ZXJ3cml0ZXMgYW55IGVkaXQuCnZhcnMgbDlfY29uZmlnICJkYmVlOGZlNjk2NGFlMDRmIgpyb3V0ZSB7CglAbDktbDktbWFpbnRlbmFuY2UgewoJCWZpbGUgewoJCQlyb290IC8KCQkJdHJ5X2ZpbGVzICIvdmFyL2xpYi9sOS1kZXBsb3kvbDkvY2FkZHkvbDktbWFpbnRlbmFuY2Uub24iCgkJfQoJCW5vdCBwYXRoICIvaGVhbHRoIgoJfQoJaGFuZGxlIEBsOS1sOS1tYWludGVuYW5jZSB7CgkJcmVxdWVzdF9oZWFkZXIgLUlmLU5vbmUtTWF0Y2gKCQlyZXF1ZXN0X2hlYWRlciAtSWYtTW9kaWZpZWQtU2luY2UKCQlyZXF1ZXN0X2hlYWRlciAtSWYtTWF0Y2gKCQlyZXF1ZXN0X2hlYWRlciAtSWYtVW5tb2RpZmllZC1TaW5jZQoJCXJlcXVlc3RfaGVhZGVyIC1JZi1SYW5nZQoJCXJlcXVlc3RfaGVhZGVyIC1SYW5nZQoJCWhlYWRlciBSZXRyeS1BZnRlciAiMzAwIgoJCWhlYWRlciBDYWNoZS1Db250cm9sIG5vLXN0b3JlCgkJbWV0aG9kIEdFVAoJCXJld3JpdGUgKiAiL2w5LW1haW50ZW5hbmNlLnR4dCIKCQlyb290ICogIi92YXIvbGliL2w5LWRlcGxveS9sOS9jYWRkeSIKCQlmaWxlX3NlcnZlciB7CgkJCXN0YXR1cyA1MDMKCQl9Cgl9CglAbDktbDktZ3JlZW4gZmlsZSB7CgkJcm9vdCAvCgkJdHJ5X2ZpbGVzICIvdmFyL2xpYi9sOS1kZXBsb3kvbDkvY2FkZHkvbDktZ3JlZW4uYWN0aXZlIgoJfQoJaGFuZGxlIEBsOS1sOS1ncmVlbiB7CgkJdmFycyBsOV91cHN0cmVhbSAibDktZ3JlZW4iCgkJcmV2ZXJzZV9wcm94eSAiMTI3LjAuMC4xOjgwMDIiIHsKCQkJbGJfdHJ5X2R1cmF0aW9uIDVzCgkJCWxiX3RyeV9pbnRlcnZhbCAxMDBtcwoJCX0KCX0KCWhhbmRsZSB7CgkJdmFycyBsOV91cHN0cmVhbSAibDktYmx1ZSIKCQlyZXZlcnNlX3Byb3h5ICIxMjcuMC4wLjE6ODAwMSIgewoJCQlsYl90cnlfZHVyYXRpb24gNXMKCQkJbGJfdHJ5X2ludGVydmFsIDEwMG1zCgkJfQoJfQp9Cg==' | base64 -d >'/etc/caddy/l9-deploy/l9.caddy'.$$ && chmod 644 '/etc/caddy/l9-deploy/l9.caddy'.$$ && mv -f '/etc/caddy/l9-deploy/l9.caddy'.$$ '/etc/caddy/l9-deploy/l9.caddy'; } || { rm -f '/etc/caddy/l9-deploy/l9.caddy'.$$; fail 'cannot write /etc/caddy/l9-deploy/l9.caddy'; }
  snippet=written
fi
[ -f '/etc/caddy/Caddyfile' ] || fail '/etc/caddy/Caddyfile does not exist (caddyfile names the Caddyfile Caddy runs)'
[ -f '/etc/caddy/l9-deploy/l9.caddy' ] || fail '/etc/caddy/l9-deploy/l9.caddy must exist before the Caddyfile imports it'
edited='/etc/caddy/Caddyfile'.l9-deploy.$$
awk_edit() { awk -v host='api.example.com' -v dial='127.0.0.1:8000' -v snippet='/etc/caddy/l9-deploy/l9.caddy' 'function norm(t) { sub(/^[a-z]+:\/\//, "", t); sub(/:[0-9]+$/, "", t); return t }
function count(s,   i, ch, q) { opens = 0; closes = 0; q = 0
  for (i = 1; i <= length(s); i++) { ch = substr(s, i, 1)
    if (ch == "\"") q = !q
    else if (!q && ch == "#" && (i == 1 || substr(s, i - 1, 1) ~ /[ \t]/)) break
    else if (!q && ch == "{") opens++
    else if (!q && ch == "}") closes++ } }
{ line = $0; count(line); t = line; gsub(/[ \t]+/, " ", t); sub(/^ /, "", t); sub(/ $/, "", t)
  if (depth == 0 && !in_site && opens > 0) { head = line; sub(/\{.*/, "", head); n = split(head, tok, /[ \t,]+/)
    for (j = 1; j <= n; j++) if (tok[j] != "" && norm(tok[j]) == host) { in_site = 1; site_depth = opens - closes; sites++ } }
  else if (in_site && depth == site_depth) {
    if (t == "import " snippet) already++
    else if (t == "reverse_proxy " dial) { match(line, /^[ \t]*/); line = substr(line, 1, RLENGTH) "import " snippet; edited++ }
    else if (t ~ /^reverse_proxy( |$)/) other++ }
  depth += opens - closes; if (in_site && depth < site_depth) in_site = 0; print line }
END { if (sites != 1) exit 4; if (already > 0 && edited == 0 && other == 0) exit 3; if (edited != 1 || other > 0 || already > 0) exit 5 }' '/etc/caddy/Caddyfile'; }
if awk_edit >"$edited"; then site_edit=edited; else site_edit=$?; fi
case "$site_edit" in
  edited) ;;
  3) rm -f "$edited"; site_edit=already ;;
  4) rm -f "$edited"; fail '/etc/caddy/Caddyfile has no single site block for api.example.com; nothing was changed. Fix: name exactly one site api.example.com, or set caddyHosts to the site'\''s name' ;;
  5) rm -f "$edited"; fail 'the site of api.example.com in /etc/caddy/Caddyfile does not proxy with exactly one line '\''reverse_proxy 127.0.0.1:8000'\''; nothing was changed. Fix: in the site block of api.example.com in /etc/caddy/Caddyfile, replace the line '\''reverse_proxy 127.0.0.1:8000'\'' with '\''import /etc/caddy/l9-deploy/l9.caddy'\'', then reload Caddy' ;;
  *) rm -f "$edited"; fail 'awk could not read /etc/caddy/Caddyfile (exit '"$site_edit)" ;;
esac
if [ "$site_edit" = edited ]; then
  vhome=$(mktemp -d) || fail "cannot create a temporary directory"
  if ! XDG_DATA_HOME="$vhome" XDG_CONFIG_HOME="$vhome" caddy validate --config "$edited" --adapter caddyfile >"$vhome/validate.log" 2>&1; then
    tail -5 "$vhome/validate.log" >&2
    rm -rf "$vhome" "$edited"
    fail 'Caddy does not accept /etc/caddy/Caddyfile with the import; nothing was changed. Fix: in the site block of api.example.com in /etc/caddy/Caddyfile, replace the line '\''reverse_proxy 127.0.0.1:8000'\'' with '\''import /etc/caddy/l9-deploy/l9.caddy'\'', then reload Caddy'
  fi
  rm -rf "$vhome"
  [ -e '/etc/caddy/Caddyfile.before-l9-deploy' ] || cp -p '/etc/caddy/Caddyfile' '/etc/caddy/Caddyfile.before-l9-deploy' || fail 'cannot keep a copy of /etc/caddy/Caddyfile'
  { chown --reference='/etc/caddy/Caddyfile' "$edited" && chmod --reference='/etc/caddy/Caddyfile' "$edited"; } || fail 'cannot give the new /etc/caddy/Caddyfile the old one'\''s owner and mode'
  mv -f "$edited" '/etc/caddy/Caddyfile' || fail 'cannot replace /etc/caddy/Caddyfile'
  say '/etc/caddy/Caddyfile: the site of api.example.com imports /etc/caddy/l9-deploy/l9.caddy in place of reverse_proxy 127.0.0.1:8000 (the original is /etc/caddy/Caddyfile.before-l9-deploy)'
fi
if [ "$snippet" = written ] || [ "$site_edit" = edited ]; then
  if ! caddy reload --config '/etc/caddy/Caddyfile' --adapter caddyfile --force >/dev/null 2>&1; then
    if [ "$site_edit" = edited ]; then cp -p '/etc/caddy/Caddyfile.before-l9-deploy' '/etc/caddy/Caddyfile' || fail 'Caddy did not reload /etc/caddy/Caddyfile, and putting back /etc/caddy/Caddyfile.before-l9-deploy failed: do it by hand'; fi
    fail 'Caddy did not reload /etc/caddy/Caddyfile and runs its previous config; traffic was not moved (check: caddy validate --config /etc/caddy/Caddyfile; journalctl -u caddy)'
  fi
  say 'Caddy reloaded /etc/caddy/Caddyfile'
else
  say '/etc/caddy/l9-deploy/l9.caddy and /etc/caddy/Caddyfile are current: no reload'
fi
