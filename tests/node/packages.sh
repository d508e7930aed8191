#!/usr/bin/env bash
# Installs the Debian packages the node tier needs, when any is missing (needs root and apt):
#   containerd, runc, containernetworking-plugins   the container runtime and the Pods' network
#   iptables, nftables                              kube-proxy's rules; `down` removes what it made
#   docker.io                                       the engine that builds the image from the Dockerfile
#   mmdebstrap                                      the Debian root filesystem of the local base image
#   gcc, libc6-dev                                  the static pause binary
# Services are not started by the installation: where no policy-rc.d forbids it already, one is put in
# place for the duration of apt-get and removed afterwards; the tier starts what it needs itself.
set -euo pipefail
PACKAGES="containerd runc containernetworking-plugins iptables nftables docker.io mmdebstrap gcc libc6-dev"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
[ "$(id -u)" = 0 ] || { echo "packages.sh: the node tier needs root to install:$missing" >&2; exit 1; }
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
echo "packages.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends $missing >/dev/null
}
