set -eu
umask 027
L9_STEP='caddyfile routes'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
admin='http://127.0.0.1:2019'
admin_curl() { curl "$@"; }
l9_caddyfile_config() {
  servers=$(admin_curl -fsS -m 5 "$admin/config/apps/http/servers" 2>/dev/null) || servers=
  servers=$(printf '%s' "$servers" | tr -d '\n')
  case "$servers" in
    *"\"l9_config\":\"$1\""*) config=current ;;
    "{"*) config=stale ;;
    *) config=unreachable ;;
  esac
}
l9_caddyfile_routing_facts() {
  if [ -e "$1" ]; then routing=green; else routing=blue; fi
  l9_caddyfile_config "$3"
  if [ "$config" = unreachable ]; then upstream=unreachable; return 0; fi
  handler="\"l9_upstream\":\"$2-$routing\"},{\"handler\":\"reverse_proxy\","
  upstream=$(printf '%s' "$servers" | sed -n "s/.*$handler[^]]*\"upstreams\":\(\[[^]]*\]\).*/\1/p")
}
l9_caddy_validate() {
  vhome=$(mktemp -d) || return 1
  v_status=0
  XDG_DATA_HOME="$vhome" XDG_CONFIG_HOME="$vhome" caddy validate --config "$1" --adapter caddyfile >"$vhome/validate.log" 2>&1 || v_status=1
  [ "$v_status" = 0 ] || tail -5 "$vhome/validate.log" >&2
  rm -rf "$vhome"
  return "$v_status"
}
l9_replace_caddyfile() {
  if [ -L "$2" ]; then
    rm -f "$1"
    fail "$2 is a symbolic link, which l9-deploy does not replace." "Fix: set caddyfile to the file it points to, $(readlink -f "$2")"
  fi
  cp -p "$2" "$2.l9-deploy-previous" || { rm -f "$1"; fail "cannot keep a copy of $2"; }
  { chown --reference="$2" "$1" && chmod --reference="$2" "$1"; } || { rm -f "$1"; fail "cannot give the new $2 the old one's owner and mode"; }
  mv -f "$1" "$2" || { rm -f "$1"; fail "cannot replace $2"; }
}
l9_caddyfile_abandon() {
  rm -f "$edited"
  if [ "$snippet_state" = written ] && [ -f "$snippet.l9-deploy-previous" ]; then
    cp -p "$snippet.l9-deploy-previous" "$snippet" || fail "$1; and putting back $snippet.l9-deploy-previous failed: do it by hand"
  fi
  fail "$1"
}
l9_install_caddyfile_routes() {
  cf=$1; site=$2; dial=$3; snippet=$4; snippet_dir=$(dirname "$4"); edited=$cf.l9-deploy.$$; snippet_state=unchanged
  command -v caddy >/dev/null 2>&1 || fail "'caddy' is not installed on the host"
  { mkdir -p "$snippet_dir" && chmod 755 "$snippet_dir"; } || fail "cannot create $snippet_dir"
  if [ -f "$snippet" ] && [ "$(sha256sum <"$snippet" | cut -c1-64)" = "$6" ]; then snippet_state=unchanged; else
    if [ -f "$snippet" ]; then cp -p "$snippet" "$snippet.l9-deploy-previous" || fail "cannot keep a copy of $snippet"
    else rm -f "$snippet.l9-deploy-previous" || fail "cannot remove $snippet.l9-deploy-previous"; fi
    { printf '%s' "$5" | base64 -d >"$snippet.$$" && chmod 644 "$snippet.$$" && mv -f "$snippet.$$" "$snippet"; } ||
      { rm -f "$snippet.$$"; fail "cannot write $snippet"; }
    snippet_state=written
  fi
  [ -f "$cf" ] || l9_caddyfile_abandon "$cf does not exist (caddyfile names the Caddyfile Caddy runs)"
  proxy_line="reverse_proxy ${dial:-<upstream>}"
  by_hand="in the site block of $site in $cf, replace the line '$proxy_line' with 'import $snippet', then reload Caddy"
  if awk -v host="$site" -v dial="$dial" -v snippet="$snippet" 'function norm(t) { sub(/^[a-z]+:\/\//, "", t); sub(/:[0-9]+$/, "", t); return t }
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
    else if (dial != "" ? t == "reverse_proxy " dial : t ~ /^reverse_proxy [^ {]+$/) {
      match(line, /^[ \t]*/); line = substr(line, 1, RLENGTH) "import " snippet; edited++ }
    else if (t ~ /^reverse_proxy( |$)/) other++ }
  depth += opens - closes; if (in_site && depth < site_depth) in_site = 0; print line }
END { if (sites != 1) exit 4; if (already > 0 && edited == 0 && other == 0) exit 3; if (edited != 1 || other > 0 || already > 0) exit 5 }' "$cf" >"$edited"; then site_edit=edited; else site_edit=$?; fi
  case "$site_edit" in
    edited)
      if [ -L "$cf" ]; then
        link_target=$(readlink -f "$cf") || link_target="the file it points to"
        l9_caddyfile_abandon "$cf is a symbolic link, which l9-deploy does not replace; nothing was changed. Fix: set caddyfile to $link_target"
      fi ;;
    3) rm -f "$edited"; site_edit=already ;;
    4) l9_caddyfile_abandon "$cf has no single site block for $site; nothing was changed. Fix: name exactly one site $site, or set caddyHosts to the site's name" ;;
    5) l9_caddyfile_abandon "the site of $site in $cf does not proxy with exactly one line '$proxy_line'; nothing was changed. Fix: $by_hand" ;;
    *) l9_caddyfile_abandon "awk could not read $cf (exit $site_edit)" ;;
  esac
  if [ "$site_edit" = edited ]; then
    l9_caddy_validate "$edited" || l9_caddyfile_abandon "Caddy does not accept $cf with the import; nothing was changed. Fix: $by_hand"
    { [ -e "$cf.before-l9-deploy" ] || cp -p "$cf" "$cf.before-l9-deploy"; } || { rm -f "$edited"; fail "cannot keep a copy of $cf"; }
    l9_replace_caddyfile "$edited" "$cf"
    say "$cf: the site of $site imports $snippet in place of $proxy_line (the original is $cf.before-l9-deploy)"
  fi
  l9_caddyfile_config "$7"
  if [ "$snippet_state" = unchanged ] && [ "$site_edit" = already ] && [ "$config" = current ]; then
    say "$snippet and $cf are current: no reload"
    return 0
  fi
  if ! reload_out=$(caddy reload --config "$cf" --adapter caddyfile --force 2>&1); then
    printf '%s\n' "$reload_out" | tail -5 >&2
    if [ "$site_edit" = edited ]; then
      cp -p "$cf.l9-deploy-previous" "$cf" || fail "Caddy did not reload $cf, and putting back $cf.l9-deploy-previous failed: do it by hand"
    fi
    if [ "$snippet_state" = written ] && [ -f "$snippet.l9-deploy-previous" ]; then
      cp -p "$snippet.l9-deploy-previous" "$snippet" ||
        fail "Caddy did not reload $cf, and putting back $snippet.l9-deploy-previous failed: do it by hand"
    fi
    fail "Caddy did not reload $cf and runs its previous config; traffic was not moved (check: caddy validate --config $cf; journalctl -u caddy)"
  fi
  say "Caddy reloaded $cf"
}
l9_install_caddyfile_routes '/etc/caddy/Caddyfile' 'api.example.com' '127.0.0.1:8000' '/etc/caddy/l9-deploy/l9.caddy' 'IyBsOS1kZXBsb3kncyByb3V0ZXMgb2Ygc2VydmljZSBsOTogd3JpdHRlbiBieSBsOS1kZXBsb3ksIHdoaWNoIG92ZXJ3cml0ZXMgYW55IGVkaXQuCnZhcnMgbDlfY29uZmlnICJkYmVlOGZlNjk2NGFlMDRmIgpyb3V0ZSB7CglAbDktbDktbWFpbnRlbmFuY2UgewoJCWZpbGUgewoJCQlyb290IC8KCQkJdHJ5X2ZpbGVzICIvdmFyL2xpYi9sOS1kZXBsb3kvbDkvY2FkZHkvbDktbWFpbnRlbmFuY2Uub24iCgkJfQoJCW5vdCBwYXRoICIvaGVhbHRoIgoJfQoJaGFuZGxlIEBsOS1sOS1tYWludGVuYW5jZSB7CgkJcmVxdWVzdF9oZWFkZXIgLUlmLU5vbmUtTWF0Y2gKCQlyZXF1ZXN0X2hlYWRlciAtSWYtTW9kaWZpZWQtU2luY2UKCQlyZXF1ZXN0X2hlYWRlciAtSWYtTWF0Y2gKCQlyZXF1ZXN0X2hlYWRlciAtSWYtVW5tb2RpZmllZC1TaW5jZQoJCXJlcXVlc3RfaGVhZGVyIC1JZi1SYW5nZQoJCXJlcXVlc3RfaGVhZGVyIC1SYW5nZQoJCWhlYWRlciBSZXRyeS1BZnRlciAiMzAwIgoJCWhlYWRlciBDYWNoZS1Db250cm9sIG5vLXN0b3JlCgkJbWV0aG9kIEdFVAoJCXJld3JpdGUgKiAiL2w5LW1haW50ZW5hbmNlLnR4dCIKCQlyb290ICogIi92YXIvbGliL2w5LWRlcGxveS9sOS9jYWRkeSIKCQlmaWxlX3NlcnZlciB7CgkJCXN0YXR1cyA1MDMKCQl9Cgl9CglAbDktbDktZ3JlZW4gZmlsZSB7CgkJcm9vdCAvCgkJdHJ5X2ZpbGVzICIvdmFyL2xpYi9sOS1kZXBsb3kvbDkvY2FkZHkvbDktZ3JlZW4uYWN0aXZlIgoJfQoJaGFuZGxlIEBsOS1sOS1ncmVlbiB7CgkJdmFycyBsOV91cHN0cmVhbSAibDktZ3JlZW4iCgkJcmV2ZXJzZV9wcm94eSAiMTI3LjAuMC4xOjgwMDIiIHsKCQkJbGJfdHJ5X2R1cmF0aW9uIDVzCgkJCWxiX3RyeV9pbnRlcnZhbCAxMDBtcwoJCX0KCX0KCWhhbmRsZSB7CgkJdmFycyBsOV91cHN0cmVhbSAibDktYmx1ZSIKCQlyZXZlcnNlX3Byb3h5ICIxMjcuMC4wLjE6ODAwMSIgewoJCQlsYl90cnlfZHVyYXRpb24gNXMKCQkJbGJfdHJ5X2ludGVydmFsIDEwMG1zCgkJfQoJfQp9Cg==' 'e63a9cf5a6b73141be06a17856725639729a80ee711ab8961a3ce34dbf241f0b' 'dbee8fe6964ae04f'
