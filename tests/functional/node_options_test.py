#!/usr/bin/env python3
"""node_options_test.py: how bwcd starts and stops: -blocknotify runs its command with the
block id for every new tip; bwc.conf in the datadir with a [dev] section supplies the RPC port
and credentials to both bwcd and bwc-cli; a second bwcd on a running node's datadir is refused
without touching the running node's cookie; an unknown option and a missing datadir stop it
with a message; SIGTERM and SIGINT shut it down cleanly; -daemon returns at once and the
node runs in the background until `stop`."""

import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework.objects import Key  # noqa: E402
from test_framework.test_framework import BwcTestFramework  # noqa: E402
from test_framework.util import (assert_equal, assert_in, assert_true,  # noqa: E402
                                 free_port, wait_until)


def pids_using(path):
    """Pids of our own processes whose command line names path (a unique temp dir)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if any(path.encode() in a for a in cmd) and cmd[0].endswith(b"bwcd"):
            out.append(int(d))
    return out


class NodeOptionsTest(BwcTestFramework):
    num_nodes = 1

    def run_test(self):
        self.node = self.nodes[0]
        self.daemon_pids = []
        try:
            self.test_blocknotify()
            self.test_second_instance()
            self.test_bad_starts()
            self.test_signals()
            self.test_conf_file()
            self.test_daemon()
        finally:
            own = self.node.process.pid if self.node.running() else None
            for pid in set(self.daemon_pids + pids_using(self.tmpdir)) - {own}:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def run_bwcd(self, args, timeout=30):
        return subprocess.run([self.node.bwcd] + args, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def test_blocknotify(self):
        self.log("-blocknotify")
        n = self.node
        out = os.path.join(self.tmpdir, "notified")
        n.stop()
        n.start(["-blocknotify=echo %s >> " + out])
        hashes = n.rpc.generate(3, Key().address)

        def notified():
            try:
                with open(out) as f:
                    return sorted(f.read().split()) == sorted(hashes)
            except OSError:
                return False
        wait_until(notified, timeout=30, what="three notifications")
        with open(out) as f:
            assert_equal(sorted(f.read().split()), sorted(hashes))
        n.stop()
        n.start()

    def test_second_instance(self):
        self.log("a second bwcd on the same datadir")
        n = self.node
        cookie = n.cookie_auth()
        p = self.run_bwcd(["-datadir=" + n.datadir, "-chain=dev", "-rpcport=%d" % free_port(),
                           "-port=%d" % free_port(), "-printtoconsole=0"])
        assert_true(p.returncode != 0, "second instance exited 0")
        # the running node keeps serving (with the credentials we hold) and keeps its cookie
        assert_equal(n.rpc.getblockcount(), 3)
        now = n.cookie_auth() if os.path.exists(n.cookie_path) else None
        if not self.contract(now, cookie, "the running node's cookie after a second bwcd "
                                          "failed on its datadir (doc/rpc.md)"):
            n.stop()
            n.start()
            cookie = n.cookie_auth()
        # the same RPC port as the running node (another datadir): refused as well
        other = os.path.join(self.tmpdir, "other")
        os.mkdir(other)
        p = self.run_bwcd(["-datadir=" + other, "-chain=dev", "-rpcport=%d" % n.rpcport,
                           "-port=%d" % free_port()])
        assert_true(p.returncode != 0, "a node on a busy RPC port exited 0")
        assert_equal(n.rpc.getblockcount(), 3)
        assert_equal(n.cookie_auth(), cookie)

    def test_bad_starts(self):
        self.log("an unknown option, a missing datadir, a bad -mineraddress")
        p = self.run_bwcd(["-datadir=" + self.node.datadir, "-chain=dev", "-nosuchoption=1"])
        assert_true(p.returncode != 0, "unknown option accepted")
        assert_in("nosuchoption", p.stderr)
        missing = os.path.join(self.tmpdir, "does-not-exist")
        p = self.run_bwcd(["-datadir=" + missing, "-chain=dev"])
        assert_true(p.returncode != 0, "missing datadir accepted")
        assert_true(not os.path.exists(missing), "bwcd created a missing -datadir")
        p = self.run_bwcd(["-datadir=" + self.node.datadir, "-chain=dev",
                           "-mineraddress=" + Key(hrp="bwc").address])
        assert_true(p.returncode != 0, "an address of another chain accepted")
        assert_in("mineraddress", p.stderr)

    def test_signals(self):
        self.log("SIGTERM and SIGINT: clean shutdown")
        n = self.node
        for sig in (signal.SIGTERM, signal.SIGINT):
            tip = n.rpc.getbestblockhash()
            n.process.send_signal(sig)
            rc = n.wait_for_exit()
            assert_equal(rc, 0, msg="exit status after signal %d" % sig)
            assert_true(not os.path.exists(n.cookie_path), "cookie left after a signal")
            n.start()
            assert_equal(n.rpc.getbestblockhash(), tip)

    def test_conf_file(self):
        self.log("bwc.conf with a [dev] section")
        n = self.node
        n.stop()
        port = free_port()
        with open(os.path.join(n.datadir, "bwc.conf"), "w") as f:
            f.write("# written by node_options_test\nrpcport=1\n[dev]\nrpcport=%d\n"
                    "rpcuser=carol\nrpcpassword=pw%d\n" % (port, port))
        proc = subprocess.Popen([n.bwcd, "-datadir=" + n.datadir, "-chain=dev",
                                 "-port=%d" % free_port(), "-printtoconsole=0"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            cli = [n.cli_path, "-datadir=" + n.datadir, "-chain=dev"]

            def up():
                return subprocess.run(cli + ["getblockcount"], capture_output=True, text=True,
                                      timeout=30).stdout.strip() == "3"
            wait_until(up, timeout=60, what="node on the port from bwc.conf")
            # the user and password of the file work too (the section's port won above)
            p = subprocess.run(cli + ["-rpcport=%d" % port, "-rpcuser=carol",
                                      "-rpcpassword=pw%d" % port, "getblockcount"],
                               capture_output=True, text=True, timeout=30)
            assert_equal((p.returncode, p.stdout.strip()), (0, "3"))
            p = subprocess.run(cli + ["stop"], capture_output=True, text=True, timeout=30)
            assert_equal(p.stdout.strip(), "bwcd stopping")
            assert_equal(proc.wait(timeout=60), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        os.remove(os.path.join(n.datadir, "bwc.conf"))
        n.start()
        assert_equal(n.rpc.getblockcount(), 3)

    def test_daemon(self):
        self.log("-daemon")
        n = self.node
        n.stop()
        p = self.run_bwcd(n.args()[1:] + ["-daemon"])
        assert_equal(p.returncode, 0, msg=p.stderr)
        assert_equal(p.stdout, "")
        pids = wait_until(lambda: pids_using(n.datadir), timeout=30, what="the daemon")
        self.daemon_pids += pids
        assert_equal(len(pids), 1)
        n.process = None
        wait_until(lambda: os.path.exists(n.cookie_path), timeout=30, what="daemon's cookie")
        n._auth = None
        wait_until(lambda: n.rpc.getblockcount() == 3, timeout=30, what="daemon's RPC")
        assert_equal(n.rpc.stop(), "bwcd stopping")
        n._close_conn()
        wait_until(lambda: not pids_using(n.datadir), timeout=60, what="the daemon to exit")
        assert_true(not os.path.exists(n.cookie_path), "daemon left its cookie")
        n.start()
        assert_equal(n.rpc.getblockcount(), 3)


if __name__ == "__main__":
    NodeOptionsTest().main()
