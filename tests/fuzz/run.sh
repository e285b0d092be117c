#!/bin/sh
# run.sh: runs every built fuzz target for N seconds over a temporary copy of its seed corpus.
#
# Usage, from a build directory configured with --enable-fuzz CC=clang after `make fuzz`:
#   SRCDIR/tests/fuzz/run.sh [SECONDS]        (or FUZZ_SECONDS=..., default 20 per target)
# BWC_BUILDDIR names the build directory when it is not the current one. The seed corpora in
# the source tree are never written to: each run works on a copy in a temporary directory,
# which is removed unless the target failed (then its path, the crashing input in hex and
# the end of the log are printed). Exits 1 when any target failed, 0 otherwise.
set -u

secs=${1:-${FUZZ_SECONDS:-20}}
case $secs in
'' | *[!0-9]*)
    echo "run.sh: seconds must be a positive integer, got '$secs'" >&2
    exit 2
    ;;
esac
srcdir=$(cd "$(dirname "$0")" && pwd)
builddir=${BWC_BUILDDIR:-.}

# UBSan was compiled in recoverable mode: make any report fatal so libFuzzer counts it.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export UBSAN_OPTIONS

# target:max_len. Lengths cover each decoder's limit plus room to cross it; the manifest's
# real limit (about 8.5 MiB) makes runs far too slow, so 1 MiB.
targets="cbor:4096 tx:4096 receipt:512 header:600 block:65536 manifest:1048576 chainspec:16384 p2pmsg:65536"

failed=0
ran=0
for spec in $targets; do
    t=${spec%%:*}
    max_len=${spec#*:}
    bin=$builddir/tests/fuzz/fuzz_$t
    if [ ! -x "$bin" ]; then
        echo "fuzz $t: skipped (not built: $bin)"
        continue
    fi
    ran=$((ran + 1))
    work=$(mktemp -d "${TMPDIR:-/tmp}/bwc-fuzz-$t.XXXXXX") || exit 2
    mkdir "$work/corpus" "$work/artifacts"
    if [ -d "$srcdir/corpus/$t" ]; then
        cp -R "$srcdir/corpus/$t/." "$work/corpus/"
    fi
    "$bin" -max_total_time="$secs" -max_len="$max_len" -timeout=25 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $t: ok (${runs:-?} runs)"
        rm -rf "$work"
    else
        failed=1
        echo "fuzz $t: FAILED"
        echo "  exit status $rc; log and artifacts kept in $work"
        for a in "$work"/artifacts/*; do
            [ -f "$a" ] || continue
            echo "  artifact $a ($(wc -c <"$a") bytes):"
            od -An -v -tx1 "$a" | tr -d ' \n' | fold -w 128 | head -n 64 | sed 's/^/    /'
            echo
        done
        # The cause (a failed FUZZ_CHECK, a sanitizer report), then how libFuzzer ended.
        grep -E 'fuzz check failed|ERROR: |runtime error|SUMMARY: ' "$work/log" | head -n 8 |
            sed 's/^/  > /'
        tail -n 12 "$work/log" | sed 's/^/  | /'
    fi
done
if [ "$ran" -eq 0 ]; then
    echo "run.sh: no fuzz target built in $builddir/tests/fuzz (configure --enable-fuzz CC=clang; make fuzz)" >&2
    exit 1
fi
exit $failed
