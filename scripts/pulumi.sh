#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the toolchain's pulumi CLI with the project's environment:
# Node 22 and the toolchain first on PATH, a file backend under the cache directory (unless
# PULUMI_BACKEND_URL is set), no update checks, no plugin downloads, and PULUMI_RUN_PROGRAM
# (refresh and destroy run the program, which loads the deploy key into the stack's SSH
# agent: README, "Running pulumi"). For the sandbox stack `local` only, the sandbox's fixed
# passphrase is used when none is set.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
l9_pulumi_env
export PULUMI_RUN_PROGRAM="${PULUMI_RUN_PROGRAM:-true}"
[ -x "$L9_TOOLCHAIN_BIN/pulumi" ] || die "the Pulumi toolchain is not built yet: run scripts/setup.sh (or npm run toolchain -- build)"
cd "$L9_ROOT"

stack_arg() { # the --stack/-s value among the arguments, if any
  local prev=""
  for a in "$@"; do
    case "$prev" in --stack|-s) echo "$a"; return;; esac
    case "$a" in --stack=*) echo "${a#--stack=}"; return;; esac
    prev="$a"
  done
}
stack=$(stack_arg "$@")
[ -n "$stack" ] || stack="${PULUMI_STACK:-$(pulumi stack --show-name 2>/dev/null || true)}"
if [ "$stack" = local ]; then
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    export PULUMI_CONFIG_PASSPHRASE_FILE="$L9_ROOT/scripts/sandbox/local-passphrase"
  fi
  # The sandbox stack's effective config lives beside the sandbox (scripts/sandbox/local-stack.sh).
  case "${1:-}" in
    up|update|preview|refresh|destroy|config)
      if [ -f "$L9_SANDBOX_DIR/Pulumi.local.yaml" ] && [[ " $* " != *" --config-file"* ]]; then
        set -- "$@" --config-file "$L9_SANDBOX_DIR/Pulumi.local.yaml"
      fi ;;
  esac
fi
# destroy: the project's `refresh: always` would refresh before the program runs, that is
# before the deploy key is in the stack's agent; a destroy needs no refresh (every delete is
# idempotent), so it runs without one unless --refresh is given.
if [ "${1:-}" = destroy ] && [[ " $* " != *" --refresh"* ]] && [[ " $* " != *" -r "* ]]; then
  set -- "$@" --refresh=false
fi
# A stack left locked by a pulumi that was killed (a closed laptop, a cancelled job) on this
# machine: pulumi's own error suggests `pulumi cancel`, which also takes a live holder's lock.
# Say which step is safe instead (README, "After a crash").
if [ -n "$stack" ] && [ -n "${PULUMI_BACKEND_URL:-}" ] && [ "${PULUMI_BACKEND_URL#file://}" != "$PULUMI_BACKEND_URL" ]; then
  locks="${PULUMI_BACKEND_URL#file://}"
  locks="${locks%%\?*}/.pulumi/locks"
  while IFS= read -r lock; do
    pid=$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' "$lock")
    holder=$(sed -n 's/.*"hostname": *"\([^"]*\)".*/\1/p' "$lock")
    if [ -n "$pid" ] && [ "$holder" = "$(hostname)" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "stack $stack is locked by process $pid, which no longer runs (an interrupted update): run  npm run recover -- --stack $stack  (it never takes a live process's lock)"
    fi
  done < <(find "$locks" -path "*/$stack/*.json" 2>/dev/null)
fi
exec pulumi "$@"
