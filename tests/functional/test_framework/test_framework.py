"""test_framework.py: BwcTestFramework, the base of every functional test: parses the common
options, makes a temporary directory, creates the nodes, runs the test and always stops or
kills every node it started (try/finally plus atexit in node.py)."""

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback

from .node import TestNode
from .util import TestFailure, repo_root


class BwcTestFramework:
    num_nodes = 1
    extra_args = None  # list per node

    def set_test_params(self):
        """Override to set num_nodes / extra_args."""

    def run_test(self):
        raise NotImplementedError

    def contract(self, actual, expected, what):
        """A check of the RPC contract's form (a field's encoding, a code) that does not stop
        the test: a difference is printed at once and the test fails at its end with the list,
        so one run shows every mismatch. Returns 1 when it held."""
        if actual == expected:
            return 1
        msg = "%s: got %r, the contract says %r" % (what, actual, expected)
        print("CONTRACT MISMATCH: " + msg, flush=True)
        self.mismatches.append(msg)
        return 0

    def log(self, msg):
        print("%.1fs %s" % (time.monotonic() - self._t0, msg), flush=True)

    def add_node(self, extra_args=None):
        node = TestNode(len(self.nodes), self.tmpdir, self.options.bindir,
                        extra_args=extra_args)
        self.nodes.append(node)
        return node

    def start_nodes(self):
        for n in self.nodes:
            n.start()

    def main(self):
        parser = argparse.ArgumentParser(description=self.__doc__)
        parser.add_argument("--bindir", default=repo_root(),
                            help="directory of bwcd and bwc-cli (default: the repo root)")
        parser.add_argument("--tmpdir", default=None, help="parent of the test's temp dir")
        parser.add_argument("--nocleanup", action="store_true",
                            help="keep the datadirs (they are kept on failure anyway)")
        parser.add_argument("--seed", type=int, default=None, help="random seed")
        self.add_options(parser)
        self.options = parser.parse_args()
        self.options.bindir = os.path.abspath(self.options.bindir)
        self._t0 = time.monotonic()
        self.nodes = []
        self.mismatches = []
        self.tmpdir = tempfile.mkdtemp(prefix="bwc_" + type(self).__name__ + "_",
                                       dir=self.options.tmpdir)
        self.set_test_params()
        ok = False
        failure = None
        try:
            for i in range(self.num_nodes):
                self.add_node((self.extra_args or [[]] * self.num_nodes)[i])
            self.setup_nodes()
            self.run_test()
            if self.mismatches:
                raise TestFailure("%d contract mismatches:\n  %s" % (
                    len(self.mismatches), "\n  ".join(self.mismatches)))
            ok = True
        except BaseException:  # SystemExit from SIGTERM included
            failure = traceback.format_exc()
        finally:
            for n in self.nodes:
                if n.running():
                    try:
                        if ok:
                            n.stop()
                        else:
                            n.kill9()
                    except BaseException:
                        traceback.print_exc()
                        ok = False
                        n.kill9()
        if not ok:
            # the logs first, the error last: run.py shows a failed test's last lines
            for n in self.nodes:
                print("---- node%d debug.log (tail) ----\n%s" % (n.index, n.debug_log_tail(20)))
                err = n.stderr_tail()
                if err and err.strip() not in n.debug_log_tail(10 ** 6):
                    print("---- node%d stderr ----\n%s" % (n.index, err))
            if failure:
                print(failure, end="")
            print("FAILED; datadirs kept in %s" % self.tmpdir, flush=True)
            sys.exit(1)
        if not self.options.nocleanup:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        self.log("passed")
        sys.exit(0)

    def add_options(self, parser):
        pass

    def setup_nodes(self):
        self.start_nodes()
