# l9-deploy's release-step library (host-scripts/step-library.ts), sourced by the gate,
# hooks, canary and switch of the service. Installed by l9-deploy: edits are overwritten.
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
l9_dirs() {
  d_mode=$1; shift
  for d in "$@"; do { mkdir -p "$d" && chmod "$d_mode" "$d"; } || fail "cannot create $d with mode $d_mode"; done
}
l9_step_lock() {
  command -v flock >/dev/null 2>&1 || fail "'flock' (util-linux) is not installed on the host: release steps need it to run one at a time"
  exec 9>>"$1" || fail "cannot open $1"
  if ! flock -n 9; then
    say "another release step of this service runs on the host (one an interrupted update left?): waiting for it, up to $2s"
    flock -w "$2" 9 || fail "another release step of this service still ran after $2s; nothing was changed. Find it with  ps -ef | grep 'sh -s'  and run pulumi up again once it ended"
  fi
}
l9_notify() {
  [ -s "$1" ] || return 0
  [ -x "$2" ] || { printf 'warning: notification %s not sent (no %s); the release goes on\n' "$3" "$2" >&2; return 0; }
  n_client=$2; shift 2
  "$n_client" "$@" || true
}
l9_deploy_metrics_unwritten() {
  [ -z "${dm_tmp:-}" ] || rm -f "$dm_tmp" || true
  printf 'warning: deploy metrics not written to %s (%s)\n' "$1" "$2" >&2
}
l9_deploy_textfile() {
  dm_tmp=
  (umask 022 && mkdir -p "$1") || { l9_deploy_metrics_unwritten "$2" "cannot create $1"; return 0; }
  dm_tmp=$(mktemp "$1/.${2##*/}.XXXXXX") || { l9_deploy_metrics_unwritten "$2" "cannot create a temporary file in $1"; return 0; }
  printf '%s\n' "$3" >"$dm_tmp" || { l9_deploy_metrics_unwritten "$2" "cannot write $dm_tmp"; return 0; }
  chmod 644 "$dm_tmp" || { l9_deploy_metrics_unwritten "$2" "cannot make $dm_tmp readable (chmod 644)"; return 0; }
  mv -f "$dm_tmp" "$2" || { l9_deploy_metrics_unwritten "$2" "cannot rename $dm_tmp"; return 0; }
}
l9_gauge_text() { printf '# HELP %s %s\n# TYPE %s gauge\n%s{%s} %s\n' "$1" "$2" "$1" "$1" "$3" "$4"; }
l9_deploy_live_since() {
  dm_live=
  case "$1" in now) dm_live=$dm_now ;; ?*) dm_live=$(date -u -d "$1" +%s 2>/dev/null) || dm_live= ;; esac
  case "$dm_live" in "" | *[!0-9]*) dm_live=$dm_now; printf 'warning: deploy metrics: when the deploy went live is unknown (recorded: "%s"): %s says now\n' "$1" "$2" >&2 ;; esac
}
l9_deploy_outcome() {
  dm_now=$(date +%s)
  if [ "$1" = 1 ]; then l9_deploy_live_since "${6-now}" "$5"; l9_deploy_textfile "$3" "$5" "$(l9_gauge_text l9_deploy_last_success_timestamp_seconds 'When a deploy of the service last went live (Unix time).' "$2" "$dm_live")"; fi
  l9_deploy_textfile "$3" "$4" "$(l9_gauge_text l9_deploy_last_run_success '1 when the last deploy of the service went live, 0 when it failed.' "$2" "$1"; l9_gauge_text l9_deploy_last_run_timestamp_seconds 'When the last deploy of the service ended (Unix time).' "$2" "$dm_now")"
}
l9_log_tail() { log_tail=$(docker logs --tail "$2" "$1" 2>&1 | tr -d '\000-\010\013-\037\177' || true); }
l9_check_health() {
  out=$(curl -sS -m 5 -w '\n%{http_code}' "$1" 2>&1) || out="$out"
  code=$(printf '%s' "$out" | tail -n 1); body=$(printf '%s' "$out" | sed '$d')
  status_field=$(printf '%s' "$body" | tr -d '\n' | sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' | tr -d '\000-\010\013-\037\177')
  if [ "$code" = 200 ] && { [ -z "$status_field" ] || [ "$status_field" = healthy ]; }; then return 0; fi
  check_failed="check 'health endpoint': GET $2 answered $code${status_field:+ (status \"$status_field\")}"
  return 1
}
l9_check_smoke() {
  code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X "$1" "$2" 2>/dev/null || true)
  [ "$code" = "$4" ] || { check_failed="check 'smoke $1 $3': expected $4, got $code"; return 1; }
}
l9_hook_fail() {
  out_tail=$(tail -n "$4" "$3" 2>/dev/null | tr -d '\000-\010\013-\037\177' || true)
  printf '%s\n' "$out_tail" | sed 's/^/  | /' >&2
  notify failure "hook '$1': $2" "$out_tail"
  fail "hook '$1' $2; traffic was not moved. Last lines above."
}
l9_one_off() {
  one_off_env=$1
  one_off_network=$2
  one_off_bound=$3
  one_off_hook=$4
  one_off_name=$5
  one_off_image=$6
  shift 6
  docker rm -f "$one_off_name" >/dev/null 2>&1 || true
  docker run -d --name "$one_off_name" --env-file "$one_off_env" --network "$one_off_network" "$one_off_image" "$@" >/dev/null 2>"$out" \
    || hook_fail "$one_off_hook" "could not start its container" "$out"
  timeout "$one_off_bound" docker wait "$one_off_name" >/dev/null 2>"$out" &
  wait_rc=0
  wait "$!" || wait_rc=$?
  if [ "$wait_rc" -eq 124 ]; then
    docker logs "$one_off_name" >"$out" 2>&1 || true
    if docker rm -f "$one_off_name" >/dev/null 2>>"$out"; then
      hook_fail "$one_off_hook" "did not finish within hookTimeoutSeconds=$one_off_bound s; its container was stopped and removed" "$out"
    fi
    hook_fail "$one_off_hook" "did not finish within hookTimeoutSeconds=$one_off_bound s; \
its container $one_off_name could not be removed (docker rm -f it on the host)" "$out"
  elif [ "$wait_rc" -ne 0 ]; then
    hook_fail "$one_off_hook" "could not be waited for (docker wait exit $wait_rc)" "$out"
  fi
  one_off_exit=$(docker inspect -f '{{.State.ExitCode}}' "$one_off_name" 2>"$out") \
    || hook_fail "$one_off_hook" "finished, but its exit code could not be read" "$out"
  docker logs "$one_off_name" >"$out" 2>&1 || true
  docker logs "$one_off_name" 2>/dev/null | awk 'NF { word = $1 } END { print word }' | tr -d '\000-\010\013-\037\177' >"$out.word" || true
  docker rm -f "$one_off_name" >/dev/null 2>&1 || printf 'warning: the finished container %s could not be removed\n' "$one_off_name" >&2
}
l9_container_is_new() { [ "$(date -d "$(docker inspect -f '{{.Created}}' "$1")" +%s)" -ge "$(cat "$2" 2>/dev/null || echo 0)" ]; }
l9_prune_images() {
  in_use=$(docker ps -a --format '{{.Image}}' | xargs -r docker image inspect -f '{{.Id}}' 2>/dev/null || true)
  docker image ls --filter "$1" --format '{{.CreatedAt}}\t{{.ID}}' | sort -r | cut -f2 | awk '!seen[$0]++' | tail -n +$(($2 + 1)) |
    while read -r img; do
      full=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || continue
      case "$in_use" in *"$full"*) continue;; esac
      say "pruning image $img"; docker image rm -f "$img" >/dev/null 2>&1 || true
    done
}
api() { admin_curl -sS -m 10 -H 'Content-Type: application/json' "$@"; }
l9_caddy_admin() { admin_curl -fsS -m 5 -o /dev/null "$admin/config/" || fail "Caddy's admin API does not answer at $1; traffic was not moved"; }
l9_routing_facts() {
  if [ -e "$1" ]; then routing=green; else routing=blue; fi
  upstream=$(admin_curl -fsS -m 5 "$admin/id/$2$routing$3/upstreams" 2>/dev/null | tr -d ' \n') || upstream=unreachable
  if admin_curl -fsS -m 5 -o /dev/null "$admin/id/$4" 2>/dev/null; then config=current; elif admin_curl -fsS -m 5 -o /dev/null "$admin/config/" 2>/dev/null; then config=stale; else config=unreachable; fi
}
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
l9_admin_get() {
  admin_get_exit=0
  admin_got=$(admin_curl -sS -m 5 -w '%{http_code}' "$admin/config/$1" 2>/dev/null) || admin_get_exit=$?
  [ "$admin_get_exit" -eq 0 ] || fail "Caddy's admin API did not answer GET /config/$1 (curl exit $admin_get_exit)"
  admin_get_status=${admin_got#"${admin_got%???}"}
  admin_got=${admin_got%???}
  case "$admin_get_status:$admin_got" in
    200:*) ;;
    400:*"invalid traversal path"*) admin_got= ;;
    *) fail "Caddy's admin API answered GET /config/$1 with HTTP $admin_get_status, not with its config" ;;
  esac
}
l9_caddy_server_present() {
  l9_admin_get "apps/http/servers/$1"
  case "$admin_got" in
    "{"*"$3"*) caddy_server_name=$1; caddy_server=yes ;;
    *) caddy_server_name=$2
       l9_admin_get "apps/http/servers/$2"
       case "$admin_got" in "{"*"$3"*) caddy_server=yes ;; "{"*) caddy_server=foreign ;; *) caddy_server=no ;; esac ;;
  esac
  if [ "$caddy_server" = no ]; then
    l9_admin_get apps/http/servers
    case "$admin_got" in
      *"\"l9_upstream\":\"$4-blue\""* | *"\"l9_upstream\":\"$4-green\""*) caddy_server_name=; caddy_server=yes ;;
    esac
  fi
}
l9_load_server() {
  l9_admin_get apps/http/servers
  case "$admin_got" in
    "{"*) ;;
    *) l9_admin_get apps
       case "$admin_got" in "{"*) api -f -X POST -d '{"servers":{}}' "$admin/config/apps/http" >&2 ;; *) api -f -X POST -d '{"http":{"servers":{}}}' "$admin/config/apps" >&2 ;; esac || fail "cannot create Caddy's http app" ;;
  esac
  l9_caddy_server_present "$1" "$2" "$3" "$7"
  [ "$caddy_server" != foreign ] || fail "$6"
  [ -n "$caddy_server_name" ] || fail "a Caddyfile site routes $7 by l9-deploy's snippet; traffic was not moved. Fix: set caddyfile to that Caddyfile (pulumi config set caddyfile /etc/caddy/Caddyfile)"
  say "loading Caddy server $caddy_server_name on $4"
  api -f -X POST -d "$5" "$admin/config/apps/http/servers/$caddy_server_name" >&2 || fail "Caddy refused the server config"
}
l9_remove_canary_logger() { l9_admin_get "logging/logs/$1"; case "$admin_got" in "{"*) admin_curl -fsS -m 10 -X DELETE "$admin/config/logging/logs/$1" >/dev/null || fail "Caddy refused to remove the canary's access log" ;; esac; }
l9_canary_log_current() { canary_log=$(admin_curl -fsS -m 5 "$admin/config/logging/logs/$2/writer/filename" 2>/dev/null | tr -d '"\n' || true); case "$canary_log" in "$1"/access-*.log) [ -f "$canary_log" ] ;; *) return 1 ;; esac; }
l9_load_canary_logger() {
  { mkdir -p "$1" && chmod 1733 "$1"; } || fail "cannot create $1 with mode 1733"
  if ! l9_canary_log_current "$1" "$2"; then
    canary_id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    [ ${#canary_id} -eq 16 ] || fail "cannot read 8 random bytes from /dev/urandom for the canary access log's name"
    canary_log="$1"/access-$(date -u +%Y%m%dT%H%M%SZ)-$canary_id.log
  fi
  l9_admin_get logging/logs/default
  default_log=$admin_got
  l9_admin_get logging/logs
  case "$admin_got" in
    "{"*) ;;
    *) l9_admin_get logging
       case "$admin_got" in "{"*) api -f -X POST -d '{}' "$admin/config/logging/logs" >&2 ;; *) api -f -X POST -d '{"logs":{}}' "$admin/config/logging" >&2 ;; esac || fail "cannot create Caddy's logging config" ;;
  esac
  api -f -X POST -d "$(printf "$3" "$canary_log")" "$admin/config/logging/logs/$2" >&2 || fail "Caddy refused the canary access log $canary_log (may Caddy's user write $1?)"
  case "$default_log" in "{"*) ;; *) api -f -X POST -d "$4" "$admin/config/logging/logs/default" >&2 || say "Caddy refused to keep the canary's requests out of its default log: they are logged there too" ;; esac
}
l9_journal_open() {
  l9_record=$1; l9_deploy_log=$3; l9_active=$4; l9_previous=$5
  env_fp=$(cut -c1-16 "$6" 2>/dev/null || true)
  case "$env_fp" in "" | *[!0-9a-f]*) env_fp=unknown ;; esac
  settled=no
  live_since=now
  if grep -qF "$2" "$l9_active" 2>/dev/null; then already_live=yes; else already_live=no; fi
  if [ "$already_live" = yes ]; then
    release=$(sed -n 's/.*"release":"\([a-z]*\)".*/\1/p' "$l9_active")
    if grep -qF '"status":"live"' "$l9_active"; then settled=yes; fi
    if ! grep -qF '"status":"switched-back"' "$l9_active"; then live_since=$(sed -n 's/.*"time":"\([^"]*\)".*/\1/p' "$l9_active") || live_since=; fi
  fi
}
record_as() { printf '%s\n' "$l9_record" | sed -e "s/@STATUS@/$1/" -e "s/@RELEASE@/$release/" -e "s/@ENV@/$env_fp/" -e "s/@TIME@/${2:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}/"; }
journal() { record_as "$@" >>"$l9_deploy_log" || fail "cannot append to $l9_deploy_log"; }
mark_active() { record_as "$@" >"$l9_active.tmp" || fail "cannot write $l9_active.tmp"; install_active; }
install_active() { mv -f "$l9_active.tmp" "$l9_active" || fail "cannot replace $l9_active"; }
l9_journal_switching() {
  [ "$already_live" = no ] || return 0
  if [ -e "$1" ]; then routed=green; else routed=blue; fi
  if grep -qF "\"slot\":\"$routed\"" "$l9_active" 2>/dev/null; then cp -f "$l9_active" "$l9_previous" || fail "cannot keep $l9_previous"; else rm -f "$l9_previous" || fail "cannot remove $l9_previous"; fi
  journal switching
  mark_active switching
}
l9_journal_live() {
  [ "$settled" = no ] || return 0
  journal live "$1"
  mark_active live "$1"
}
l9_journal_switched_back() {
  journal switched-back
  if [ -f "$l9_previous" ]; then cp -f "$l9_previous" "$l9_active.tmp" || fail "cannot copy $l9_previous"; install_active; else mark_active switched-back; fi
}
l9_watch() {
  say "watching $1 for $2s (health and smoke every second; $3 failures in a row switch back)"
  w_end=$(( $(date +%s) + $2 )); w_fails=0
  while [ "$(date +%s)" -lt "$w_end" ]; do
    if check_health && check_smoke; then w_fails=0; else w_fails=$((w_fails + 1)); say "watch: $check_failed ($w_fails/$3)"; [ "$w_fails" -lt "$3" ] || switch_back; fi
    sleep 1
  done
  say "watch: $1 passed $2s of checks ($w_fails failed at the end, below $3)"
}
