#!/usr/bin/env bash
# The legacy sandbox host h6 (10.219.0.16), sourced by scripts/sandbox.sh after hosts.sh: a VPS
# as the old runbooks left it, for adoption (issue 23). An isolated host like h1..h5, plus:
#   - Caddy run as Debian's caddy.service runs it (caddy run --environ --config
#     /etc/caddy/Caddyfile; reload = caddy reload --force), admin API on localhost:2019, serving
#     api.example.com (reverse_proxy 127.0.0.1:8000) and www.example.com on :443 with
#     certificates from its internal CA (L9_SANDBOX_LEGACY_CA_ROOT);
#   - /opt/l9: a git clone of the app detached at v0.1.0-l9, .env, .deployed-metadata.json,
#     docker/docker-compose.yml (compose v1 project l9: l9-api-blue on 127.0.0.1:8000 running,
#     l9-api-green on 127.0.0.1:8001 stopped, l9-jobs running) and scripts/{deploy,rollback,drift-check}.sh;
#   - /etc/cron.d/l9-health-checks (hourly drift check);
#   - PostgreSQL on 127.0.0.1:5432 with a database l9 holding a row.
# Usage: sandbox.sh legacy up|down|status|caddy restart|caddy reload

LEGACY_HOST="h6"
LEGACY_TAG="v0.1.0-l9"
LEGACY_FIXTURES="$L9_ROOT/test/fixtures/legacy-host"

# Inside the host: PostgreSQL's cluster (Debian's binaries, a data directory of its own).
legacy_postgres_up() {
  set -euo pipefail
  local bin data=/var/lib/postgresql/legacy logs=/var/log/l9-sandbox
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir -p /run/postgresql
  chown postgres:postgres /run/postgresql
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    chown postgres:postgres "$data"
    runuser -u postgres -- "$bin/initdb" -D "$data" --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  fi
  if ! runuser -u postgres -- "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    touch "$logs/postgresql.log"
    chown postgres "$logs/postgresql.log"
    runuser -u postgres -- "$bin/pg_ctl" start -w -t 60 -D "$data" -l "$logs/postgresql.log" \
      -o "-c listen_addresses=127.0.0.1 -c port=5432 -c unix_socket_directories=/run/postgresql" >/dev/null
  fi
}

# Inside the host: Caddy as Debian's caddy.service starts it (its HOME, its environment).
legacy_caddy_start() {
  set -euo pipefail
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  mkdir -p /var/lib/caddy
  HOME=/var/lib/caddy setsid nohup caddy run --environ --config /etc/caddy/Caddyfile --pidfile /run/caddy.pid \
    >>/var/log/l9-sandbox/caddy.log 2>&1 </dev/null &
  # Caddy's admin API answers before its sites do: up once both listen (as systemd's notify would tell).
  for _ in $(seq 1 60); do
    if curl -fsS -m 2 http://localhost:2019/config/ >/dev/null 2>&1 && [ -n "$(ss -Hltn 'sport = :443')" ]; then return 0; fi
    sleep 0.5
  done
  tail -20 /var/log/l9-sandbox/caddy.log >&2
  echo "legacy caddy did not answer on localhost:2019" >&2
  return 1
}

legacy_caddy_stop() {
  local pid
  pid=$(cat /run/caddy.pid 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  echo "legacy caddy (pid $pid) did not stop" >&2
  return 1
}

# Inside the host, once: the layout of the old runbooks. Fixtures arrive in /tmp/l9-legacy-fixtures.
legacy_provision() {
  set -euo pipefail
  local origin="$1" tag="$2" fx=/tmp/l9-legacy-fixtures db_password app_secret commit
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  git clone -q "$origin" /opt/l9
  git -C /opt/l9 -c advice.detachedHead=false checkout -q --detach "$tag"
  commit=$(git -C /opt/l9 rev-parse HEAD)
  mkdir -p /opt/l9/docker /opt/l9/scripts
  install -m 644 "$fx/docker-compose.yml" /opt/l9/docker/docker-compose.yml
  install -m 755 "$fx/deploy.sh" "$fx/rollback.sh" "$fx/drift-check.sh" /opt/l9/scripts/
  install -m 644 "$fx/Caddyfile" /etc/caddy/Caddyfile
  install -m 644 "$fx/l9-health-checks" /etc/cron.d/l9-health-checks

  db_password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  app_secret=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
  umask 077
  printf '%s\n' "# The L9 API's environment (old runbooks: edited by hand)" "APP_SECRET=$app_secret" \
    "DATABASE_URL=postgres://l9:$db_password@127.0.0.1:5432/l9" "LOG_LEVEL=info" >/opt/l9/.env
  umask 022
  printf '{"deployed_tag": "%s", "deployed_at": "%s", "deployed_by": "ops@example.com", "commit": "%s", "status": "success"}\n' \
    "$tag" "$(date -u +%FT%TZ)" "$commit" >/opt/l9/.deployed-metadata.json

  runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -h /run/postgresql -d postgres \
    -c "CREATE ROLE l9 LOGIN PASSWORD '$db_password'" -c "CREATE DATABASE l9 OWNER l9" >/dev/null
  runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -h /run/postgresql -d l9 \
    -c "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)" \
    -c "INSERT INTO orders (item) VALUES ('legacy-order-1')" -c "ALTER TABLE orders OWNER TO l9" >/dev/null

  cd /opt/l9/docker
  # The builder's deprecation notice goes to the log, with everything else it says.
  if ! docker-compose -p l9 build -q l9-api-blue >/var/log/l9-sandbox/compose-build.log 2>&1; then
    cat /var/log/l9-sandbox/compose-build.log >&2
    return 1
  fi
  docker-compose -p l9 up -d l9-api-blue l9-jobs 2>&1 | sed 's/^/  compose: /'
  docker-compose -p l9 up --no-start l9-api-green 2>&1 | sed 's/^/  compose: /'
}

legacy_caddy_answers() {
  host_exec "$LEGACY_HOST" curl -fsS -m 3 http://localhost:2019/config/ >/dev/null 2>&1
}

legacy_postgres_answers() {
  host_exec "$LEGACY_HOST" runuser -u postgres -- psql -qtA -h /run/postgresql -d l9 -c 'SELECT 1' >/dev/null 2>&1
}

legacy_answers() {
  host_pid "$LEGACY_HOST" >/dev/null && host_ssh_answers "$LEGACY_HOST" && host_docker_answers "$LEGACY_HOST" \
    && host_cron_answers "$LEGACY_HOST" && legacy_caddy_answers && legacy_postgres_answers
}

# The internal CA's root the two sites' certificates chain to, copied where tests read it.
legacy_ca_root() { printf '%s/ca-root.crt' "$(host_dir "$LEGACY_HOST")"; }

legacy_up() {
  local name="$LEGACY_HOST" dir
  dir=$(host_dir "$name")
  command -v docker-compose >/dev/null || die "the legacy host needs Debian's docker-compose (compose v1): run scripts/setup.sh"
  ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || die "the legacy host needs Debian's postgresql: run scripts/setup.sh"
  hosts_require
  bridge_up
  if legacy_answers; then log "$name (legacy): answering ($(host_addr "$name"))"; return; fi
  host_pid "$name" >/dev/null || host_boot "$name"
  host_ssh_config "$name"
  host_exec "$name" bash -c "$(declare -f host_daemons); host_daemons \"\$@\"" host_daemons "$name" "$dir/ssh" no-caddy
  for _ in $(seq 1 120); do host_docker_answers "$name" && host_ssh_answers "$name" && break; sleep 0.5; done
  host_docker_answers "$name" && host_ssh_answers "$name" || die "$name (legacy): sshd or dockerd did not answer within 60 s (logs: $dir/logs/)"
  host_exec "$name" bash -c "$(declare -f legacy_postgres_up); legacy_postgres_up"
  if ! host_exec "$name" test -f /opt/l9/.deployed-metadata.json; then
    log "$name (legacy): laying out the old runbooks' host (/opt/l9 at $LEGACY_TAG, compose v1, PostgreSQL, cron)"
    host_exec "$name" rm -rf /tmp/l9-legacy-fixtures /opt/l9
    host_exec "$name" mkdir -p /tmp/l9-legacy-fixtures
    tar -C "$LEGACY_FIXTURES" -cf - . | host_exec "$name" tar -C /tmp/l9-legacy-fixtures -xf -
    host_exec "$name" bash -c "$(declare -f legacy_provision); legacy_provision \"\$@\"" legacy_provision \
      "file://$SB/origin/l9-app.git" "$LEGACY_TAG" || die "$name (legacy): laying out the host failed"
  fi
  legacy_caddy_answers || host_exec "$name" bash -c "$(declare -f legacy_caddy_start); legacy_caddy_start" \
    || die "$name (legacy): Caddy did not start (log: $dir/logs/caddy.log)"
  legacy_write_ca_root
  legacy_answers || die "$name (legacy): not every daemon answers (logs: $dir/logs/)"
  log "$name (legacy): up ($(host_addr "$name"); Caddyfile Caddy with admin localhost:2019, compose project l9, PostgreSQL)"
}

# Caddy writes its internal CA's root when it first issues: wait for it, then copy it out.
legacy_write_ca_root() {
  local root=/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt
  for _ in $(seq 1 60); do host_exec "$LEGACY_HOST" test -s "$root" && break; sleep 0.5; done
  host_exec "$LEGACY_HOST" cat "$root" >"$(legacy_ca_root).tmp" || die "$LEGACY_HOST (legacy): Caddy has no internal CA root at $root"
  mv -f "$(legacy_ca_root).tmp" "$(legacy_ca_root)"
}

# What `systemctl restart caddy` and `systemctl reload caddy` do to Debian's caddy.service.
legacy_caddy() {
  host_pid "$LEGACY_HOST" >/dev/null || die "the legacy host is not up (scripts/sandbox.sh legacy up)"
  case "${1:-}" in
    restart)
      host_exec "$LEGACY_HOST" bash -c "$(declare -f legacy_caddy_stop legacy_caddy_start); legacy_caddy_stop && legacy_caddy_start"
      log "$LEGACY_HOST (legacy): caddy restarted"
      ;;
    reload)
      host_exec "$LEGACY_HOST" env HOME=/var/lib/caddy caddy reload --config /etc/caddy/Caddyfile --force
      log "$LEGACY_HOST (legacy): caddy reloaded"
      ;;
    *) die "usage: sandbox.sh legacy caddy restart|reload" ;;
  esac
}

legacy_status() {
  local name="$LEGACY_HOST"
  if ! host_pid "$name" >/dev/null; then echo "legacy    none (legacy up builds it)"; return 0; fi
  if legacy_answers; then echo "legacy    up ($(host_addr "$name"):22, caddy admin localhost:2019 in the host, PostgreSQL, cron)"; return 0; fi
  echo "legacy    DEGRADED (legacy up restarts what does not answer)"
  return 1
}

legacy_env() {
  host_pid "$LEGACY_HOST" >/dev/null || return 0
  printf 'L9_SANDBOX_LEGACY_HOST=%s\n' "$(host_addr "$LEGACY_HOST")"
  printf 'L9_SANDBOX_LEGACY_HOST_KEY=%s\n' "$(cut -d' ' -f1,2 "$(host_dir "$LEGACY_HOST")/ssh/host_ed25519.pub")"
  printf 'L9_SANDBOX_LEGACY_CA_ROOT=%s\n' "$(legacy_ca_root)"
}
