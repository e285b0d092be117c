"""node.py: TestNode, one bwcd process on 127.0.0.1 with its own datadir and ports, driven over
JSON-RPC (HTTP, cookie auth) and through bwc-cli. Every process started here is registered so
that it is killed at exit, whatever happens to the test."""

import atexit
import base64
import http.client
import json
import os
import re
import signal
import subprocess
import time

from .util import TestFailure, free_port

# Every bwcd process any TestNode started and has not seen exit: killed -9 at exit.
_live_processes = set()


def _kill_leftovers():
    for proc in list(_live_processes):
        if proc.poll() is None:
            try:
                proc.kill()
                proc.wait(timeout=10)
            except Exception:
                pass
        _live_processes.discard(proc)


atexit.register(_kill_leftovers)


def _sigterm(signum, frame):
    # run.py sends SIGTERM on timeout: unwind (finally blocks, atexit) instead of dying.
    raise SystemExit("terminated by signal %d" % signum)


signal.signal(signal.SIGTERM, _sigterm)


_help_cache = {}


def bwcd_has_option(bwcd, name):
    """1 when `bwcd -help` lists -name (cached per binary)."""
    if bwcd not in _help_cache:
        try:
            p = subprocess.run([bwcd, "-help"], capture_output=True, text=True, timeout=30)
            _help_cache[bwcd] = p.stdout + p.stderr
        except OSError:
            _help_cache[bwcd] = ""
    return re.search(r"^\s*-%s[=\s]" % re.escape(name), _help_cache[bwcd], re.M) is not None


class JSONRPCException(Exception):
    def __init__(self, error, http_status=None):
        self.error = error
        self.code = error.get("code") if isinstance(error, dict) else None
        self.message = error.get("message", "") if isinstance(error, dict) else str(error)
        self.http_status = http_status
        super().__init__("%s (%s)" % (self.message, self.code))


class CLIError(Exception):
    def __init__(self, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__("bwc-cli exited %d: %s" % (returncode, stderr.strip()))


class RPCProxy:
    """client.rpc.METHOD(*args) or .METHOD(name=value...) -> result; raises
    JSONRPCException on an error reply."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            if args and kwargs:
                raise TypeError("positional or named parameters, not both")
            return self._client.call(name, dict(kwargs) if kwargs else list(args))
        return call


class RPCClient:
    """A JSON-RPC client of one node on one kept-alive HTTP connection (not thread-safe: one
    per thread). Reads the node's cookie when it connects."""

    def __init__(self, node):
        self.node = node
        self._conn = None
        self._id = 0
        self.rpc = RPCProxy(self)

    def close(self):
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def call(self, method, params):
        """One JSON-RPC 1.0 call; returns the result or raises JSONRPCException."""
        self._id += 1
        body = json.dumps({"method": method, "params": params, "id": self._id}).encode()
        for attempt in range(2):
            conn = self._conn
            if conn is None:
                conn = self._conn = http.client.HTTPConnection("127.0.0.1", self.node.rpcport,
                                                               timeout=self.node.timeout)
            try:
                conn.request("POST", "/", body=body, headers={
                    "Authorization": self.node._authorization(),
                    "Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # the server closed an idle kept-alive connection: reconnect once
                self.close()
                if attempt == 1 or method == "stop":
                    raise
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        if resp.status == 401:
            raise JSONRPCException({"code": None, "message": "HTTP 401"}, 401)
        try:
            reply = json.loads(data)
        except ValueError:
            raise TestFailure("non-JSON reply (HTTP %d) to %s: %r" % (resp.status, method,
                                                                      data[:200]))
        if reply.get("id") != self._id:
            raise TestFailure("reply id %r != request id %r" % (reply.get("id"), self._id))
        if reply.get("error") is not None:
            raise JSONRPCException(reply["error"], resp.status)
        if "result" not in reply:
            raise TestFailure("reply without result: %r" % (reply,))
        return reply["result"]


class TestNode:
    def __init__(self, index, tmpdir, bindir, chain="dev", extra_args=None, timeout=60):
        self.index = index
        self.bindir = bindir
        self.chain = chain
        self.datadir = os.path.join(tmpdir, "node%d" % index)
        os.makedirs(self.datadir, exist_ok=True)
        self.chaindir = os.path.join(self.datadir, chain)
        self.rpcport = free_port()
        self.p2pport = free_port()
        self.extra_args = list(extra_args or [])
        self.timeout = timeout
        self.process = None
        self._auth = None
        self._client = RPCClient(self)
        self.rpc = self._client.rpc
        self.starts = 0

    # -------------------------------------------------------------- process control

    @property
    def bwcd(self):
        return os.path.join(self.bindir, "bwcd")

    @property
    def cli_path(self):
        return os.path.join(self.bindir, "bwc-cli")

    @property
    def cookie_path(self):
        return os.path.join(self.chaindir, ".cookie")

    @property
    def debug_log(self):
        return os.path.join(self.chaindir, "debug.log")

    def args(self, extra_args=None):
        a = [self.bwcd, "-datadir=" + self.datadir, "-chain=" + self.chain,
             "-rpcport=%d" % self.rpcport]
        # -port is in the contract, but a bwcd without P2P refuses it as an unknown option
        if bwcd_has_option(self.bwcd, "port"):
            a.append("-port=%d" % self.p2pport)
        return a + self.extra_args + list(extra_args or [])

    def start(self, extra_args=None, wait=True):
        """Starts bwcd (not yet running) and, with wait, waits until RPC answers. When a port
        was taken by another process between free_port() and bwcd's bind (tests run in
        parallel), it retries with new ports, at most twice."""
        assert self.process is None or self.process.poll() is not None, "already running"
        for attempt in range(3):
            self._launch(extra_args)
            if not wait:
                return
            try:
                self.wait_for_rpc()
                return
            except TestFailure:
                if attempt == 2 or self.process.poll() is None or "Address already in use" \
                        not in self.stderr_tail() + self.debug_log_tail(5):
                    raise
                print("node%d: a port was taken, retrying with new ones" % self.index,
                      flush=True)
                _live_processes.discard(self.process)
                self.rpcport = free_port()
                self.p2pport = free_port()

    def _launch(self, extra_args):
        self._close_conn()
        self._auth = None
        self.starts += 1
        self.stdout_path = os.path.join(self.datadir, "stdout.%d" % self.starts)
        self.stderr_path = os.path.join(self.datadir, "stderr.%d" % self.starts)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(self.args(extra_args), stdout=out, stderr=err,
                                            stdin=subprocess.DEVNULL)
        _live_processes.add(self.process)

    def running(self):
        return self.process is not None and self.process.poll() is None

    def wait_for_rpc(self, timeout=None):
        """Waits until the node has written its cookie and answers a call outside warmup."""
        timeout = timeout or self.timeout

        def ready():
            if self.process.poll() is not None:
                raise TestFailure("bwcd exited with %s during startup: %s" % (
                    self.process.returncode, self.stderr_tail()))
            if not os.path.exists(self.cookie_path):
                return False
            self._auth = None
            try:
                self.call("getblockcount", [])
                return True
            except JSONRPCException as e:
                # -28: warming up; 401: we read a killed node's stale cookie before the new
                # one replaced it
                if e.code == -28 or e.http_status == 401:
                    return False
                raise
            except (OSError, http.client.HTTPException):
                self._close_conn()
                return False
        deadline = time.monotonic() + timeout
        while True:
            if ready():
                return
            if time.monotonic() > deadline:
                raise TestFailure("node%d: RPC did not come up within %ss" % (self.index, timeout))
            time.sleep(0.05)

    def wait_for_exit(self, timeout=None):
        timeout = timeout or self.timeout
        try:
            rc = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise TestFailure("node%d did not exit within %ss of stop" % (self.index, timeout))
        _live_processes.discard(self.process)
        self._close_conn()
        return rc

    def stop(self, expect_rc=0):
        """Stops the node with the `stop` RPC and waits for the process to exit."""
        res = self.call("stop", [])
        if res != "bwcd stopping":
            raise TestFailure("stop returned %r" % (res,))
        rc = self.wait_for_exit()
        if expect_rc is not None and rc != expect_rc:
            raise TestFailure("node%d exited with %d after stop: %s" % (
                self.index, rc, self.stderr_tail()))
        return rc

    def kill9(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        if self.process is not None:
            _live_processes.discard(self.process)
        self._close_conn()

    def stderr_tail(self, n=2000):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except (OSError, AttributeError):
            return ""

    def debug_log_tail(self, lines=40):
        try:
            with open(self.debug_log, "rb") as f:
                data = f.read()[-20000:].decode(errors="replace")
            return "\n".join(data.splitlines()[-lines:])
        except OSError:
            return "(no debug.log)"

    # -------------------------------------------------------------- JSON-RPC

    def cookie_auth(self):
        with open(self.cookie_path) as f:
            return f.read().strip()

    def _authorization(self):
        if self._auth is None:
            self._auth = "Basic " + base64.b64encode(self.cookie_auth().encode()).decode()
        return self._auth

    def _close_conn(self):
        self._client.close()

    def http_post(self, body, auth=True, headers=None, timeout=None, path="/", method="POST"):
        """One HTTP request on a fresh connection. auth: True (the cookie), None (no header)
        or a "user:password" string. Returns (status, headers dict, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.rpcport,
                                          timeout=timeout or self.timeout)
        try:
            h = {"Content-Type": "application/json"}
            if auth is True:
                h["Authorization"] = self._authorization()
            elif auth is not None:
                h["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
            h.update(headers or {})
            if isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def call(self, method, params):
        """One JSON-RPC 1.0 call on the node's kept-alive connection; returns the result."""
        return self._client.call(method, params)

    def new_client(self):
        """An independent RPC client (its own connection), for use from another thread:
        node.new_client().rpc.getblockcount()."""
        return RPCClient(self)

    # -------------------------------------------------------------- bwc-cli

    def cli_raw(self, *args, stdin=None, named=False, options=None):
        """Runs bwc-cli; returns the CompletedProcess (text mode)."""
        cmd = [self.cli_path, "-datadir=" + self.datadir, "-chain=" + self.chain,
               "-rpcport=%d" % self.rpcport] + list(options or [])
        if named:
            cmd.append("-named")
        if stdin is not None:
            cmd.append("-stdin")
        cmd += [a if isinstance(a, str) else json.dumps(a) for a in args]
        return subprocess.run(cmd, input=stdin if stdin is not None else "",
                              capture_output=True, text=True, timeout=self.timeout)

    def cli(self, *args, stdin=None, named=False, options=None):
        """Runs bwc-cli METHOD ARGS...; returns the parsed JSON result (a plain string result
        as the string, nothing as None). Raises CLIError when it exits non-zero."""
        p = self.cli_raw(*args, stdin=stdin, named=named, options=options)
        if p.returncode != 0:
            raise CLIError(p.returncode, p.stdout, p.stderr)
        out = p.stdout
        if out == "":
            return None
        if re.fullmatch(r"[0-9a-f]+\n?", out) and len(out.strip()) >= 32:
            return out.strip()  # a hash or hex that happens to be all digits stays a string
        try:
            return json.loads(out)
        except ValueError:
            return out.rstrip("\n")

    # -------------------------------------------------------------- helpers

    def generate(self, n, address):
        return self.call("generate", [n, address])

    def __repr__(self):
        return "node%d" % self.index
