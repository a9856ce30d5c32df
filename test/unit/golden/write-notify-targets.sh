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
client='/opt/l9/bin/l9-notify'
mkdir -p '/opt/l9/bin' || fail 'cannot create /opt/l9/bin'
tmp="$client.tmp.$$"
printf '%s' '#!/bin/sh
# l9-deploy'\''s webhook client (installed with the notification targets; run by the release steps'\'' notify)
set -u
l9_notify_targets='\''/opt/l9/shared/notify-targets'\''
[ -s "$l9_notify_targets" ] || exit 0
json_str() { tr -d '\''\000-\010\013-\037\177'\'' | tr '\''\t'\'' '\'' '\'' | sed -e '\''s/\\/\\\\/g'\'' -e '\''s/"/\\"/g'\'' | awk '\''NR > 1 { printf "\\n" } { printf "%s", $0 }'\''; }
n_event=$1; n_check=$2; n_tail=$(printf '\''%s'\'' "$3" | tail -c 3000)
n_stack=$4; n_service=$5; n_tag=$6; n_previous=$7; n_actor=$8; n_known=$9
n_commit=$(git --git-dir='\''/opt/l9/repo.git'\'' rev-parse -q --verify "$n_tag^{commit}" 2>/dev/null || echo unknown)
n_duration=null
n_started=$(cat '\''/opt/l9/state/attempt-started'\'' 2>/dev/null || true)
case "$n_started" in '\'''\'' | *[!0-9]*) ;; *) n_duration=$(( $(date +%s) - n_started )) ;; esac
n_text=$(printf '\''[%s] %s %s: %s\nprevious: %s\ncommit: %.12s\nduration: %ss\nby: %s'\'' "$n_stack" "$n_service" "$n_tag" "$n_event" "$n_previous" "$n_commit" "$n_duration" "$n_actor")
[ -z "$n_check" ] || n_text="$n_text$(printf '\''\ncheck: %s'\'' "$n_check")"
[ -z "$n_tail" ] || n_text="$n_text$(printf '\''\nlog tail:\n%s'\'' "$n_tail")"
undelivered() { printf '\''warning: notification %s to target %s (%s) was not delivered (%s); the release goes on\n'\'' "$n_event" "$n_i" "$n_format" "$1" >&2; }
n_i=0
while IFS="$(printf '\''\t'\'')" read -r n_format n_url n_chat; do
  n_i=$((n_i + 1))
  case "$n_format" in
    telegram) n_body=$(printf '\''{"chat_id":"%s","text":"%s"}'\'' "$(printf '\''%s'\'' "$n_chat" | json_str)" "$(printf '\''%s'\'' "$n_text" | json_str)") ;;
    *) n_body=$(printf '\''{"text":"%s","event":"%s",%s,"commit":"%s","durationSeconds":%s,"check":"%s","logTail":"%s"}'\'' "$(printf '\''%s'\'' "$n_text" | json_str)" "$n_event" "$n_known" "$n_commit" "$n_duration" "$(printf '\''%s'\'' "$n_check" | json_str)" "$(printf '\''%s'\'' "$n_tail" | json_str)") ;;
  esac
  n_file=$(mktemp) || { undelivered '\''no temporary file'\''; continue; }
  printf '\''%s'\'' "$n_body" >"$n_file" || { rm -f "$n_file"; undelivered '\''cannot write its body'\''; continue; }
  n_code=$(printf '\''url = "%s"
'\'' "$n_url" | curl -sS -m 10 --connect-timeout 5 -o /dev/null -w '\''%{http_code}'\'' -H '\''Content-Type: application/json'\'' --data-binary @"$n_file" -K - 2>/dev/null) || true
  rm -f "$n_file"
  case "$n_code" in
    2??) printf '\''[notify] %s sent to target %s (%s)\n'\'' "$n_event" "$n_i" "$n_format" >&2 ;;
    *) undelivered "HTTP ${n_code:-000}" ;;
  esac
done <"$l9_notify_targets"
exit 0
' >"$tmp" || { rm -f "$tmp"; fail "cannot write $client"; }
{ chmod 700 "$tmp" && mv -f "$tmp" "$client"; } || { rm -f "$tmp"; fail "cannot install $client"; }
echo written
