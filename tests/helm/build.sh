#!/usr/bin/env bash
# Builds helm from the Go module pinned in this directory's go.mod into $BIN_DIR (default .bin/).
# Skips the build when the binary exists and was built from the same go.mod/go.sum (a stamp file
# holds their hash), so a second run costs nothing. This module is separate from the control plane's
# so that helm's k8s.io dependencies never have to agree with the API server's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN_DIR=${BIN_DIR:-$(cd "$here/../.." && pwd)/.bin}
mkdir -p "$BIN_DIR"
stamp="$BIN_DIR/.helm-stamp"
want=$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)
crds="$BIN_DIR/monitoring-crds"
"$here/monitoring-crds.sh" "$crds"
if [ -x "$BIN_DIR/helm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "build.sh: Go 1.26+ is needed to build helm" >&2; exit 1; }
cd "$here"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
HELM=$(go list -m -f '{{.Version}}' helm.sh/helm/v3)
echo "building helm $HELM into $BIN_DIR (first time: a few minutes)" >&2
start=$(date +%s)
go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM" \
  -o "$BIN_DIR/helm" helm.sh/helm/v3/cmd/helm
echo "$want" > "$stamp"
echo "helm built in $(( $(date +%s) - start ))s" >&2
