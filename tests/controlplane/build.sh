#!/usr/bin/env bash
# Builds the Kubernetes binaries from the pinned Go modules (go.mod beside this script) into $BIN_DIR
# (default .bin/):
#   build.sh          the control plane: etcd, kube-apiserver, kube-controller-manager,
#                     kube-scheduler and kubectl (tests, `make cluster`, the demo)
#   build.sh node     the same plus the node's kubelet and kube-proxy (the node tier, tests/node/)
# A binary is skipped when it exists and was built from the same go.mod/go.sum/build.sh (a stamp per
# binary holds their hash), so a second run costs nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN_DIR=${BIN_DIR:-$(cd "$here/../.." && pwd)/.bin}
mkdir -p "$BIN_DIR"
want=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
components="etcd kube-apiserver kube-controller-manager kube-scheduler kubectl"
case "${1:-}" in
  "") ;;
  node) components="$components kubelet kube-proxy" ;;
  *) echo "usage: build.sh [node]" >&2; exit 2 ;;
esac
missing=""
for c in $components; do
  [ -x "$BIN_DIR/$c" ] && [ "$(cat "$BIN_DIR/.stamp-$c" 2>/dev/null)" = "$want" ] || missing="$missing $c"
done
[ -n "$missing" ] || exit 0
command -v go >/dev/null || { echo "build.sh: Go 1.26+ is needed to build$missing" >&2; exit 1; }
cd "$here"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
K8S=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
MINOR=$(echo "$K8S" | cut -d. -f2)
LDF="-s -w -X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
echo "building$missing ($K8S) into $BIN_DIR (first time: several minutes)" >&2
start=$(date +%s)
for c in $missing; do
  if [ "$c" = etcd ]; then
    go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd" go.etcd.io/etcd/server/v3
  else
    go build -trimpath -ldflags "$LDF" -o "$BIN_DIR/$c" "k8s.io/kubernetes/cmd/$c"
  fi
  echo "$want" >"$BIN_DIR/.stamp-$c"
done
rm -f "$BIN_DIR/.controlplane-stamp"  # the single stamp of earlier versions of this script
echo "built in $(( $(date +%s) - start ))s" >&2
