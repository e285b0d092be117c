#!/usr/bin/env bash
# demo.sh: installs what is missing, builds bwc, and runs a paid download on a local dev network:
# a publisher's node (the origin of a 64 MiB file) and two relay nodes, all on 127.0.0.1 in a
# temporary directory. The relays announce themselves on chain, a consumer downloads the file
# through both (paying per verified chunk), the SHA-256 is checked, the relays' receipts are
# settled in blocks, and a table shows who earned and who paid. Everything it starts is stopped
# at the end, also on Ctrl-C or failure.
#   DEMO_MIB=N   size of the file in MiB (default 64)
#   KEEP=1       keep the temporary directory (logs, wallets, the files)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
MIB=${DEMO_MIB:-64}
PRICE=100000              # units per MiB the relays ask: 0.001 BWC per MiB
EXPIRY=30                 # blocks until the download's channels end (then deposits return)

if [ -t 1 ]; then B=$'\033[1m'; N=$'\033[0m'; else B=; N=; fi
step_no=0
step() { step_no=$((step_no + 1)); printf '\n%s[%d] %s%s\n' "$B" "$step_no" "$*" "$N"; }
info() { printf '    %s\n' "$*"; }
show() { printf '    $ %s\n' "$*"; }   # the command a person would type (paths shortened)
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

step "Installing the Debian packages bwc needs (contrib/install-deps.sh)"
contrib/install-deps.sh

step "Building bwcd, bwc-cli, bwc-wallet and bwc-util"
if [ ! -f Makefile ]; then
  contrib/build.sh
else
  make -j"$(nproc)" bwcd bwc-cli bwc-wallet bwc-util >/dev/null
  info "built (make is incremental: only what changed is rebuilt)"
fi

# ---- the network's processes, and stopping them whatever happens
work=$(mktemp -d "${TMPDIR:-/tmp}/bwc-demo.XXXXXX")
declare -A rpc p2p rport pid
nodes=(publisher relay1 relay2)
bg=()
exec 3>&1 4>&2   # the terminal, for the last words: a trap may run inside a redirection
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  exec 1>&3 2>&4
  for p in "${bg[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  for n in "${nodes[@]}"; do
    [ -n "${pid[$n]:-}" ] || continue
    "$top/bwc-cli" -datadir="$work/$n" -chain=dev -rpcport="${rpc[$n]}" stop >/dev/null 2>&1
  done
  for n in "${nodes[@]}"; do
    [ -n "${pid[$n]:-}" ] || continue
    for _ in $(seq 100); do kill -0 "${pid[$n]}" 2>/dev/null || break; sleep 0.1; done
    kill -9 "${pid[$n]}" 2>/dev/null
    wait "${pid[$n]}" 2>/dev/null
  done
  if [ "${KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
    echo "demo: the network's files (debug.log of each node, wallets) are in $work"
  else
    rm -rf "$work"
  fi
  [ "$rc" -eq 0 ] && echo "demo: every process it started is stopped." || \
    echo "demo: stopped (exit $rc); every process it started is stopped." >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

jget() { python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1:]: v=v[int(k)] if isinstance(v,list) else v[k]
print(v)' "$@"; }
cli() { local n=$1; shift; "$top/bwc-cli" -datadir="$work/$n" -chain=dev -rpcport="${rpc[$n]}" "$@"; }
wallet() {
  local w=$1; shift
  "$top/bwc-wallet" -datadir="$work/publisher" -chain=dev -rpcport="${rpc[publisher]}" \
    -walletdir="$work/wallets" -wallet="$w" -passphrase-file="$work/passphrase" "$@"
}
tip() { cli publisher getblockcount; }
synced() {
  local h; h=$(tip)
  for _ in $(seq 200); do
    [ "$(cli relay1 getblockcount)" = "$h" ] && [ "$(cli relay2 getblockcount)" = "$h" ] && return 0
    sleep 0.05
  done
  die "the relays did not follow the publisher's node to block $h"
}
mine() { cli publisher generate "$1" "$MINER" >/dev/null; synced; }

read -r -a ports <<<"$(python3 -c 'import socket
ss=[socket.socket() for _ in range(9)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')"
i=0
for n in "${nodes[@]}"; do
  rpc[$n]=${ports[$i]}; p2p[$n]=${ports[$((i + 1))]}; rport[$n]=${ports[$((i + 2))]}; i=$((i + 3))
  mkdir -p "$work/$n"
done
echo "demo passphrase (dev chain only)" >"$work/passphrase"
chmod 600 "$work/passphrase"
MINER=$(./bwc-util -chain=dev keygen | jget address)   # blocks pay a key nobody else uses

step "Making a ${MIB} MiB file of random bytes"
file=$work/demo.bin
head -c $((MIB << 20)) /dev/urandom >"$file"
sha=$(sha256sum "$file" | cut -d' ' -f1)
CID=$(./bwc-util manifest "$file" | jget content_id)
show "head -c ${MIB}M /dev/urandom > demo.bin && bwc-util manifest demo.bin"
info "SHA-256 $sha"
info "content_id $CID (256 KiB chunks)"

start_node() {
  local n=$1; shift
  "$top/bwcd" -datadir="$work/$n" -chain=dev -rpcport="${rpc[$n]}" -port="${p2p[$n]}" \
    -relay -relayport="${rport[$n]}" -relayprice=$PRICE -printtoconsole=0 "$@" \
    >"$work/$n.out" 2>&1 &
  pid[$n]=$!
}
step "Starting a dev network on 127.0.0.1 in $work"
start_node publisher -relayfree="$CID"
show "bwcd -chain=dev -relay -relayfree=$CID        # the publisher's node: origin, serves it free"
start_node relay1 -addnode=127.0.0.1:"${p2p[publisher]}"
start_node relay2 -addnode=127.0.0.1:"${p2p[publisher]}"
show "bwcd -chain=dev -relay -relayprice=$PRICE -addnode=...   # two relay nodes, one each"
for n in "${nodes[@]}"; do
  cli "$n" -rpcwait -rpcwaittimeout=60 getblockcount >/dev/null ||
    die "$n did not start: $(tail -5 "$work/$n/dev/debug.log" 2>/dev/null)"
done
for _ in $(seq 200); do [ "$(cli publisher getconnectioncount)" = 2 ] && break; sleep 0.05; done
[ "$(cli publisher getconnectioncount)" = 2 ] || die "the relays did not connect to the publisher"
R1=$(cli relay1 getrelaystats | jget address)
R2=$(cli relay2 getrelaystats | jget address)
for n in "${nodes[@]}"; do
  info "$(printf '%-9s RPC %-5s P2P %-5s relay HTTP http://127.0.0.1:%s' "$n" "${rpc[$n]}" "${p2p[$n]}" "${rport[$n]}")"
done
info "relay1's key: $R1 (made at its first start, in relay1/dev/relay/relay.key)"
info "relay2's key: $R2"

step "The publisher imports the file into its node's store and registers it on chain"
got=$(cli publisher relayimport "$file" | jget content_id)
[ "$got" = "$CID" ] || die "relayimport gave $got, bwc-util $CID"
show "bwc-cli relayimport $file"
wallet dev1 import 0000000000000000000000000000000000000000000000000000000000000001 >/dev/null
PUB=$(wallet publisher create --json | jget address)
CONSUMER=$(wallet consumer create --json | jget address)
wallet relay1 import - <"$work/relay1/dev/relay/relay.key" >/dev/null
wallet relay2 import - <"$work/relay2/dev/relay/relay.key" >/dev/null
show "bwc-wallet -wallet=relay1 import - < relay1/dev/relay/relay.key     # (and relay2)"
for a in "$PUB" "$R1" "$R2"; do wallet dev1 send "$a" 1 >/dev/null; done
wallet dev1 send "$CONSUMER" 10 >/dev/null
show "bwc-wallet -wallet=dev1 send ADDRESS 1    # dev key 1 funds the publisher, the relays; 10 BWC to the consumer"
mine 1
wallet publisher publish "$file" --origin "http://127.0.0.1:${rport[publisher]}" >/dev/null
show "bwc-wallet -wallet=publisher publish demo.bin --origin http://127.0.0.1:${rport[publisher]}"
for r in relay1 relay2; do
  wallet "$r" relay announce --endpoint "http://127.0.0.1:${rport[$r]}" --region ZZ \
    --price ${PRICE}u >/dev/null
done
show "bwc-wallet -wallet=relay1 relay announce --endpoint http://127.0.0.1:${rport[relay1]} --region ZZ --price ${PRICE}u"
mine 1
info "on chain: content $(cli publisher getcontent "$CID" | jget name) from origin $(cli publisher getcontent "$CID" | jget origin)"
info "on chain: $(cli publisher listrelays | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') relays announced at $PRICE units per MiB"

declare -A before
for a in "$R1" "$R2" "$CONSUMER"; do before[$a]=$(cli publisher getbalance "$a"); done
h0=$(tip)

step "The consumer downloads it through both relays, paying for each verified chunk"
show "bwc-wallet -wallet=consumer download $CID -o downloaded.bin --relays 2 --relay $R1 --relay $R2 --expiry +$EXPIRY"
out=$work/downloaded.bin
# (the binary itself in the background, not the shell function: its pid is the one to stop)
"$top/bwc-wallet" -datadir="$work/publisher" -chain=dev -rpcport="${rpc[publisher]}" \
  -walletdir="$work/wallets" -wallet=consumer -passphrase-file="$work/passphrase" \
  download "$CID" -o "$out" --relays 2 --relay "$R1" --relay "$R2" --expiry +$EXPIRY --json \
  >"$work/download.json" &
dl=$!
bg+=("$dl")
# the download opens a channel to each relay and waits for a block: mine when it needs one
# (bounded: DOWNLOAD_LIMIT seconds, then the demo fails instead of waiting for ever)
DOWNLOAD_LIMIT=600
dl_deadline=$((SECONDS + DOWNLOAD_LIMIT))
while kill -0 "$dl" 2>/dev/null && [ "$SECONDS" -lt "$dl_deadline" ]; do
  if [ "$(cli publisher getmempoolinfo | jget size)" != 0 ]; then
    mine 1
    info "(mined block $(tip): the channels are confirmed)"
  fi
  sleep 0.2
done
kill -0 "$dl" 2>/dev/null && die "the download did not finish in $DOWNLOAD_LIMIT s"
wait "$dl" || die "the download failed"
python3 - "$work/download.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("    downloaded %d bytes (%d chunks) in %.2f s" % (d["downloaded"], d["chunks"], d["ms"] / 1000))
for r in d["relays"]:
    print("    relay %s...: %d chunks, paid %d units" % (r["address"][:16], r["chunks"], r["paid"]))
EOF
got=$(sha256sum "$out" | cut -d' ' -f1)
info "SHA-256 of the download: $got"
[ "$got" = "$sha" ] || die "the download's SHA-256 is not the file's"
info "it is the file's SHA-256: the bytes are the publisher's"

step "Mining until the relays' receipts are settled on chain"
for i in $(seq 12); do
  mine 1
  u1=$(cli relay1 getrelaystats | jget earnings unsettled)
  u2=$(cli relay2 getrelaystats | jget earnings unsettled)
  info "block $(tip): unsettled relay1 $u1, relay2 $u2 units"
  [ "$u1" = 0 ] && [ "$u2" = 0 ] && break
  # the relays hand their receipts to the network when they see a block: wait for them
  for _ in $(seq 50); do [ "$(cli publisher getmempoolinfo | jget receipts)" != 0 ] && break; sleep 0.1; done
done
[ "$u1" = 0 ] && [ "$u2" = 0 ] || die "the relays' receipts were not settled"
settle_until=0
for c in $(python3 -c 'import json,sys; print(" ".join(r["channel_id"] for r in json.load(open(sys.argv[1]))["relays"]))' "$work/download.json"); do
  s=$(cli publisher getchannel "$c" | jget settle_until)
  [ "$s" -gt "$settle_until" ] && settle_until=$s
done
step "Mining $((settle_until - $(tip))) blocks until the channels close and the unspent deposits return"
mine $((settle_until - $(tip)))
info "the channels are $(cli publisher getchannel "$(jget relays 0 channel_id <"$work/download.json")" | jget state)"

step "Balances before and after, and what the chain settled"
for a in "$R1" "$R2" "$CONSUMER"; do
  printf '%s %s %s\n' "$a" "${before[$a]}" "$(cli publisher getbalance "$a")"
done >"$work/balances"
BWC_CLI="$top/bwc-cli" DATADIR="$work/publisher" RPCPORT="${rpc[publisher]}" \
  python3 - "$work/download.json" "$work/balances" "$h0" "$(tip)" "$R1" "$R2" "$CONSUMER" <<'EOF' ||
import json, os, subprocess, sys
dl, balances, h0, h1, r1, r2, consumer = sys.argv[1:]
def rpc(*a):
    out = subprocess.run([os.environ["BWC_CLI"], "-datadir=" + os.environ["DATADIR"], "-chain=dev",
                          "-rpcport=" + os.environ["RPCPORT"]] + list(a),
                         capture_output=True, text=True, check=True).stdout.strip()
    return json.loads(out) if out[:1] in "{[" else out
def b(u):
    return "%s%d.%08d" % ("-" if u < 0 else "+" if u > 0 else "", abs(u) // 10**8, abs(u) % 10**8)
bal = {}
for line in open(balances):
    a, b0, b1 = line.split()
    bal[a] = (int(b0), int(b1))
d = json.load(open(dl))
fee = 1000  # the dev chain's receipt_fee
receipts = {}
for h in range(int(h0) + 1, int(h1) + 1):
    for r in rpc("getblock", rpc("getblockhash", str(h)), "2")["receipts"]:
        receipts[r["channel"]] = receipts.get(r["channel"], 0) + 1
names = {r1: "relay1", r2: "relay2", consumer: "consumer"}
print("    %-9s %-19s %14s %14s %12s" % ("", "address", "before (BWC)", "after (BWC)", "change"))
for a in (r1, r2, consumer):
    b0, b1 = bal[a]
    print("    %-9s %-19s %14s %14s %12s" % (names[a], a[:16] + "...", b(b0)[1:], b(b1)[1:],
                                              b(b1 - b0)))
print()
print("    %-9s %7s %9s %13s %9s %13s" % ("channel", "chunks", "MiB", "claimed", "receipts",
                                        "relay earned"))
ok, claimed_total = True, 0
for r in sorted(d["relays"], key=lambda r: names[r["address"]]):
    ch = rpc("getchannel", r["channel_id"])
    n = receipts.get(r["channel_id"], 0)
    earned = ch["claimed"] - n * fee
    claimed_total += ch["claimed"]
    b0, b1 = bal[r["address"]]
    ok &= earned == b1 - b0 and ch["claimed"] == r["paid"] and ch["state"] == "closed"
    print("    %-9s %7d %9.2f %13s %9d %13s" % ("to " + names[r["address"]], r["chunks"],
                                              r["bytes"] / 2**20, b(ch["claimed"])[1:], n,
                                              b(earned)))
fees = sum(c["fee"] for c in d["channels_opened"])
b0, b1 = bal[consumer]
ok &= b0 - b1 == claimed_total + fees
print()
print("    The consumer paid %s BWC: %s for %d MiB at the relays' price, %s in fees"
      % (b(b0 - b1)[1:], b(claimed_total)[1:], d["size"] >> 20, b(fees)[1:]))
print("    for its two channels; the rest of its deposits came back when they closed.")
print("    Each relay earned what its receipts claimed, settled on chain, less a receipt fee")
print("    of %s BWC per settled receipt (paid to the block's miner).%s" % (
      b(fee)[1:], "" if ok else "\n    MISMATCH: these numbers do not add up"))
sys.exit(0 if ok else 1)
EOF
  die "the balances do not add up"
echo
echo "${B}demo: done.${N} A ${MIB} MiB download through two relays, paid, verified and settled on chain."
