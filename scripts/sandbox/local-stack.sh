#!/usr/bin/env bash
# Prepares the `local` stack's effective config: a copy of the committed Pulumi.local.yaml
# at $L9_SANDBOX_DIR/Pulumi.local.yaml (made once; operator edits to it persist), with this
# machine's sandbox values set on every run: the pinned host key, the SSH private key
# (secret), the sample app's origin, and the app env (secret, generated once).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
l9_pulumi_env
cd "$L9_ROOT"
export PULUMI_CONFIG_PASSPHRASE_FILE="$L9_ROOT/scripts/sandbox/local-passphrase"
cfg="$L9_SANDBOX_DIR/Pulumi.local.yaml"
[ -f "$cfg" ] || { cp Pulumi.local.yaml "$cfg"; log "local stack: config created at $cfg"; }
pulumi stack select --create local >/dev/null
set_cfg() { pulumi config set --stack local --config-file "$cfg" "$@" >/dev/null; }
set_cfg hostKey "$(cut -d' ' -f1,2 "$L9_SANDBOX_DIR/ssh/host_ed25519.pub")"
set_cfg --secret sshPrivateKey <"$L9_SANDBOX_DIR/ssh/operator_ed25519"
set_cfg repoUrl "file://$L9_SANDBOX_DIR/origin/l9-app.git"
secret_file="$L9_SANDBOX_DIR/app-secret"
[ -f "$secret_file" ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$secret_file")
set_cfg --secret env "{\"APP_SECRET\":\"$(cat "$secret_file")\",\"DATABASE_URL\":\"postgres://l9@127.0.0.1/l9\",\"LOG_LEVEL\":\"info\"}"
log "local stack: sandbox values set in $cfg"
