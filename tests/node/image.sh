#!/usr/bin/env bash
# Builds the images the node tier runs, without a registry, into $NODE_DIR/images/ (default .node/):
#   base.tar      a stand-in for the Dockerfile's FROM image (python:3.11-slim-bookworm): a Debian 12
#                 root filesystem from mmdebstrap (python3 3.11, pip, the CA certificates of this
#                 machine), so that `docker build` pulls nothing
#   operator.tar  the project's Dockerfile, built by Debian's Docker engine (dockerd started here with
#                 its own data-root, exec-root, socket and pidfile, no bridge, no iptables; stopped at
#                 the end), exported with `docker save`
#   pause.tar     the pod sandbox image: pause.c from the pinned k8s.io/kubernetes module, static
# Each is rebuilt only when its inputs change (a stamp beside it holds their hash).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
NODE_DIR=${NODE_DIR:-$repo/.node}
images=$NODE_DIR/images
mkdir -p "$images"
cd "$repo"
log() { echo "image.sh: $*" >&2; }
stamp_ok() { [ -f "$images/$1.tar" ] && [ "$(cat "$images/$1.stamp" 2>/dev/null)" = "$2" ]; }
tarit() { tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name "$@"; }

BASE_TAG=$(sed -nE 's/^FROM ([^ ]+) AS base$/\1/p' Dockerfile)
OPERATOR_TAG=${OPERATOR_TAG:-rollback-operator:node}
PAUSE_TAG=registry.k8s.io/pause:node
SUITE=bookworm
MIRROR=$(sed -nE 's#^URIs: (http[^ ]+/debian)$#\1#p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
HOST_CA=/etc/ssl/certs/ca-certificates.crt  # pip in the build verifies the package index against it

# -- pause -------------------------------------------------------------------------------------
k8s_dir=$(cd tests/controlplane && GOTOOLCHAIN=local GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' k8s.io/kubernetes)
pause_c=$k8s_dir/build/pause/linux/pause.c
want=$( (cat "$pause_c"; echo "$PAUSE_TAG"; cat tests/node/mkimage.py) | sha256sum | cut -c1-16)
if ! stamp_ok pause "$want"; then
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  mkdir "$work/root"
  gcc -Os -Wall -Werror -static -DVERSION=v3.10-node -o "$work/root/pause" "$pause_c"
  strip "$work/root/pause"
  tarit -C "$work/root" -cf "$work/layer.tar" pause
  python3 tests/node/mkimage.py --out "$images/pause.tar" --tag "$PAUSE_TAG" --layer "$work/layer.tar" \
    --entrypoint '["/pause"]' --user 65535:65535
  echo "$want" >"$images/pause.stamp"
  rm -rf "$work"; trap - EXIT
fi

# -- base ----------------------------------------------------------------------------------------
want=$( (echo "$BASE_TAG $SUITE $MIRROR"; cat "$HOST_CA"; sed -n '/^# -- base/,/^# -- operator/p' "$0") | sha256sum | cut -c1-16)
if ! stamp_ok base "$want"; then
  log "base image $BASE_TAG: Debian $SUITE root filesystem (mmdebstrap, ~30 s)"
  s=$(date +%s)
  mmdebstrap --quiet --variant=essential --include=python3,python3-pip,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="cp $HOST_CA \"\$1/etc/ssl/certs/ca-certificates.crt\"" \
    --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
    --customize-hook='ln -sf python3 "$1/usr/bin/python"' \
    "$SUITE" "$images/base-rootfs.tar" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb ${MIRROR}-security $SUITE-security main"
  python3 tests/node/mkimage.py --out "$images/base.tar" --tag "$BASE_TAG" --layer "$images/base-rootfs.tar" \
    --cmd '["python3"]' --env LANG=C.UTF-8
  rm -f "$images/base-rootfs.tar"
  echo "$want" >"$images/base.stamp"
  rm -f "$images/operator.stamp"
  log "base image built in $(( $(date +%s) - s ))s"
fi

# -- operator ------------------------------------------------------------------------------------
want=$( (cat "$images/base.stamp" Dockerfile .dockerignore; git ls-files -s -- operator pyproject.toml README.md requirements/dev.lock;
  git diff HEAD -- operator pyproject.toml README.md requirements/dev.lock) | sha256sum | cut -c1-16)
if ! stamp_ok operator "$want"; then
  s=$(date +%s)
  D=$NODE_DIR/docker
  mkdir -p "$D/data" "$D/exec"
  export DOCKER_HOST=unix://$D/docker.sock
  stop_dockerd() {
    if [ -f "$D/dockerd.pid" ]; then
      pid=$(cat "$D/dockerd.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$D/dockerd.pid"
    fi
    awk -v d="$D/" '$2 ~ ("^" d) {print $2}' /proc/self/mounts | sort -r | while read -r m; do umount "$m" || umount -l "$m"; done
    # the cgroups the engine made for build steps (empty once they ended), only if it made them
    for top in $(cat "$D/cgroups-made" 2>/dev/null); do
      [ -d "$top" ] && find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    rm -f "$D/cgroups-made"
    # what the engine writes outside its own folders whatever it is told, unless it was there before
    for p in $(cat "$D/hostpaths-made" 2>/dev/null); do rm -rf "$p"; done
    rm -f "$D/hostpaths-made"
  }
  trap stop_dockerd EXIT
  for p in /etc/docker/key.json /run/docker; do [ -e "$p" ] || echo "$p"; done >"$D/hostpaths-made"
  for c in /sys/fs/cgroup/*/; do [ -d "${c}docker" ] || echo "${c}docker"; done >"$D/cgroups-made"
  # the engine's own containerd lives under exec-root; no bridge, no iptables, no forwarding
  /usr/sbin/dockerd --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/dockerd.pid" \
    --host "$DOCKER_HOST" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --ip-forward=false --userland-proxy=false --storage-driver overlay2 >"$D/dockerd.log" 2>&1 &
  for _ in $(seq 150); do /usr/bin/docker info >/dev/null 2>&1 && break; sleep 0.2; done
  /usr/bin/docker info >/dev/null 2>&1 || { tail -20 "$D/dockerd.log" >&2; exit 1; }
  /usr/bin/docker load --quiet --input "$images/base.tar" >/dev/null
  log "docker build of the Dockerfile ($OPERATOR_TAG, FROM $BASE_TAG)"
  # Debian's docker CLI has BuildKit built in; --network host: pip reaches the package index
  DOCKER_BUILDKIT=1 /usr/bin/docker build --quiet --network host --tag "$OPERATOR_TAG" . >/dev/null
  /usr/bin/docker save --output "$images/operator.tar" "$OPERATOR_TAG"
  /usr/bin/docker image inspect --format '{{.Size}}' "$OPERATOR_TAG" >"$images/operator.size"
  stop_dockerd; trap - EXIT
  echo "$want" >"$images/operator.stamp"
  log "operator image built in $(( $(date +%s) - s ))s, $(( $(cat "$images/operator.size") / 1000000 )) MB"
fi
