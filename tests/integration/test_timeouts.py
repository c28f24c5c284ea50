"""Client-side timeouts: request head, idle keep-alive, request body, stalled reader.
Timing assertions are deliberately generous: "closed, and not absurdly early or late"."""

import socket
import time

import pytest

from harness import RawConn, build_request, wait_until

FAST = {"timeouts": {"client_header": "1s", "client_idle": "1s", "client_body": "1s",
                     "client_send": "1s"}}


@pytest.fixture
def fast_proxy(stavka, origin):
    return stavka(origins=[origin], config=FAST)


def assert_closed_maybe_408(c: RawConn, within: float, what: str) -> None:
    assert c.wait_closed(within), f"{what}: connection still open after {within}s"
    data = bytes(c.buf)
    assert data == b"" or data.startswith(b"HTTP/1.1 408 "), \
        f"{what}: expected a silent close or a 408, got {data[:200]!r}"


def test_partial_head_closed_after_client_header(fast_proxy, origin):
    with RawConn(fast_proxy.port) as c:
        t0 = time.monotonic()
        c.send(b"GET /echo HTTP/1.1\r\nHost: stavka.test\r\n")
        assert_closed_maybe_408(c, 8, "partial head")
        elapsed = time.monotonic() - t0
        assert elapsed >= 0.8, f"closed after {elapsed:.2f}s, before client_header = 1s"
    assert origin.connections == 0


def test_trickled_head_closed_after_client_header(fast_proxy, origin):
    """client_header bounds the whole head: a byte every 200 ms does not keep it alive."""
    with RawConn(fast_proxy.port) as c:
        t0 = time.monotonic()
        c.send(b"GET /echo HTTP/1.1\r\nHost: stavka.test\r\nX-Slow: ")
        closed = False
        while time.monotonic() - t0 < 8:
            try:
                c.send(b"a")
            except OSError:
                closed = True
                break
            if c.wait_closed(0.2):
                closed = True
                break
        assert closed, "a head trickled one byte per 200 ms was still accepted after 8s (client_header = 1s)"
        assert time.monotonic() - t0 >= 0.8
    assert origin.request_count == 0


def test_idle_keep_alive_closed_after_client_idle(fast_proxy, origin):
    with RawConn(fast_proxy.port) as c:
        assert c.request("GET", "/echo").status == 200
        t0 = time.monotonic()
        assert_closed_maybe_408(c, 8, "idle keep-alive")
        elapsed = time.monotonic() - t0
        assert elapsed >= 0.8, f"idle connection closed after {elapsed:.2f}s, before client_idle = 1s"


def test_connection_without_any_request_is_closed(fast_proxy, origin):
    with RawConn(fast_proxy.port) as c:
        assert_closed_maybe_408(c, 8, "silent connection")
    assert origin.connections == 0


def test_active_connection_survives_idle_timeout(fast_proxy, origin):
    """The idle timer restarts after every request: requests every 400 ms for 3 s on one
    connection with client_idle = 1s all succeed."""
    with RawConn(fast_proxy.port) as c:
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 3:
            r = c.request("GET", f"/echo?n={n}")
            assert r.status == 200
            n += 1
            time.sleep(0.4)
    assert origin.request_count == n


def test_stalled_request_body_closed_after_client_body(fast_proxy, origin):
    with RawConn(fast_proxy.port) as c:
        c.send(build_request("POST", "/echo", headers=[("Content-Length", "1000")]) + b"x" * 10)
        t0 = time.monotonic()
        assert c.wait_closed(8), "connection with a stalled request body still open after 8s (client_body = 1s)"
        assert time.monotonic() - t0 >= 0.8
        data = bytes(c.buf)
        assert b" 200 " not in data.split(b"\r\n", 1)[0], f"got a success for an incomplete body: {data[:200]!r}"
    # If the head was already forwarded, the origin connection is aborted and no complete
    # body was ever delivered.
    assert wait_until(lambda: origin.closed_connections == origin.connections, 5), \
        "origin connection left open after the client's body timed out"
    assert all(not q.body_complete.is_set() for q in origin.requests)


def test_stalled_reader_closed_after_client_send(fast_proxy, origin):
    """A client that stops reading a large response is dropped after client_send, and the
    origin transfer is cancelled."""
    size = 500 * 1024 * 1024
    with RawConn(fast_proxy.port, timeout=20) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        c.send(build_request("GET", f"/size/{size}"))
        assert origin.wait_for_requests(1, 5)
        req = origin.last()
        assert req.peer_closed.wait(15), \
            "origin still sending 15s after the client stopped reading (client_send = 1s)"
        # The client gets a truncated response, never the full body.
        got = 0
        while c._fill():
            got += len(c.buf)
            c.buf.clear()
        assert got < size
