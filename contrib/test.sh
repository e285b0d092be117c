#!/usr/bin/env bash
# test.sh: runs every bwc test: unit tests and build checks (make check), the functional tests
# (real bwcd processes driven over RPC), the unit tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and every fuzz target for a bounded time. Ends with the line
# "N passed, N failed". Run after contrib/build.sh.
#   FUZZ_SECONDS   seconds per fuzz target (default 20; 0 skips fuzzing)
#   SKIP_SANITIZERS=1  skips the sanitizer build
#   FUNCTIONAL=0   skips the functional tests (tests/functional/run.py, real bwcd processes)
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
passed=0
failed=0
failures=()

# Copies the source tree (tracked and new, non-ignored files) to $1 and bootstraps it there:
# automake refuses a second, out-of-tree configuration of an already configured tree.
fresh_copy() {
  rm -rf "$1" && mkdir -p "$1"
  git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$1"
  (cd "$1" && ./autogen.sh >/dev/null 2>&1)
}

# Adds the automake results (.trs files) under a build directory to the totals.
count_trs() {
  local dir=$1 label=$2 f name
  while IFS= read -r f; do
    name=${f#"$dir"/}
    name=${name%.trs}
    if grep -q '^:test-result: PASS' "$f"; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      failures+=("$label $name")
    fi
  done < <(find "$dir/tests" -name '*.trs' 2>/dev/null | sort)
}

echo "== make check"
make -j"$(nproc)" check >/tmp/bwc-check.$$ 2>&1
rc=$?
grep -E '^(PASS|FAIL|ERROR|XPASS)' /tmp/bwc-check.$$
count_trs "$top" "check:"
if [ $rc -ne 0 ] && ! find tests -name '*.trs' | grep -q .; then
  tail -40 /tmp/bwc-check.$$
  failed=$((failed + 1)); failures+=("make check did not build")
fi
rm -f /tmp/bwc-check.$$

if [ "${FUNCTIONAL:-1}" != 0 ]; then
  echo "== functional tests"
  out=$(python3 tests/functional/run.py --bindir "$top" 2>&1)
  frc=$?
  echo "$out" | grep -E '^functional '
  passed=$((passed + $(echo "$out" | grep -c -E '^functional .*: ok$')))
  nfail=$(echo "$out" | grep -c -E '^functional .*: FAILED$')
  failed=$((failed + nfail))
  if [ "$nfail" -ne 0 ]; then
    echo "$out" | grep -vE '^functional ' | tail -120
    failures+=("functional (see above)")
  elif ! echo "$out" | grep -qE '^functional .*: ok$'; then
    echo "$out" | tail -30
    failed=$((failed + 1)); failures+=("functional tests did not run")
  elif [ "$frc" -ne 0 ]; then
    # run.py failed without a FAILED line: the runner itself crashed or was killed
    echo "$out" | tail -30
    failed=$((failed + 1)); failures+=("functional runner exited with status $frc")
  fi
fi

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== unit tests under -fsanitize=address,undefined"
  san=$top/build-sanitizers
  fresh_copy "$san"
  if (cd "$san" && ./configure --enable-werror --with-sanitizers=address,undefined \
        >config.out 2>&1 && make -j"$(nproc)" check >check.out 2>&1); then
    :
  fi
  if find "$san/tests" -name '*.trs' 2>/dev/null | grep -q .; then
    grep -hE '^(PASS|FAIL|ERROR)' "$san/check.out" | sed 's/^/sanitizers: /'
    count_trs "$san" "sanitizers:"
  else
    tail -30 "$san/config.out" "$san/check.out" 2>/dev/null
    failed=$((failed + 1)); failures+=("sanitizer build")
  fi
fi

fuzz_seconds=${FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ]; then
  echo "== fuzz targets, ${fuzz_seconds}s each"
  fz=$top/build-fuzz
  fresh_copy "$fz"
  if (cd "$fz" && CC=clang ./configure --enable-fuzz >config.out 2>&1 &&
        make -j"$(nproc)" fuzz >build.out 2>&1); then
    out=$(cd "$fz" && FUZZ_SECONDS=$fuzz_seconds tests/fuzz/run.sh 2>&1)
    echo "$out" | grep -E '^fuzz '
    passed=$((passed + $(echo "$out" | grep -c -E '^fuzz .*: ok')))
    nfail=$(echo "$out" | grep -c -E '^fuzz .*: FAILED')
    failed=$((failed + nfail))
    [ "$nfail" -eq 0 ] || failures+=("fuzz (see above)")
  else
    tail -30 "$fz/config.out" "$fz/build.out" 2>/dev/null
    failed=$((failed + 1)); failures+=("fuzz build")
  fi
fi

if [ ${#failures[@]} -gt 0 ]; then
  echo "== failures"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
