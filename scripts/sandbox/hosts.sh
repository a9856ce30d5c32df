#!/usr/bin/env bash
# Isolated sandbox hosts h1..hN, sourced by scripts/sandbox.sh (which sets SB, log, die).
# Host i is a network namespace l9sb-hI on the bridge l9sb0 (10.219.0.1/24) at 10.219.0.(10+i),
# plus its own mount, PID, UTS and IPC namespaces whose root is an overlay of the machine's /
# (writes land in $SB/hosts/hI/upper), with its own dockerd, sshd on <address>:22 (own host
# key), Caddy (admin API on the unix socket /run/caddy/admin.sock, as the README's production
# setup has it: no TCP listener an app container could reach) and cron. An edge Caddy in the root
# namespace (admin 127.0.0.1:2020) is where tests put a load balancer across the hosts.
# Nothing here touches the main sandbox's daemons.

HOSTS_DIR="$SB/hosts"
HOSTS_MAX=5
HOSTS_BRIDGE="l9sb0"
HOSTS_NET="10.219.0"
# Each host's Caddy admin API: a socket in its private /run (Caddy's notation: unix/<path>).
HOST_CADDY_SOCKET="/run/caddy/admin.sock"
EDGE_ADMIN="127.0.0.1:2020"
# Directories a new host gets empty (an overlay whiteout, then a new opaque directory)
# instead of the machine's: where the program writes, so the machine's deploys, cron jobs and
# crontabs are not inherited; etc/docker, whose key.json is dockerd's engine ID; and what the
# machine keeps changing while hosts run (a change in overlayfs' lower layer can leave a
# stale entry in the host: a deleted file still "exists" there).
HOST_FRESH_DIRS=(srv opt/l9 var/lib/l9-deploy var/lib/prometheus/node-exporter etc/cron.d var/spool/cron
  etc/docker root home work var/log var/tmp "${SB#/}")

host_dir() { printf '%s/%s' "$HOSTS_DIR" "$1"; }
host_netns() { printf 'l9sb-%s' "$1"; }
host_addr() { printf '%s.%s' "$HOSTS_NET" "$((10 + ${1#h}))"; }
# h1..h5, and the legacy host (legacy-host.sh), which `up --hosts N` never counts.
host_valid() { { [[ "$1" =~ ^h[1-9]$ ]] && [ "${1#h}" -le "$HOSTS_MAX" ]; } || [ "$1" = "${LEGACY_HOST:-}" ]; }

# The root-namespace pid of the host's init, if it runs: pid 1 of its own PID namespace and a
# member of the host's network namespace (so a recycled pid is not taken for it).
host_pid() {
  local pid
  pid=$(cat "$(host_dir "$1")/init.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(ip netns identify "$pid" 2>/dev/null)" = "$(host_netns "$1")" ] || return 1
  grep -qE '^NSpid:[[:space:]]+[0-9]+[[:space:]]+1$' "/proc/$pid/status" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

# Hosts with an init or a namespace left, in order.
hosts_present() {
  local i name
  for i in $(seq 1 "$HOSTS_MAX"); do
    name="h$i"
    if host_pid "$name" >/dev/null || [ -e "/run/netns/$(host_netns "$name")" ]; then printf '%s\n' "$name"; fi
  done
}

hosts_live() {
  local name
  for name in $(hosts_present); do host_pid "$name" >/dev/null && printf '%s\n' "$name"; done
  return 0
}

# Runs a command inside a host: its namespaces and its root. HOME and the docker client's
# variables are reset so the command talks to the host's own daemon.
host_exec() {
  local name="$1" pid
  shift
  host_valid "$name" || die "no such host '$name' (h1..h$HOSTS_MAX)"
  pid=$(host_pid "$name") || die "host $name is not up (bash scripts/sandbox.sh up --hosts N)"
  env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_CONFIG HOME=/root \
    nsenter --target "$pid" --mount --uts --ipc --net --pid --root --wd -- "$@"
}

host_ssh_answers() {
  local dir
  dir=$(host_dir "$1")
  [ -f "$dir/ssh/known_hosts" ] || return 1
  ssh -i "$SB/ssh/operator_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$dir/ssh/known_hosts" -o StrictHostKeyChecking=yes -o ConnectTimeout=3 \
    "root@$(host_addr "$1")" true >/dev/null 2>&1
}

# The host's docker socket is in its private /run, reached through its init's root.
host_docker_answers() {
  local pid
  pid=$(host_pid "$1") || return 1
  docker -H "unix:///proc/$pid/root/run/docker.sock" info >/dev/null 2>&1
}

# The socket is in the host's private /run, reached through its init's root; Caddy wants an
# empty Host header on a socket.
host_caddy_answers() {
  local pid
  pid=$(host_pid "$1") || return 1
  curl -fsS -m 3 --unix-socket "/proc/$pid/root$HOST_CADDY_SOCKET" -H 'Host;' http://127.0.0.1/config/ >/dev/null 2>&1
}

host_cron_answers() {
  host_exec "$1" sh -c 'kill -0 "$(cat /run/crond.pid)"' >/dev/null 2>&1
}

host_answers() {
  host_pid "$1" >/dev/null && host_ssh_answers "$1" && host_docker_answers "$1" && host_caddy_answers "$1" && host_cron_answers "$1"
}

bridge_up() {
  ip link show "$HOSTS_BRIDGE" >/dev/null 2>&1 && return
  log "hosts: bridge $HOSTS_BRIDGE ($HOSTS_NET.1/24)"
  ip link add "$HOSTS_BRIDGE" type bridge
  ip addr add "$HOSTS_NET.1/24" dev "$HOSTS_BRIDGE"
  ip link set "$HOSTS_BRIDGE" up
}

# Own host key (kept across up/down), the operator's key for root, a known_hosts line to pin.
host_ssh_config() {
  local name="$1" dir addr
  dir=$(host_dir "$name")
  addr=$(host_addr "$name")
  mkdir -p "$dir/ssh" && chmod 700 "$dir/ssh"
  [ -f "$dir/ssh/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "l9-sandbox-$name" -f "$dir/ssh/host_ed25519"
  cp "$SB/ssh/operator_ed25519.pub" "$dir/ssh/authorized_keys"
  printf '%s %s\n' "$addr" "$(cut -d' ' -f1,2 "$dir/ssh/host_ed25519.pub")" >"$dir/ssh/known_hosts"
  {
    echo "# Generated by scripts/sandbox/hosts.sh: sandbox host $name's sshd, on its own address."
    render_sshd_config "$addr" "$dir/ssh/host_ed25519" /run/sshd.pid "$dir/ssh/authorized_keys" 22
  } >"$dir/ssh/sshd_config"
}

# Runs as pid 1 of the host's new PID namespace, in its new mount namespace (and already in
# its network namespace): builds the host's root, pivots into it and becomes tini, which
# reaps the orphans the daemons leave. Passed to the new namespaces with `declare -f`.
host_init() {
  set -euo pipefail
  local name="$1" dir="$2" sb="$3" fresh="$4" root pid d f
  shift 4
  root="$dir/root"
  # Nothing mounted here may reach the machine's mount table.
  mount --make-rprivate /
  # /proc is still the machine's, so this is the root-namespace pid, what nsenter needs.
  read -r pid _ </proc/self/stat
  hostname "$name"
  mount -t overlay "l9sb-$name" -o "lowerdir=/,upperdir=$dir/upper,workdir=$dir/work" "$root"
  if [ "$fresh" = 1 ]; then
    # Creating a directory over a whiteout makes it opaque: empty, not the machine's.
    for d in "$@"; do mkdir -m 755 "$root/$d"; done
    # A fresh VPS still has its packages' cron jobs, just none of the machine's own.
    for f in /etc/cron.d/* /etc/cron.d/.placeholder; do
      if [ -f "$f" ] && dpkg -S "$f" >/dev/null 2>&1; then cp -a "$f" "$root$f"; fi
    done
    mkdir -m 1730 "$root/var/spool/cron/crontabs"
    chgrp crontab "$root/var/spool/cron/crontabs"
    chmod 1777 "$root/var/tmp"
    printf '%s\n' "$name" >"$root/etc/hostname"
    # Debian's stock root dotfiles, not the machine's (its pyenv/cargo setup).
    chmod 700 "$root/root"
    cp /usr/share/base-files/dot.bashrc "$root/root/.bashrc"
    cp /usr/share/base-files/dot.profile "$root/root/.profile"
  fi
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  # dockerd needs the cgroup hierarchies (cgroup v1); its --cgroup-parent keeps them apart.
  mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup"
  mount -t tmpfs -o mode=755,nosuid tmpfs "$root/dev"
  mknod -m 666 "$root/dev/null" c 1 3
  mknod -m 666 "$root/dev/zero" c 1 5
  mknod -m 666 "$root/dev/full" c 1 7
  mknod -m 666 "$root/dev/random" c 1 8
  mknod -m 666 "$root/dev/urandom" c 1 9
  mknod -m 666 "$root/dev/tty" c 5 0
  mkdir -m 755 "$root/dev/pts"
  mkdir -m 1777 "$root/dev/shm"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$root/dev/pts"
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
  ln -s pts/ptmx "$root/dev/ptmx"
  ln -s /proc/self/fd "$root/dev/fd"
  ln -s /proc/self/fd/0 "$root/dev/stdin"
  ln -s /proc/self/fd/1 "$root/dev/stdout"
  ln -s /proc/self/fd/2 "$root/dev/stderr"
  mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$root/run"
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
  # overlay2 cannot sit on an overlay: the host's images live on the machine's ext4.
  mkdir -p "$root/var/lib/docker" "$root/var/log/l9-sandbox" "$root$sb/origin" "$root$dir/ssh"
  mount --bind "$dir/docker" "$root/var/lib/docker"
  mount --bind "$dir/logs" "$root/var/log/l9-sandbox"
  # The app's origin at the same path as on the machine, always current, never writable.
  mount --bind "$sb/origin" "$root$sb/origin"
  mount -o remount,bind,ro "$root$sb/origin"
  mount --bind "$dir/ssh" "$root$dir/ssh"
  mount -o remount,bind,ro "$root$dir/ssh"
  printf '%s\n' "$pid" >"$dir/init.pid"
  cd "$root"
  mkdir -p .l9-oldroot
  pivot_root . .l9-oldroot
  cd /
  umount -l /.l9-oldroot
  rmdir /.l9-oldroot
  exec /usr/bin/tini -- bash -c 'while :; do sleep 86400; done'
}

# Starts, inside a host, whichever of its daemons does not run. Passed in with `declare -f`.
# A third argument `no-caddy` leaves Caddy out (the legacy host runs its own, from a Caddyfile).
host_daemons() {
  set -euo pipefail
  local name="$1" sshdir="$2" caddy="${3:-caddy}" logs=/var/log/l9-sandbox
  # The daemons outlive the caller: none of its PATH (a test's node_modules/.bin) for them.
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  mkdir -p /run/sshd /etc/l9-sandbox /var/lib/l9-sandbox-caddy/xdg-config /var/lib/l9-sandbox-caddy/xdg-data
  if ! docker info >/dev/null 2>&1; then
    # Everything of this dockerd is in the host's private /run and its own data root; the
    # cgroup tree is shared with the machine, hence a parent of its own.
    setsid nohup dockerd --host unix:///var/run/docker.sock --data-root /var/lib/docker \
      --exec-root /var/run/docker --pidfile /var/run/docker.pid --cgroup-parent "/l9sb-$name" \
      --iptables=false --ip-masq=false >>"$logs/dockerd.log" 2>&1 </dev/null &
  fi
  if ! kill -0 "$(cat /run/sshd.pid 2>/dev/null)" 2>/dev/null; then
    /usr/sbin/sshd -t -f "$sshdir/sshd_config"
    /usr/sbin/sshd -f "$sshdir/sshd_config" -E "$logs/sshd.log"
  fi
  if [ "$caddy" = caddy ] && ! curl -fsS -m 3 --unix-socket /run/caddy/admin.sock -H 'Host;' http://127.0.0.1/config/ >/dev/null 2>&1; then
    # A Caddy of an older sandbox (admin on 127.0.0.1:2019) and its autosaved config make way.
    if pkill -x caddy; then sleep 1; fi
    if ! grep -qs '"unix//run/caddy/admin.sock"' /var/lib/l9-sandbox-caddy/xdg-config/caddy/autosave.json; then
      rm -f /var/lib/l9-sandbox-caddy/xdg-config/caddy/autosave.json
    fi
    mkdir -p -m 700 /run/caddy
    printf '%s\n' '{"admin":{"listen":"unix//run/caddy/admin.sock"},"apps":{"http":{"servers":{}},"pki":{"certificate_authorities":{"local":{"install_trust":false}}}}}' >/etc/l9-sandbox/caddy.json
    XDG_CONFIG_HOME=/var/lib/l9-sandbox-caddy/xdg-config XDG_DATA_HOME=/var/lib/l9-sandbox-caddy/xdg-data \
      setsid nohup caddy run --resume --config /etc/l9-sandbox/caddy.json >>"$logs/caddy.log" 2>&1 </dev/null &
  fi
  if ! kill -0 "$(cat /run/crond.pid 2>/dev/null)" 2>/dev/null; then /usr/sbin/cron; fi
}

host_boot() {
  local name="$1" dir ns addr fresh=0 d pid
  dir=$(host_dir "$name")
  ns=$(host_netns "$name")
  addr=$(host_addr "$name")
  # Leftovers of a host whose init died (the machine rebooted, or it was killed).
  host_stop "$name"
  log "$name: booting ($addr)"
  mkdir -p "$dir/work" "$dir/root" "$dir/docker" "$dir/logs"
  if [ ! -d "$dir/upper" ]; then
    fresh=1
    mkdir -p "$dir/upper"
    for d in "${HOST_FRESH_DIRS[@]}"; do
      mkdir -p "$dir/upper/$(dirname "$d")"
      mknod "$dir/upper/$d" c 0 0
    done
  fi
  : >"$dir/logs/init.log"
  host_ssh_config "$name"

  ip netns add "$ns"
  # A fixed MAC per host, and no neighbour entry left: otherwise, after a host is rebooted,
  # the machine keeps sending to the old MAC for up to a minute.
  ip link add "l9sb$name" type veth peer name "l9sb${name}p" address "02:19:00:00:00:$(printf '%02x' "$((10 + ${name#h}))")"
  ip neigh flush to "$addr" dev "$HOSTS_BRIDGE" 2>/dev/null || true
  ip link set "l9sb${name}p" netns "$ns"
  ip link set "l9sb$name" master "$HOSTS_BRIDGE" up
  ip -n "$ns" link set "l9sb${name}p" name eth0
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up

  rm -f "$dir/init.pid"
  # nsenter, not `ip netns exec`: the latter remounts /sys and drops the cgroup mounts.
  setsid nohup nsenter --net="/run/netns/$ns" \
    unshare --mount --pid --uts --ipc --fork --propagation private \
    bash -c "$(declare -f host_init); host_init \"\$@\"" host_init \
    "$name" "$dir" "$SB" "$fresh" "${HOST_FRESH_DIRS[@]}" >>"$dir/logs/init.log" 2>&1 </dev/null &
  # Up once its init is tini, i.e. after the pivot into the host's root.
  for _ in $(seq 1 100); do
    if pid=$(host_pid "$name") && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tini ]; then return; fi
    sleep 0.1
  done
  tail -20 "$dir/logs/init.log" >&2
  die "$name: its root was not set up within 10 s (log: $dir/logs/init.log)"
}

host_wait() {
  local name="$1" dir
  dir=$(host_dir "$name")
  for _ in $(seq 1 120); do
    if host_ssh_answers "$name" && host_docker_answers "$name" && host_caddy_answers "$name"; then
      log "$name: up ($(host_addr "$name"))"
      return
    fi
    sleep 0.5
  done
  tail -5 "$dir/logs/dockerd.log" "$dir/logs/sshd.log" "$dir/logs/caddy.log" >&2 || true
  die "$name: sshd, dockerd or Caddy did not answer within 60 s (logs: $dir/logs/)"
}

# Stops every process of a host and removes its namespaces; its files stay.
host_stop() {
  local name="$1" ns pid pids c
  ns=$(host_netns "$name")
  if pid=$(host_pid "$name"); then
    # dockerd first, so it stops its containers itself; then all of the PID namespace at once.
    host_exec "$name" sh -c 'p=$(cat /run/docker.pid 2>/dev/null) || exit 0
      kill "$p" 2>/dev/null || exit 0
      for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || exit 0; sleep 0.2; done' || true
    kill -KILL "$pid" 2>/dev/null || true
  fi
  if [ -e "/run/netns/$ns" ]; then
    # Anything else in its network namespace: the unshare parent, an exec session.
    for _ in $(seq 1 50); do
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      [ -z "$pids" ] && break
      # shellcheck disable=SC2086 # one pid per word
      kill -KILL $pids 2>/dev/null || true
      sleep 0.1
    done
    [ -z "$pids" ] || die "$name: processes $pids would not exit"
    ip netns del "$ns"
  fi
  ip link del "l9sb$name" >/dev/null 2>&1 || true
  # Empty cgroups of its containers, left since they were killed rather than stopped.
  for c in /sys/fs/cgroup/*/"l9sb-$name"; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -f "$(host_dir "$name")/init.pid"
}

# A removed host is gone but for its host key: the next one with its name starts clean.
host_remove() {
  local name="$1" dir
  dir=$(host_dir "$name")
  host_stop "$name"
  # Its mounts were in its own mount namespace, gone with its processes.
  if grep -qF " $dir/" /proc/self/mountinfo; then die "$name: something is still mounted under $dir"; fi
  rm -rf "$dir/upper" "$dir/work" "$dir/root" "$dir/docker"
  log "$name: removed (host key kept in $dir/ssh)"
}

edge_up() {
  local pki='{"certificate_authorities":{"local":{"install_trust":false}}}'
  mkdir -p "$SB/edge/xdg-config" "$SB/edge/xdg-data" "$SB/logs"
  printf '{"admin":{"listen":"%s"},"apps":{"http":{"servers":{}},"pki":%s}}\n' "$EDGE_ADMIN" "$pki" >"$SB/edge/base.json"
  if curl -fsS "http://$EDGE_ADMIN/config/" >/dev/null 2>&1; then log "edge caddy: admin answering on $EDGE_ADMIN"; return; fi
  log "edge caddy: starting (admin $EDGE_ADMIN)"
  # Durable like the main Caddy: --resume brings back what tests put through its API.
  XDG_CONFIG_HOME="$SB/edge/xdg-config" XDG_DATA_HOME="$SB/edge/xdg-data" \
    nohup caddy run --resume --config "$SB/edge/base.json" >>"$SB/logs/edge-caddy.log" 2>&1 </dev/null &
  echo $! >"$SB/edge/caddy.pid"
  for _ in $(seq 1 30); do curl -fsS "http://$EDGE_ADMIN/config/" >/dev/null 2>&1 && { log "edge caddy: up"; return; }; sleep 0.5; done
  tail -20 "$SB/logs/edge-caddy.log" >&2
  die "the edge Caddy's admin API did not answer (log: $SB/logs/edge-caddy.log)"
}

hosts_require() {
  local missing=()
  command -v nsenter >/dev/null && command -v unshare >/dev/null && [ -x /usr/sbin/pivot_root ] || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  [ -x /usr/bin/tini ] || missing+=(tini)
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || die "the kernel has no overlayfs"
  if [ ${#missing[@]} -gt 0 ]; then die "sandbox hosts need: ${missing[*]} (apt-get install -y ${missing[*]})"; fi
}

hosts_check_count() {
  [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$HOSTS_MAX" ] || die "--hosts takes a number from 1 to $HOSTS_MAX (got '$1')"
}

# Brings up exactly hosts h1..hN: those answering are left alone, any above N are removed.
hosts_up() {
  local n="$1" name i started=()
  hosts_check_count "$n"
  hosts_require
  for name in $(hosts_present); do
    [ "${name#h}" -le "$n" ] || host_remove "$name"
  done
  bridge_up
  for i in $(seq 1 "$n"); do
    name="h$i"
    if host_answers "$name"; then log "$name: answering ($(host_addr "$name"))"; continue; fi
    if host_pid "$name" >/dev/null; then
      log "$name: running; starting what does not answer"
      host_ssh_config "$name"
    else
      host_boot "$name"
    fi
    host_exec "$name" bash -c "$(declare -f host_daemons); host_daemons \"\$@\"" host_daemons "$name" "$(host_dir "$name")/ssh"
    started+=("$name")
  done
  for name in "${started[@]}"; do host_wait "$name"; done
  edge_up
}

hosts_down() {
  local name
  # Also the disks of hosts that no longer run (their namespaces went with a reboot), and the legacy host.
  for name in $(seq -f 'h%g' 1 "$HOSTS_MAX") ${LEGACY_HOST:+"$LEGACY_HOST"}; do
    if [ -d "$(host_dir "$name")/upper" ] || host_pid "$name" >/dev/null || [ -e "/run/netns/$(host_netns "$name")" ]; then
      host_remove "$name"
    fi
  done
  if curl -fsS -X POST "http://$EDGE_ADMIN/stop" >/dev/null 2>&1; then log "edge caddy: stopped"; fi
  if ip link show "$HOSTS_BRIDGE" >/dev/null 2>&1; then ip link del "$HOSTS_BRIDGE" && log "hosts: bridge $HOSTS_BRIDGE removed"; fi
}

hosts_env() {
  local name json="" key
  for name in $(hosts_live); do
    key=$(cut -d' ' -f1,2 "$(host_dir "$name")/ssh/host_ed25519.pub")
    json+="${json:+,}{\"name\":\"$name\",\"host\":\"$(host_addr "$name")\",\"sshPort\":22,\"hostKey\":\"$key\"}"
  done
  [ -n "$json" ] || return 0
  printf 'L9_SANDBOX_HOSTS=[%s]\n' "$json"
  printf 'L9_SANDBOX_EDGE_ADMIN=%s\n' "$EDGE_ADMIN"
}

hosts_status() {
  local rc=0 name present ok parts
  present=$(hosts_present)
  if [ -z "$present" ]; then echo "hosts     none (up --hosts N adds h1..hN)"; return 0; fi
  for name in $present; do
    if ! host_pid "$name" >/dev/null; then printf '%-9s DOWN (no init; up --hosts N restarts it)\n' "$name"; rc=1; continue; fi
    ok=up
    parts="$(host_addr "$name"):22"
    host_ssh_answers "$name" && parts+=", sshd pinned key" || { parts+=", sshd DOWN"; ok=DEGRADED; }
    host_docker_answers "$name" && parts+=", dockerd" || { parts+=", dockerd DOWN"; ok=DEGRADED; }
    host_caddy_answers "$name" && parts+=", caddy admin unix/$HOST_CADDY_SOCKET" || { parts+=", caddy DOWN"; ok=DEGRADED; }
    host_cron_answers "$name" && parts+=", cron" || { parts+=", cron DOWN"; ok=DEGRADED; }
    [ "$ok" = up ] || rc=1
    printf '%-9s %s (%s)\n' "$name" "$ok" "$parts"
  done
  if curl -fsS "http://$EDGE_ADMIN/config/" >/dev/null 2>&1; then echo "edge      up (caddy admin $EDGE_ADMIN)"; else echo "edge      DOWN"; rc=1; fi
  return $rc
}
