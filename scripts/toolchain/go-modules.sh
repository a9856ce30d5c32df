# Build recipes for the Go half of the toolchain, sourced by scripts/toolchain.sh.
# Each build_<binary> gets a scratch directory and builds into $BIN. Versions and the
# offline archives' checksums come from scripts/lib/common.sh.

# pulumi/pkg's own go.mod replaces sdk with ../sdk, so `go install pkg@version` refuses;
# a wrapper that requires pkg and sdk at the same version builds ./cmd/pulumi from it.
build_pulumi() {
  local dir="$1"
  cat >"$dir/go.mod" <<MOD
module l9deploy.local/toolchain/pulumi

go 1.25.11

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
  go_build_with_progress pulumi "$dir" "$BIN/pulumi" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

# unpack_offline_source <archive> <dir>: checks the archive against the sha256 pinned in
# common.sh, then unpacks it into <dir> (emptied first).
unpack_offline_source() {
  local archive="$1" dir="$2" path="$L9_OFFLINE_SOURCES/$1" want="" line got
  for line in "${L9_OFFLINE_SHA256[@]}"; do
    [ "${line#*  }" = "$archive" ] && want="${line%%  *}"
  done
  [ -n "$want" ] || die "$archive: no pinned sha256 in scripts/lib/common.sh"
  [ -f "$path" ] || die "$archive: missing source archive $path. These machines cannot download Pulumi plugins; the archive is expected in shared/offline-sources beside the repository (or set L9_OFFLINE_SOURCES). With internet access, a normal Pulumi install downloads the plugins instead."
  got=$(sha256sum "$path" | cut -d' ' -f1)
  [ "$got" = "$want" ] || die "$archive: sha256 $got does not match the pinned $want: the archive was altered or is another version; refusing to build from it. Restore the archive (or, with internet access, let a normal Pulumi install download the plugins)."
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xzf "$path" -C "$dir"
  log "$archive: sha256 verified, unpacked"
}

# The Node.js language host (its own module since v3.100; the module proxy does not serve it,
# so it builds from the offline archive). It runs policy packs natively.
build_pulumi-language-nodejs() {
  local dir="$1/src"
  unpack_offline_source "pulumi-language-nodejs-v$PULUMI_VERSION.tar.gz" "$dir"
  go_build_with_progress pulumi-language-nodejs "$dir/sdk/nodejs/cmd/pulumi-language-nodejs" "$BIN/pulumi-language-nodejs" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" .
  echo "v$PULUMI_VERSION" >"$BIN/pulumi-language-nodejs.version"
}

# The launcher the engine runs for dynamic providers (the host fact probes of stacks deployed
# before providers/l9host, until their first update): the script shipped with the language host.
build_pulumi-resource-pulumi-nodejs() {
  local dir="$1/src"
  unpack_offline_source "pulumi-language-nodejs-v$PULUMI_VERSION.tar.gz" "$dir"
  install -m 0755 "$dir/sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$BIN/pulumi-resource-pulumi-nodejs"
  echo "launcher for @pulumi/pulumi dynamic providers (from pulumi-language-nodejs v$PULUMI_VERSION)" >"$BIN/pulumi-resource-pulumi-nodejs.version"
}

# build_provider <name> <version> <archive> <go module of the version variable>
build_provider() {
  local name="$1" version="$2" archive="$3" module="$4" dir="$5/src"
  unpack_offline_source "$archive" "$dir"
  go_build_with_progress "pulumi-resource-$name" "$dir/provider" "$PROVIDERS/pulumi-resource-$name" \
    -ldflags "-X $module/pkg/version.Version=$version" "./cmd/pulumi-resource-$name"
  echo "$version" >"$PROVIDERS/pulumi-resource-$name.version"
}

build_pulumi-resource-command() {
  build_provider command "$COMMAND_PROVIDER_VERSION" "pulumi-command-v$COMMAND_PROVIDER_VERSION.tar.gz" github.com/pulumi/pulumi-command/provider "$1"
}
build_pulumi-resource-random() {
  build_provider random "$RANDOM_PROVIDER_VERSION" "pulumi-random-v$RANDOM_PROVIDER_VERSION.tar.gz" github.com/pulumi/pulumi-random/provider/v4 "$1"
}
build_pulumi-resource-docker() {
  build_provider docker "$DOCKER_PROVIDER_VERSION" "pulumi-docker-v$DOCKER_PROVIDER_VERSION.tar.gz" github.com/pulumi/pulumi-docker/provider/v5 "$1"
}

# actionlint lints the GitHub workflows in the test suite.
build_actionlint() {
  local dir="$1"
  log "actionlint: go install github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
  (cd "$dir" && GOBIN="$BIN" go install "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION") >"$WORK/actionlint.log" 2>&1 || { tail -20 "$WORK/actionlint.log" >&2; die "actionlint: go install failed"; }
}
