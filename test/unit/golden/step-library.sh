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
l9_caddy_server_present() {
  case "$(admin_curl -fsS -m 5 "$admin/config/apps/http/servers/$1" 2>/dev/null)" in
    "{"*"$3"*) caddy_server_name=$1; caddy_server=yes ;;
    *) caddy_server_name=$2
       case "$(admin_curl -fsS -m 5 "$admin/config/apps/http/servers/$2" 2>/dev/null)" in "{"*"$3"*) caddy_server=yes ;; "{"*) caddy_server=foreign ;; *) caddy_server=no ;; esac ;;
  esac
}
l9_load_server() {
  servers=$(admin_curl -fsS -m 5 "$admin/config/apps/http/servers" 2>/dev/null || true)
  case "$servers" in
    "{"*) ;;
    *) apps=$(admin_curl -fsS -m 5 "$admin/config/apps" 2>/dev/null || true)
       case "$apps" in "{"*) api -f -X POST -d '{"servers":{}}' "$admin/config/apps/http" >&2 ;; *) api -f -X POST -d '{"http":{"servers":{}}}' "$admin/config/apps" >&2 ;; esac || fail "cannot create Caddy's http app" ;;
  esac
  l9_caddy_server_present "$1" "$2" "$3"
  [ "$caddy_server" != foreign ] || fail "$6"
  say "loading Caddy server $caddy_server_name on $4"
  api -f -X POST -d "$5" "$admin/config/apps/http/servers/$caddy_server_name" >&2 || fail "Caddy refused the server config"
}
l9_remove_canary_logger() { case "$(admin_curl -fsS -m 5 "$admin/config/logging/logs/$1" 2>/dev/null || true)" in "{"*) admin_curl -fsS -m 10 -X DELETE "$admin/config/logging/logs/$1" >/dev/null || fail "Caddy refused to remove the canary's access log" ;; esac; }
l9_canary_log_current() { canary_log=$(admin_curl -fsS -m 5 "$admin/config/logging/logs/$2/writer/filename" 2>/dev/null | tr -d '"\n' || true); case "$canary_log" in "$1"/access-*.log) [ -f "$canary_log" ] ;; *) return 1 ;; esac; }
l9_load_canary_logger() {
  { mkdir -p "$1" && chmod 1733 "$1"; } || fail "cannot create $1 with mode 1733"
  if ! l9_canary_log_current "$1" "$2"; then
    canary_id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    [ ${#canary_id} -eq 16 ] || fail "cannot read 8 random bytes from /dev/urandom for the canary access log's name"
    canary_log="$1"/access-$(date -u +%Y%m%dT%H%M%SZ)-$canary_id.log
  fi
  logs=$(admin_curl -fsS -m 5 "$admin/config/logging/logs" 2>/dev/null || true)
  case "$logs" in
    "{"*) ;;
    *) logging=$(admin_curl -fsS -m 5 "$admin/config/logging" 2>/dev/null || true)
       case "$logging" in "{"*) api -f -X POST -d '{}' "$admin/config/logging/logs" >&2 ;; *) api -f -X POST -d '{"logs":{}}' "$admin/config/logging" >&2 ;; esac || fail "cannot create Caddy's logging config" ;;
  esac
  api -f -X POST -d "$(printf "$3" "$canary_log")" "$admin/config/logging/logs/$2" >&2 || fail "Caddy refused the canary access log $canary_log (may Caddy's user write $1?)"
  default_log=$(admin_curl -fsS -m 5 "$admin/config/logging/logs/default" 2>/dev/null || true)
  case "$default_log" in "{"*) ;; *) api -f -X POST -d "$4" "$admin/config/logging/logs/default" >&2 || true ;; esac
}
l9_journal_open() {
  l9_record=$1; l9_deploy_log=$3; l9_active=$4; l9_previous=$5
  env_fp=$(cut -c1-16 "$6" 2>/dev/null || true)
  case "$env_fp" in "" | *[!0-9a-f]*) env_fp=unknown ;; esac
  settled=no
  if grep -qF "$2" "$l9_active" 2>/dev/null; then already_live=yes; else already_live=no; fi
  if [ "$already_live" = yes ]; then
    release=$(sed -n 's/.*"release":"\([a-z]*\)".*/\1/p' "$l9_active")
    if grep -qF '"status":"live"' "$l9_active"; then settled=yes; fi
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
