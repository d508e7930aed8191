#!/usr/bin/env bash
# Regenerates go.mod/go.sum of the build-only module that pins the Kubernetes binaries (build.sh).
# Run only when moving to another Kubernetes release; the committed go.mod/go.sum are what builds use.
# Usage: tests/controlplane/gen-module.sh v1.36.3
set -euo pipefail
cd "$(dirname "$0")"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
K8S=${1:?kubernetes version, e.g. v1.36.3}
STG=v0.${K8S#v1.}
rm -f go.mod go.sum
go mod init rollback-operator.invalid/controlplane
go mod edit -go=1.26.0 -godebug=default=go1.26
K8SMOD=$(go mod download -json "k8s.io/kubernetes@$K8S" | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])')
for m in $(sed -nE 's#^[[:space:]]*(k8s\.io/[a-z0-9-]+) v0\.0\.0([[:space:]]*//.*)?$#\1#p' "$K8SMOD" | sort -u); do
  go mod edit -replace="$m=$m@$STG"
done
# every tool with @$K8S: without it `go get -tool` may move k8s.io/kubernetes or etcd to another version
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy; do
  go get -tool "k8s.io/kubernetes/cmd/$cmd@$K8S"
done
ETCDV=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
go get -tool "go.etcd.io/etcd/server/v3@$ETCDV"
go mod tidy
go list -m k8s.io/kubernetes go.etcd.io/etcd/server/v3
