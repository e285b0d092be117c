#!/usr/bin/env bash
# bench_sync.sh: initial sync speed over P2P. Node A gets a dev chain full of receipts through
# submitblock; node B starts empty with -connect=A and syncs it. Reports blocks/s and
# receipts/s of B's sync, and the ratio to the signature bound measured in the same run
# (raw BIP340 verify rate x cores / 2 signatures per receipt, from bench_connect).
#   BENCH_SYNC_BLOCKS (default 2000), BENCH_SYNC_RECEIPTS per block (default 250)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
blocks=${BENCH_SYNC_BLOCKS:-2000}
per=${BENCH_SYNC_RECEIPTS:-250}
work=$(mktemp -d /tmp/bwc-bench-sync.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cli() { "$top/bwc-cli" -datadir="$1" -chain=dev -rpcport="$2" -rpcwait "${@:3}"; }

echo "bench sync: building $blocks blocks x $per receipts"
"$top/tests/bench/bench_mkchain" "$blocks" "$per" > "$work/chain.hex"

mkdir -p "$work/a" "$work/b"
ra=$(free_port); pa=$(free_port); rb=$(free_port); pb=$(free_port)
"$top/bwcd" -datadir="$work/a" -chain=dev -rpcport="$ra" -port="$pa" -printtoconsole=0 &
pids+=($!)
cli "$work/a" "$ra" getblockcount >/dev/null
# Feeding A is not measured: a Python loop keeps one RPC connection for all the blocks.
python3 - "$work/a/dev/.cookie" "$ra" "$work/chain.hex" <<'PY'
import base64, http.client, json, sys
cookie = open(sys.argv[1]).read().strip()
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[2]), timeout=600)
auth = "Basic " + base64.b64encode(cookie.encode()).decode()
for n, line in enumerate(open(sys.argv[3]), 1):
    body = json.dumps({"jsonrpc": "2.0", "id": n, "method": "submitblock", "params": [line.strip()]})
    conn.request("POST", "/", body, {"Authorization": auth, "Content-Type": "application/json"})
    reply = json.loads(conn.getresponse().read())
    if reply.get("error") or reply.get("result") is not None:
        sys.exit("submitblock %d: %r" % (n, reply))
PY
height=$(cli "$work/a" "$ra" getblockcount)
[ "$height" -eq "$blocks" ] || { echo "bench sync: node A has $height blocks, not $blocks"; exit 1; }

start=$(date +%s.%N)
"$top/bwcd" -datadir="$work/b" -chain=dev -rpcport="$rb" -port="$pb" -connect="127.0.0.1:$pa" \
  -printtoconsole=0 &
pids+=($!)
cli "$work/b" "$rb" getblockcount >/dev/null
# Bounded: at most 30 minutes of polling, every 0.1 s.
reached=0
for _ in $(seq 1 18000); do
  hb=$(cli "$work/b" "$rb" getblockcount) || hb=0
  [ "${hb:-0}" -ge "$blocks" ] 2>/dev/null && { reached=1; break; }
  sleep 0.1
done
end=$(date +%s.%N)
[ "$reached" = 1 ] ||
  { echo "bench sync: node B did not reach $blocks blocks in 30 minutes (it has ${hb:-none})"; exit 1; }
[ "$(cli "$work/b" "$rb" getbestblockhash)" = "$(cli "$work/a" "$ra" getbestblockhash)" ] ||
  { echo "bench sync: node B did not reach A's tip"; exit 1; }

raw=$("$top/tests/bench/bench_connect" 2 | sed -n 's/.*raw BIP340 verify \([0-9]*\)\/s.*/\1/p')
cores=$(nproc)
python3 - "$start" "$end" "$blocks" "$per" "$raw" "$cores" <<'PY'
import sys
start, end, blocks, per, raw, cores = map(float, sys.argv[1:])
t = end - start
receipts = (blocks - 1) * per
bound = raw * min(cores, 2) / 2
print("bench sync: %d blocks, %d receipts synced in %.2f s" % (blocks, receipts, t))
print("bench sync: %.1f blocks/s, %.0f receipts/s; bound %.0f receipts/s (raw verify %.0f/s "
      "per core); ratio %.2f" % (blocks / t, receipts / t, bound, raw, receipts / t / bound))
PY
