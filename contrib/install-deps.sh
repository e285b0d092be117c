#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages bwc builds, tests and benchmarks with.
set -euo pipefail
PACKAGES=(
  build-essential autoconf automake libtool pkg-config
  libsecp256k1-dev libleveldb-dev libevent-dev libssl-dev libcbor-dev libjansson-dev
  libcmocka-dev python3 clang libclang-rt-14-dev curl
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
