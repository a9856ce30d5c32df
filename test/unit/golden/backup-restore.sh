set -eu
umask 027
L9_STEP='backup restore'
fail() { printf '%s failed: %s\n' "$L9_STEP" "$*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$L9_STEP" "$*" >&2; }
f='/opt/l9/backups/20260101T023000Z-scheduled'
[ -f "$f" ] || fail "there is no backup $f (the backups: $(ls -1 '/opt/l9/backups' 2>/dev/null | grep -v '\.partial$' | tr '\n' ' '))"
[ -s "$f" ] || fail "$f is empty: it cannot be restored"
url=$(sed -n 's/^DATABASE_URL=//p' '/opt/l9/shared/.env' | head -n 1)
[ -n "$url" ] || fail '/opt/l9/shared/.env has no DATABASE_URL: there is no database to restore into'
out=$(mktemp) || fail "cannot create a temporary file"
trap 'rm -f "$out"' EXIT
stuck() { say "$*"; sed 's/^/  | /' "$out" >&2; fail 'The API stays in maintenance (503). Once the database is right: npm run backup:restore -- --end-maintenance. Or restore another backup: npm run backup:restore -- NAME (ls /opt/l9/backups)'; }
if [ -e '/var/lib/l9-deploy/l9/caddy/l9-maintenance.on' ]; then was_on=yes; say "maintenance was on already: it stays on"; else was_on=no; fi
{ tmp='/var/lib/l9-deploy/l9/caddy/l9-maintenance.on'.$$ && date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" '/var/lib/l9-deploy/l9/caddy/l9-maintenance.on'; } || fail 'cannot write /var/lib/l9-deploy/l9/caddy/l9-maintenance.on'
say "maintenance on: requests outside the allowed paths get 503"
file='/opt/l9/backups/'$(date -u +%Y%m%dT%H%M%SZ)'-before-restore'
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
if [ "$(head -c 5 "$f")" = PGDMP ]; then how="pg_restore"; else how="psql (SQL)"; fi
rc=0
if [ "$how" = pg_restore ]; then
  timeout -k 10 600 pg_restore --clean --if-exists --single-transaction --no-owner --no-privileges --exit-on-error -d "$url" "$f" >"$out" 2>&1 || rc=$?
else
  timeout -k 10 600 psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$url" -f "$f" >"$out" 2>&1 || rc=$?
fi
[ "$rc" -eq 0 ] || stuck "$f did not restore ($how, exit $rc); the database is as it was (one transaction):"
check_ok=no; first=; check_why="it failed:"
if result=$(timeout -k 10 600 psql -X -q -v ON_ERROR_STOP=1 -tA -d "$url" -c 'SELECT count(*) > 0 FROM users' 2>"$out"); then
  first=$(printf '%s\n' "$result" | head -n 1 | cut -d'|' -f1)
  check_why="it returned '$first' (it passes with a first value other than empty, f, false or 0)"
  case "$first" in "" | f | false | 0) ;; *) check_ok=yes ;; esac
fi
[ "$check_ok" = yes ] || stuck "restored $f, but restoreCheck fails on it: $check_why"
say "restored $f ($how); restoreCheck returned $first"
if [ "$was_on" = no ]; then rm -f '/var/lib/l9-deploy/l9/caddy/l9-maintenance.on' || fail 'cannot remove /var/lib/l9-deploy/l9/caddy/l9-maintenance.on: the API stays in maintenance'; fi
if [ "$was_on" = no ]; then say "maintenance off: traffic is served"; fi
echo restored
