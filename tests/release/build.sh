#!/usr/bin/env bash
# Builds actionlint from the Go module pinned in this directory's go.mod into $BIN_DIR (default
# .bin/), to check the GitHub Actions workflows in .github/workflows/ (`make lint`). Skips the build
# when the binary exists and was built from the same go.mod/go.sum (a stamp file holds their hash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN_DIR=${BIN_DIR:-$(cd "$here/../.." && pwd)/.bin}
mkdir -p "$BIN_DIR"
stamp="$BIN_DIR/.actionlint-stamp"
want=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
if [ -x "$BIN_DIR/actionlint" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "build.sh: Go 1.26+ is needed to build actionlint" >&2; exit 1; }
cd "$here"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
VERSION=$(go list -m -f '{{.Version}}' github.com/rhysd/actionlint)
echo "building actionlint $VERSION into $BIN_DIR" >&2
go build -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=$VERSION" \
  -o "$BIN_DIR/actionlint" github.com/rhysd/actionlint/cmd/actionlint
echo "$want" > "$stamp"
