"""util.py: free ports, assertions and bounded waiting for the functional tests."""

import os
import socket
import time

_used_ports = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now and that this process has not
    handed out before (the OS may still reuse it later; tests start nodes at once)."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise RuntimeError("no free port found")


class TestFailure(Exception):
    pass


def assert_equal(a, b, *more, msg=None):
    for other in (b,) + more:
        if a != other:
            raise TestFailure("%s != %s%s" % (_short(a), _short(other),
                                              (": " + msg) if msg else ""))


def assert_true(cond, msg="condition is false"):
    if not cond:
        raise TestFailure(msg)


def assert_greater_than(a, b):
    if not a > b:
        raise TestFailure("%s is not greater than %s" % (_short(a), _short(b)))


def assert_in(item, container, msg=None):
    if item not in container:
        raise TestFailure("%s not in %s%s" % (_short(item), _short(container),
                                              (": " + msg) if msg else ""))


def assert_not_in(item, container, msg=None):
    if item in container:
        raise TestFailure("%s is in %s%s" % (_short(item), _short(container),
                                             (": " + msg) if msg else ""))


def assert_raises_rpc_error(code, message, fn, *args, **kwargs):
    """Calls fn and checks that it raises JSONRPCException with this code (None: any) and a
    message containing `message` (None: any). Returns the exception."""
    from .node import JSONRPCException
    try:
        fn(*args, **kwargs)
    except JSONRPCException as e:
        if code is not None and e.code != code:
            raise TestFailure("expected error code %s, got %s (%s)" % (code, e.code, e.message))
        if message is not None and message not in e.message:
            raise TestFailure("expected message containing %r, got %r" % (message, e.message))
        return e
    raise TestFailure("no error raised; expected code %s %r" % (code, message))


def wait_until(pred, timeout=30, interval=0.05, what=None):
    """Polls pred until it returns a true value (returned) or timeout seconds pass (failure).
    Bounded both in time and in the number of polls."""
    deadline = time.monotonic() + timeout
    max_polls = int(timeout / interval) + 2
    last_exc = None
    for _ in range(max_polls):
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # the predicate may raise while the state settles
            last_exc = e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise TestFailure("wait_until timed out after %ss%s%s" % (
        timeout, (": " + what) if what else "",
        (" (last error: %r)" % last_exc) if last_exc else ""))


def repo_root():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _short(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


def assert_fields(obj, expected, what="object"):
    """Every key of expected is in obj with that value (obj may have more keys)."""
    if not isinstance(obj, dict):
        raise TestFailure("%s is not an object: %s" % (what, _short(obj)))
    for k, v in expected.items():
        if k not in obj:
            raise TestFailure("%s has no field %r: %s" % (what, k, _short(obj)))
        if obj[k] != v:
            raise TestFailure("%s field %r: %s != %s" % (what, k, _short(obj[k]), _short(v)))


def assert_list_fields(objs, expected, what="list"):
    """objs and expected are lists of the same length; assert_fields on each pair."""
    if not isinstance(objs, list) or len(objs) != len(expected):
        raise TestFailure("%s: %s does not have %d elements like %s" % (
            what, _short(objs), len(expected), _short(expected)))
    for i, (o, e) in enumerate(zip(objs, expected)):
        assert_fields(o, e, what)
