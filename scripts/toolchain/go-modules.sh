# Build recipes for the Go half of the toolchain, sourced by scripts/toolchain.sh.
# Each build_<binary> gets a scratch directory, writes a small wrapper module there, and
# builds the upstream main package into $BIN. Versions come from scripts/lib/common.sh.

# pulumi/pkg's own go.mod replaces sdk with ../sdk, so `go install pkg@version` refuses;
# a wrapper that requires pkg and sdk at the same version builds ./cmd/pulumi from it.
PULUMI_MODULE_REPLACES='replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e'

write_pulumi_wrapper() { # write_pulumi_wrapper <dir> <module name> [extra require lines]
  cat >"$1/go.mod" <<MOD
module $2

go 1.25.11

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
${3:-}
)

$PULUMI_MODULE_REPLACES
MOD
}

build_pulumi() {
  local dir="$1"
  write_pulumi_wrapper "$dir" l9deploy.local/toolchain/pulumi
  go_build_with_progress pulumi "$dir" "$BIN/pulumi" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

# The Node.js language host. Since v3.100 it is its own module
# (sdk/nodejs/cmd/pulumi-language-nodejs/v3), which the module proxy reachable here does not
# serve at any version; sdk/v3 v3.68.0 still carries it as a package, and it runs programs
# written against @pulumi/pulumi 3.259 with CLI 3.259 (tested: up, preview, refresh, destroy).

build_pulumi-language-nodejs() {
  local dir="$1"
  cat >"$dir/go.mod" <<MOD
module l9deploy.local/toolchain/language-nodejs

go 1.21

require github.com/pulumi/pulumi/sdk/v3 v$LANGUAGE_HOST_SDK_VERSION
MOD
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
GO
  (cd "$dir" && go mod tidy >"$WORK/pulumi-language-nodejs.tidy.log" 2>&1) || { tail -20 "$WORK/pulumi-language-nodejs.tidy.log" >&2; die "pulumi-language-nodejs: go mod tidy failed"; }
  go_build_with_progress pulumi-language-nodejs "$dir" "$BIN/pulumi-language-nodejs" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$LANGUAGE_HOST_SDK_VERSION" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  echo "v$LANGUAGE_HOST_SDK_VERSION (from github.com/pulumi/pulumi/sdk/v3 v$LANGUAGE_HOST_SDK_VERSION)" >"$BIN/pulumi-language-nodejs.version"
}

# actionlint lints the GitHub workflows in the test suite.

build_actionlint() {
  local dir="$1"
  log "actionlint: go install github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
  (cd "$dir" && GOBIN="$BIN" go install "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION") >"$WORK/actionlint.log" 2>&1 || { tail -20 "$WORK/actionlint.log" >&2; die "actionlint: go install failed"; }
}
