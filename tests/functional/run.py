#!/usr/bin/env python3
"""run.py: runs the bwc functional tests, each *_test.py in its own process (and process group)
with a timeout; prints "functional NAME: ok" or "functional NAME: FAILED" per test and exits
non-zero when any failed.

    python3 tests/functional/run.py [--bindir DIR] [--timeout S] [--jobs N] [NAME...]

NAME is a test file name with or without .py / _test.py. A failed test's output is printed
after its line (or kept in --logdir)."""

import argparse
import concurrent.futures
import glob
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def find_tests(names):
    all_tests = sorted(os.path.basename(p) for p in glob.glob(os.path.join(HERE, "*_test.py")))
    if not names:
        return all_tests
    out = []
    for n in names:
        n = os.path.basename(n)
        for cand in (n, n + ".py", n + "_test.py"):
            if cand in all_tests:
                out.append(cand)
                break
        else:
            sys.exit("run.py: no test named %s (have: %s)" % (n, ", ".join(all_tests)))
    return out


def run_one(test, args):
    name = test[:-3]
    cmd = [sys.executable, os.path.join(HERE, test), "--bindir", args.bindir]
    if args.tmpdir:
        cmd += ["--tmpdir", args.tmpdir]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        # SIGTERM lets the test stop its nodes (it unwinds through finally and atexit);
        # then SIGKILL whatever is left in its process group, bwcd processes included.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            out = b""
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of a test that exited
        except (ProcessLookupError, PermissionError):
            pass
        if proc.poll() is None:
            proc.wait()
    elapsed = time.monotonic() - t0
    ok = proc.returncode == 0 and not timed_out
    text = out.decode(errors="replace")
    if timed_out:
        text += "\nrun.py: timed out after %ss\n" % args.timeout
    if args.logdir:
        os.makedirs(args.logdir, exist_ok=True)
        with open(os.path.join(args.logdir, name + ".log"), "w") as f:
            f.write(text)
    return name, ok, elapsed, text


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bindir", default=os.path.abspath(os.path.join(HERE, "..", "..")),
                    help="directory holding bwcd and bwc-cli (default: the repo root)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per test (600)")
    ap.add_argument("--jobs", "-j", type=int, default=1, help="tests run at once (1)")
    ap.add_argument("--tmpdir", default=None, help="where tests make their temp dirs")
    ap.add_argument("--logdir", default=None, help="keep every test's output here")
    ap.add_argument("--quiet", "-q", action="store_true", help="no output of failed tests")
    ap.add_argument("tests", nargs="*")
    args = ap.parse_args()
    args.bindir = os.path.abspath(args.bindir)
    tests = find_tests(args.tests)
    failed = 0
    times = []
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futures = [ex.submit(run_one, t, args) for t in tests]
        for fut in futures:
            name, ok, elapsed, text = fut.result()
            print("functional %s: %s" % (name, "ok" if ok else "FAILED"), flush=True)
            times.append("%s %.0fs" % (name, elapsed))
            if not ok:
                failed += 1
                if not args.quiet:
                    lines = text.splitlines()
                    print("\n".join("    " + l for l in lines[-80:]), flush=True)
    print("run.py: %d passed, %d failed in %.0fs (%s)" % (
        len(tests) - failed, failed, time.monotonic() - t0, ", ".join(times)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
