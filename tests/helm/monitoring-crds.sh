#!/usr/bin/env bash
# Copies the Prometheus Operator's ServiceMonitor, PodMonitor and PrometheusRule CRDs into $1, so
# that the chart's monitoring objects can be dry-run against the real API server in tests. They come
# from the prometheus-operator Go module (its example/prometheus-operator-crd/ directory), fetched
# through the Go module proxy and checked against the checksum database like any module.
set -euo pipefail
dest=$1
VERSION=v0.85.0
files=(monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_podmonitors.yaml
       monitoring.coreos.com_prometheusrules.yaml)
if [ "$(cat "$dest/.version" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "monitoring-crds.sh: Go is needed to fetch the CRDs" >&2; exit 1; }
dir=$(cd / && GOTOOLCHAIN=local GOFLAGS= go mod download -json \
  "github.com/prometheus-operator/prometheus-operator@$VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "monitoring-crds.sh: could not download prometheus-operator $VERSION" >&2; exit 1; }
mkdir -p "$dest"
for f in "${files[@]}"; do
  install -m 0644 "$dir/example/prometheus-operator-crd/$f" "$dest/$f"
done
echo "$VERSION" > "$dest/.version"
