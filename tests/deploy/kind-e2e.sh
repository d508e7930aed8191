#!/usr/bin/env bash
# `make kind-e2e`: the operator from its image, in a real cluster, installed from deploy/.
# Creates a throwaway kind cluster, builds and loads the image, applies tests/deploy/kind/ (deploy/
# plus the provider sandboxes in the operator's pod, their URLs on its allow-list), runs
# tests/deploy/test_in_cluster.py against it and deletes the cluster, also on failure.
# Needs docker (with a running daemon), kind and kubectl on PATH. KEEP_CLUSTER=1 keeps the cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${KIND_CLUSTER:-rollback-operator-e2e}
IMAGE=rollback-operator:kind-e2e  # the tag tests/deploy/kind/ runs, with imagePullPolicy Never
PY=${PY:-.venv/bin/python}

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "kind-e2e: $tool is not on PATH" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "kind-e2e: no Docker daemon answers" >&2; exit 1; }

kubeconfig=$(mktemp)
cleanup() {
  if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
    echo "kind-e2e: keeping cluster $CLUSTER (kubeconfig: $kubeconfig)"
  else
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
    rm -f "$kubeconfig"
  fi
}
trap cleanup EXIT

docker build --tag "$IMAGE" .
kind create cluster --name "$CLUSTER" --kubeconfig "$kubeconfig" --wait 120s
kind load docker-image "$IMAGE" --name "$CLUSTER"
export KUBECONFIG=$kubeconfig
kubectl apply --server-side -k tests/deploy/kind
kubectl wait --for=condition=Established crd/rollbackrequests.rollback.dev --timeout=60s
kubectl --namespace rollback-operator rollout status deployment/rollback-operator --timeout=180s
ROLLBACK_E2E_KUBECONFIG=$kubeconfig "$PY" -m pytest tests/deploy/test_in_cluster.py -v
