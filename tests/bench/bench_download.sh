#!/usr/bin/env bash
# bench_download.sh: single-relay download throughput of `bwc-wallet download` (a paid channel,
# every 256 KiB chunk hash-checked and countersigned) against `curl` fetching the same file from
# nginx, both measured in this run on 127.0.0.1, reported as a ratio. The file is in the
# relay's store (relayimport) and in nginx's root; both read it from the page cache.
#   BENCH_DOWNLOAD_MIB  file size (default 256)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
mib=${BENCH_DOWNLOAD_MIB:-256}
work=$(mktemp -d /tmp/bwc-bench-download.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill -QUIT "$(cat "$work/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

nginx=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
if [ -z "$nginx" ]; then
  echo "bench download: installing nginx (apt-get install -y nginx-light)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx >/dev/null
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
fi
command -v curl >/dev/null || { echo "bench download: curl is missing (apt-get install -y curl)"; exit 1; }

jget() { python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1:]: v=v[k]
print(v)' "$@"; }
read -r rpc p2p rport nport <<<"$(python3 -c 'import socket
ss=[socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')"
cli() { "$top/bwc-cli" -datadir="$work/node" -chain=dev -rpcport="$rpc" "$@"; }
wallet() {
  local w=$1; shift
  "$top/bwc-wallet" -datadir="$work/node" -chain=dev -rpcport="$rpc" -walletdir="$work/wallets" \
    -wallet="$w" -passphrase-file="$work/pass" "$@"
}
echo "bench" >"$work/pass"
mkdir -p "$work/node" "$work/www"
head -c $((mib << 20)) /dev/urandom >"$work/www/file.bin"
MINER=$("$top/bwc-util" -chain=dev keygen | jget address)

"$top/bwcd" -datadir="$work/node" -chain=dev -rpcport="$rpc" -port="$p2p" -relay \
  -relayport="$rport" -relayprice=1000 -printtoconsole=0 &
pids+=($!)
cli -rpcwait getblockcount >/dev/null
cid=$(cli relayimport "$work/www/file.bin" | jget content_id)
relay=$(cli getrelaystats | jget address)
wallet dev1 import 0000000000000000000000000000000000000000000000000000000000000001 >/dev/null
wallet relay import - <"$work/node/dev/relay/relay.key" >/dev/null
wallet dev1 send "$relay" 1 >/dev/null
cli generate 1 "$MINER" >/dev/null
wallet relay relay announce --endpoint "http://127.0.0.1:$rport" --region ZZ --price 1000u >/dev/null
cli generate 1 "$MINER" >/dev/null

"$top/bwc-wallet" -datadir="$work/node" -chain=dev -rpcport="$rpc" -walletdir="$work/wallets" \
  -wallet=dev1 -passphrase-file="$work/pass" download "$cid" -o "$work/out.bin" --relays 1 \
  --relay "$relay" --json >"$work/download.json" &
dl=$!
pids+=($dl)
# Bounded: the channel needs one block; the download itself is timed by the wallet.
for _ in $(seq 1 3000); do
  kill -0 "$dl" 2>/dev/null || break
  [ "$(cli getmempoolinfo | jget size)" != 0 ] && cli generate 1 "$MINER" >/dev/null
  sleep 0.1
done
kill -0 "$dl" 2>/dev/null && { echo "bench download: the download did not finish in 300 s"; exit 1; }
wait "$dl"
cmp -s "$work/out.bin" "$work/www/file.bin" || { echo "bench download: wrong bytes"; exit 1; }
wallet_ms=$(jget ms <"$work/download.json")

cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush off;
  keepalive_timeout 60;
  server { listen 127.0.0.1:$nport; root $work/www; }
}
CONF
chmod 755 "$work" "$work/www" && chmod 644 "$work/www/file.bin" # nginx's workers read as www-data
"$nginx" -p "$work" -c "$work/nginx.conf"
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$nport/file.bin" && break; sleep 0.05; done
best=""
for _ in 1 2 3; do
  read -r code size t <<<"$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' \
    "http://127.0.0.1:$nport/file.bin")"
  [ "$code" = 200 ] && [ "$size" = $((mib << 20)) ] ||
    { echo "bench download: nginx answered $code with $size bytes"; exit 1; }
  best=$(python3 -c "import sys; a=sys.argv[1]; b=float(sys.argv[2]); print(b if not a else min(float(a), b))" "$best" "$t")
done
python3 - "$mib" "$wallet_ms" "$best" <<'PY'
import sys
mib, wallet_ms, curl_s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
w = mib / (wallet_ms / 1000.0)
c = mib / curl_s
print("bench download: %d MiB from one relay with bwc-wallet download: %.2f s, %.0f MiB/s" % (mib, wallet_ms / 1000.0, w))
print("bench download: the same file from nginx with curl (best of 3): %.2f s, %.0f MiB/s" % (curl_s, c))
print("bench download: ratio %.2f" % (w / c))
PY
