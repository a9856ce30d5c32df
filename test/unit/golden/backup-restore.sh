set -eu
umask 027
L9_STEP='backup restore'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
trap '' HUP PIPE
mkdir -p '/opt/l9/logs' || fail 'cannot create /opt/l9/logs'
say() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$L9_STEP" "$*" >>'/opt/l9/logs/backup-restore.log' || true; printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$L9_STEP" "$*" >&2 || true; }
fail() { say "failed: $*"; exit 1; }
l9_step_lock() {
  command -v flock >/dev/null 2>&1 || fail "'flock' (util-linux) is not installed on the host: release steps need it to run one at a time"
  exec 9>>"$1" || fail "cannot open $1"
  if ! flock -n 9; then
    say "another release step of this service runs on the host (one an interrupted update left?): waiting for it, up to $2s"
    flock -w "$2" 9 || fail "another release step of this service still ran after $2s; nothing was changed. Find it with  ps -ef | grep 'sh -s'  and run pulumi up again once it ended"
  fi
}
l9_step_lock '/opt/l9/state/switch.lock' 1500
dir='/opt/l9/backups'; f='/opt/l9/backups/20260101T023000Z-scheduled'; sql=
[ -f "$f" ] || fail "there is no backup $f (the backups: $(ls -1 "$dir" 2>/dev/null | grep -v '\.partial$' | tr '\n' ' '))"
[ -s "$f" ] || fail "$f is empty: it cannot be restored"
url=$(sed -n 's/^DATABASE_URL=//p' '/opt/l9/shared/.env' | head -n 1)
[ -n "$url" ] || fail '/opt/l9/shared/.env has no DATABASE_URL: there is no database to restore into'
out=$(mktemp) || fail "cannot create a temporary file"
trap 'rm -f "$out"; [ -z "$sql" ] || [ "$sql" = "$f" ] || rm -f "$sql"' EXIT
stuck() { say "$*"; sed -e 's#//[^/@[:space:]]*@#//***@#g' -e 's/^/  | /' "$out" | while IFS= read -r l; do say "$l"; done; fail 'The API stays in maintenance (503). Once the database is right: npm run backup:restore -- --end-maintenance. Or restore another backup: npm run backup:restore -- NAME (ls /opt/l9/backups)'; }
{ tmp='/var/lib/l9-deploy/l9/caddy/l9-maintenance.on'.$$ && date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" '/var/lib/l9-deploy/l9/caddy/l9-maintenance.on'; } || fail 'cannot write /var/lib/l9-deploy/l9/caddy/l9-maintenance.on'
say "maintenance on: requests outside the allowed paths get 503"
file="$dir/$(date -u +%Y%m%dT%H%M%SZ)"'-before-restore'
backup_started=$(date +%s)
if ( while IFS= read -r kv; do case "$kv" in [A-Z_]*=*) export "$kv" ;; esac; done <'/opt/l9/shared/.env'; exec timeout -k 10 600 sh -c 'pg_dump -Fc "$DATABASE_URL"' ) >"$file.partial" 2>"$out" && { [ -s "$file.partial" ] || { echo "the backup command wrote nothing" >>"$out"; false; }; }; then
  mv -f "$file.partial" "$file" || stuck "cannot rename $file.partial; nothing was restored"
  say "safety backup: $file ($(wc -c <"$file") bytes)"
else
  rc=$?; rm -f "$file.partial"
  if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ $(( $(date +%s) - backup_started )) -ge 600 ]; }; then why='did not finish within hookTimeoutSeconds=600 s'; else why="exit $rc"; fi
  stuck "the safety backup failed ($why); nothing was restored:"
fi
say "restoring $f"
rc=0
if [ "$(head -c 5 "$f")" = PGDMP ]; then
  how="pg_restore, then psql"; sql="$dir/.restore-$$.sql"
  timeout -k 10 600 pg_restore --no-owner --no-privileges -f "$sql" "$f" >"$out" 2>&1 || rc=$?
else
  how="psql (SQL)"; sql="$f"
fi
if [ "$rc" -eq 0 ]; then
  timeout -k 10 600 psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$url" -c 'SET lock_timeout = '\''60s'\''; DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;' -f "$sql" >"$out" 2>&1 || rc=$?
fi
[ "$sql" = "$f" ] || rm -f "$sql" || say "cannot remove $sql"
[ "$rc" -eq 0 ] || stuck "$f did not restore ($how, exit $rc); the database is as it was (one transaction):"
check_ok=no; first=; check_why="it failed:"
if result=$(timeout -k 10 600 psql -X -q -v ON_ERROR_STOP=1 -tA -d "$url" -c 'SELECT count(*) > 0 FROM users' 2>"$out"); then
  first=$(printf '%s\n' "$result" | head -n 1 | cut -d'|' -f1)
  check_why="it returned '$first' (it passes with a first value other than empty, f, false or 0)"
  case "$first" in "" | f | false | 0) ;; *) check_ok=yes ;; esac
fi
[ "$check_ok" = yes ] || stuck "restored $f, but restoreCheck fails on it: $check_why"
say "restored $f ($how); restoreCheck returned $first"
rm -f '/var/lib/l9-deploy/l9/caddy/l9-maintenance.on' || fail 'cannot remove /var/lib/l9-deploy/l9/caddy/l9-maintenance.on: the API stays in maintenance'
say "maintenance off: traffic is served"
echo restored
