#!/usr/bin/env bash
# The sandbox VPS's PostgreSQL, sourced by scripts/sandbox.sh (which sets SB, log, die): what a
# real VPS runs next to the app (the backup command dumps it, the restore drill restores into
# a scratch database beside it). Debian's binaries, a cluster of its own under $SB/postgresql,
# on 127.0.0.1:5432 with its socket in $SB/postgresql/run (the machine's /run/postgresql and the
# legacy host's cluster are left alone). A role `l9` (password login, CREATEDB: the drill
# creates its scratch database as the app's role) owns the database `l9`.

PG_DIR="$SB/postgresql"
PG_PORT=5432

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

pg_answers() {
  runuser -u postgres -- psql -qtA -h "$PG_DIR/run" -p "$PG_PORT" -d l9 -c 'SELECT 1' >/dev/null 2>&1
}

postgres_up() {
  local bin password
  bin=$(pg_bin)
  [ -n "$bin" ] || die "the sandbox needs Debian's postgresql: run scripts/setup.sh"
  mkdir -p "$PG_DIR/run" "$SB/logs" || die "cannot create $PG_DIR/run"
  chown postgres:postgres "$PG_DIR" "$PG_DIR/run" || die "cannot hand $PG_DIR to postgres"
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    log "postgresql: creating the cluster in $PG_DIR/data"
    install -d -o postgres -g postgres -m 700 "$PG_DIR/data"
    runuser -u postgres -- "$bin/initdb" -D "$PG_DIR/data" --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  fi
  if ! runuser -u postgres -- "$bin/pg_ctl" status -D "$PG_DIR/data" >/dev/null 2>&1; then
    log "postgresql: starting (127.0.0.1:$PG_PORT)"
    touch "$SB/logs/postgresql.log"
    chown postgres "$SB/logs/postgresql.log"
    runuser -u postgres -- "$bin/pg_ctl" start -w -t 60 -D "$PG_DIR/data" -l "$SB/logs/postgresql.log" \
      -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR/run" >/dev/null \
      || die "postgresql did not start (log: $SB/logs/postgresql.log)"
  else
    log "postgresql: running"
  fi
  if [ ! -s "$PG_DIR/password" ]; then
    (umask 077 && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PG_DIR/password.tmp") || die "cannot write $PG_DIR/password.tmp"
    mv -f "$PG_DIR/password.tmp" "$PG_DIR/password" || die "cannot write $PG_DIR/password"
  fi
  password=$(cat "$PG_DIR/password")
  runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -h "$PG_DIR/run" -p "$PG_PORT" -d postgres -v password="$password" >/dev/null <<'SQL' \
    || die "cannot create the role and database l9 (log: $SB/logs/postgresql.log)"
SELECT 'CREATE ROLE l9 LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'l9')\gexec
ALTER ROLE l9 LOGIN CREATEDB PASSWORD :'password';
SELECT 'CREATE DATABASE l9 OWNER l9' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'l9')\gexec
SQL
}

postgres_env() {
  [ -s "$PG_DIR/password" ] || return 0
  echo "L9_SANDBOX_DATABASE_URL=postgres://l9:$(cat "$PG_DIR/password")@127.0.0.1:$PG_PORT/l9"
}

postgres_status() {
  if pg_answers; then echo "postgres  up (127.0.0.1:$PG_PORT, database l9)"; else echo "postgres  DOWN"; return 1; fi
}

postgres_down() {
  local bin
  bin=$(pg_bin)
  [ -n "$bin" ] && [ -f "$PG_DIR/data/PG_VERSION" ] || return 0
  runuser -u postgres -- "$bin/pg_ctl" stop -m fast -D "$PG_DIR/data" >/dev/null 2>&1 && log "postgresql: stopped" || true
}
