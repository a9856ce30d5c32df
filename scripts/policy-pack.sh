#!/usr/bin/env bash
# Prints a directory that runs the policy pack at $1 with this toolchain. The pack itself is a
# standard Node.js CrossGuard pack (`runtime: nodejs`) that a normal Pulumi install runs as is.
# The toolchain's language host (3.68) cannot start policy packs, so the copy declares the
# runtime `l9-nodejs`, for which the engine starts `pulumi-analyzer-policy-l9-nodejs`
# (scripts/toolchain.sh) in the pack's directory. Its files are symlinks to the pack.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
pack=$(cd "${1:?usage: policy-pack.sh <policy pack dir>}" && pwd)
[ -f "$pack/PulumiPolicy.yaml" ] || die "$pack has no PulumiPolicy.yaml"
out="$L9_CACHE_DIR/policy-packs/$(printf '%s' "$pack" | sha256sum | cut -c1-12)"
mkdir -p "$out"
for f in "$pack"/*; do
  [ "$(basename "$f")" = PulumiPolicy.yaml ] || ln -sfn "$f" "$out/$(basename "$f")"
done
[ -e "$pack/node_modules" ] || ln -sfn "$L9_ROOT/node_modules" "$out/node_modules"
sed 's/^runtime:.*/runtime: l9-nodejs/' "$pack/PulumiPolicy.yaml" >"$out/PulumiPolicy.yaml"
echo "$out"
