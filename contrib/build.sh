#!/usr/bin/env bash
# build.sh: installs what is missing, then configures and builds bwc in the source tree.
# Extra arguments go to ./configure (e.g. --enable-werror).
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/install-deps.sh
./autogen.sh
./configure "$@"
make -j"$(nproc)"
