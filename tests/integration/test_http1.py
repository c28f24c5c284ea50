"""HTTP/1.1 client-side behaviour: keep-alive, pipelining, chunked bodies both ways,
100-continue, trailers, HEAD, bodiless statuses, close-delimited origin responses."""

import hashlib
import json
import socket
import time

import httpx
import pytest

from harness import (RawConn, build_request, chunked_body, pattern, pattern_sha256, wait_until)


def test_simple_get(proxy, origin):
    r = proxy.get("/echo?x=1")
    assert r.status == 200
    assert r.version == "HTTP/1.1"
    info = r.json()
    assert info["method"] == "GET"
    assert info["target"] == "/echo?x=1"
    assert r.header("X-Origin") == "A"
    assert origin.request_count == 1
    assert origin.last().target == "/echo?x=1"


def test_httpx_smoke(proxy, origin):
    with httpx.Client(base_url=proxy.url(), timeout=10) as c:
        for i in range(5):
            r = c.get(f"/echo?i={i}")
            assert r.status_code == 200
            assert r.json()["target"] == f"/echo?i={i}"
        r = c.post("/echo", content=b"hello httpx")
        assert r.status_code == 200
        assert r.json()["body"] == "hello httpx"
    assert origin.request_count == 6


def test_keep_alive_many_requests_on_one_connection(proxy, origin):
    with proxy.connect() as c:
        for i in range(20):
            r = c.request("GET", f"/echo?n={i}")
            assert r.status == 200, r
            assert r.json()["target"] == f"/echo?n={i}"
            assert "close" not in (r.header("connection") or "").lower()
        # The connection is still usable, not closed by the proxy.
        assert not c.wait_closed(0.3)
    assert origin.request_count == 20


def test_origin_connection_is_reused(proxy, origin):
    """Sequential requests on one client connection reuse one pooled origin connection."""
    with proxy.connect() as c:
        for i in range(5):
            assert c.request("GET", f"/echo?n={i}").status == 200
    assert origin.request_count == 5
    assert origin.connections == 1, f"origin saw {origin.connections} connections for 5 sequential requests"


def test_client_connection_close(proxy, origin):
    with proxy.connect() as c:
        r = c.request("GET", "/echo", headers=[("Connection", "close")])
        assert r.status == 200
        assert c.wait_closed(3), "proxy kept the connection open after Connection: close"
        assert c.buf == b""


def test_pipelining_responses_in_order(proxy, origin):
    reqs = [
        ("GET", "/echo?id=1&delay=300", None),   # slowest first
        ("POST", "/echo?id=2", b"second body"),
        ("GET", "/size/1000", None),
        ("HEAD", "/size/5000", None),
        ("GET", "/chunked?count=3&size=10", None),
        ("GET", "/echo?id=6", None),
    ]
    chunked_post = (build_request("POST", "/echo?id=7", headers=[("Transfer-Encoding", "chunked")])
                    + chunked_body([b"seventh", b" body"]))
    with proxy.connect() as c:
        c.send(b"".join(build_request(m, t, body=b) for m, t, b in reqs) + chunked_post
               + build_request("GET", "/echo?id=8"))
        r1 = c.read_final_response("GET")
        r2 = c.read_final_response("POST")
        r3 = c.read_final_response("GET")
        r4 = c.read_final_response("HEAD")
        r5 = c.read_final_response("GET")
        r6 = c.read_final_response("GET")
        r7 = c.read_final_response("POST")
        r8 = c.read_final_response("GET")
        assert [r.status for r in (r1, r2, r3, r4, r5, r6, r7, r8)] == [200] * 8
        assert r1.json()["target"] == "/echo?id=1&delay=300"
        assert r2.json()["target"] == "/echo?id=2"
        assert r2.json()["body"] == "second body"
        assert r3.body == pattern(1000)
        assert r4.body == b""
        assert r5.body == pattern(30)
        assert r6.json()["target"] == "/echo?id=6"
        assert r7.json()["target"] == "/echo?id=7" and r7.json()["body"] == "seventh body"
        assert r8.json()["target"] == "/echo?id=8"
        assert not c.wait_closed(0.3)
    assert origin.request_count == 8


def test_pipelined_burst_of_100(proxy, origin):
    with proxy.connect() as c:
        c.send(b"".join(build_request("GET", f"/echo?n={i}") for i in range(100)))
        for i in range(100):
            r = c.read_final_response()
            assert r.status == 200
            assert r.json()["target"] == f"/echo?n={i}"
    assert origin.request_count == 100


def test_post_content_length_body(proxy, origin):
    body = bytes(range(256)) * 40
    r = proxy.request("POST", "/echo", body=body)
    assert r.status == 200
    req = origin.last()
    assert req.method == "POST"
    assert bytes(req.body) == body
    assert req.body_len == len(body)


@pytest.mark.parametrize("method, framing", [
    ("POST", "content-length"), ("PUT", "content-length"), ("GET", "content-length"),
    ("POST", "chunked"),
])
def test_empty_request_body(proxy, origin, method, framing):
    """Content-Length: 0 (or a chunked body that is only the last chunk): the request is
    complete at the end of the head; the response must come at once, not after client_body."""
    if framing == "chunked":
        req = build_request(method, "/echo", headers=[("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n"
    else:
        req = build_request(method, "/echo", body=b"")
    with RawConn(proxy.port, timeout=3) as c:
        c.send(req)
        try:
            r = c.read_final_response(method)
        except socket.timeout:
            pytest.fail(f"no response within 3s to {method} with an empty {framing} body "
                        f"(origin got {origin.request_count} request(s))")
        assert r.status == 200, r
        assert c.request("GET", "/echo?after=1").status == 200
    assert origin.requests[0].body_len == 0


def test_empty_response_body(proxy, origin):
    with RawConn(proxy.port, timeout=5) as c:
        r = c.request("GET", "/size/0")
        assert r.status == 200 and r.body == b""
        assert c.request("GET", "/echo?after=1").status == 200


def test_origin_interim_response_then_final(proxy, origin):
    with RawConn(proxy.port, timeout=5) as c:
        c.send(build_request("GET", "/early-hints"))
        r = c.read_final_response()
        assert r.status == 200
        assert r.json()["target"] == "/early-hints"
        assert c.request("GET", "/echo?after=1").json()["target"] == "/echo?after=1"


def test_obs_text_header_value_passes_through(proxy, origin):
    with RawConn(proxy.port) as c:
        c.send(b"GET /echo HTTP/1.1\r\nHost: stavka.test\r\nX-Latin: caf\xe9 cr\xe8me\r\n\r\n")
        assert c.read_final_response().status == 200
    assert origin.last().header("x-latin") == "caf\xe9 cr\xe8me"


def test_requests_after_connection_close_are_ignored(proxy, origin):
    with RawConn(proxy.port) as c:
        c.send(build_request("GET", "/echo?first=1", headers=[("Connection", "close")])
               + build_request("GET", "/echo?second=1"))
        r = c.read_final_response()
        assert r.json()["target"] == "/echo?first=1"
        assert c.wait_closed(3)
        assert c.buf == b"", f"answered a request sent after Connection: close: {bytes(c.buf)[:100]!r}"
    time.sleep(0.2)
    assert [q.target for q in origin.requests] == ["/echo?first=1"]


def test_chunked_request_body(proxy, origin):
    raw = build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")])
    raw += chunked_body([b"hello", b" ", b"chunked", b" world"])
    with proxy.connect() as c:
        c.send(raw)
        r = c.read_final_response()
        assert r.status == 200
    req = origin.last()
    assert bytes(req.body) == b"hello chunked world"
    # Either re-framed with Content-Length or kept chunked, but exactly one framing.
    assert not (req.has("content-length") and req.has("transfer-encoding"))


def test_chunked_request_with_extensions_and_trailers(proxy, origin):
    raw = build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")])
    raw += chunked_body([b"abc", b"defgh"], trailers=[("X-Req-Trailer", "t1")], ext=";name=val")
    with proxy.connect() as c:
        c.send(raw)
        assert c.read_final_response().status == 200
        # The connection stays in sync: a second request works.
        r = c.request("GET", "/echo?after=1")
        assert r.status == 200 and r.json()["target"] == "/echo?after=1"
    assert bytes(origin.requests[0].body) == b"abcdefgh"


def test_chunked_request_body_streams_to_origin(proxy, origin):
    """The first chunk reaches the origin before the client has sent the rest."""
    with proxy.connect() as c:
        c.send(build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")]))
        c.send(b"b\r\nfirst-part\n\r\n")
        assert origin.wait_for_requests(1, 5), "request head did not reach the origin"
        req = origin.requests[0]
        assert wait_until(lambda: req.body_len >= 11, 5), \
            "first chunk of a streaming request body never reached the origin while the client held the rest"
        c.send(b"c\r\nsecond-part\n\r\n0\r\n\r\n")
        r = c.read_final_response()
        assert r.status == 200
    assert bytes(req.body) == b"first-part\nsecond-part\n"


def test_large_chunked_request_body(proxy, origin):
    parts = [pattern(100_000, i * 100_000) for i in range(30)]
    raw = build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")]) + chunked_body(parts)
    with proxy.connect() as c:
        c.send(raw)
        r = c.read_final_response()
        assert r.status == 200
        info = r.json()
    assert info["body_len"] == 3_000_000
    assert info["body_sha256"] == pattern_sha256(3_000_000)


def test_chunked_response(proxy, origin):
    with proxy.connect() as c:
        r = c.request("GET", "/chunked?count=7&size=1234")
        assert r.status == 200
        assert r.body == pattern(7 * 1234)
        # The response is framed correctly: the next request on the connection works.
        assert c.request("GET", "/echo").status == 200


def test_chunked_response_streams_to_client(proxy, origin):
    """The first chunk reaches the client while the origin holds the rest."""
    with proxy.connect() as c:
        c.send(build_request("GET", "/gate?name=g1"))
        head = c.read_head()
        assert head.status == 200
        got = c.wait_for_bytes(b"first-chunk", 5)
        origin.gates["g1"].set()
        assert got, "first chunk was not streamed to the client before the origin finished"
        r = c.read_body(head)
        assert r.body == b"first-chunk\nsecond-chunk\n"


def test_response_trailers_pass_through(proxy, origin):
    with proxy.connect() as c:
        r = c.request("GET", "/chunked?count=4&size=500&trailers=1", headers=[("TE", "trailers")])
        assert r.status == 200
        assert r.framing == "chunked", "a chunked origin response with trailers was re-framed without them"
        assert r.body == pattern(2000)
        assert r.trailer("X-Checksum") == hashlib.sha256(pattern(2000)).hexdigest()
        assert r.trailer("X-Trailer-Two") == "two"
        assert c.request("GET", "/echo").status == 200


def read_interim(c, method):
    c.settimeout(5)
    try:
        return c.read_response(method)
    except socket.timeout:
        pytest.fail("no response within 5s to a request head with Expect: 100-continue "
                    "(the client is waiting for 100 Continue before sending the body)")
    finally:
        c.settimeout(10)


def test_100_continue(proxy, origin):
    body = b"the body after 100"
    with proxy.connect() as c:
        c.send(build_request("POST", "/echo", headers=[("Expect", "100-continue"),
                                                       ("Content-Length", str(len(body)))]))
        interim = read_interim(c, "POST")
        assert interim.status_line == "HTTP/1.1 100 Continue", interim.status_line
        c.send(body)
        c.settimeout(10)
        r = c.read_final_response("POST")
        assert r.status == 200
        assert r.json()["body"] == body.decode()
        assert c.request("GET", "/echo?next=1").status == 200
    assert bytes(origin.requests[0].body) == body


def test_100_continue_chunked(proxy, origin):
    with proxy.connect() as c:
        c.send(build_request("PUT", "/echo", headers=[("Expect", "100-continue"),
                                                      ("Transfer-Encoding", "chunked")]))
        interim = read_interim(c, "PUT")
        assert interim.status_line == "HTTP/1.1 100 Continue", interim.status_line
        c.send(chunked_body([b"part1-", b"part2"]))
        r = c.read_final_response("PUT")
        assert r.status == 200
    assert bytes(origin.requests[0].body) == b"part1-part2"


def test_head_content_length(proxy, origin):
    with proxy.connect() as c:
        r = c.request("HEAD", "/size/4321")
        assert r.status == 200
        assert r.header("content-length") in (None, "4321")
        assert r.body == b""
        # No body bytes were sent: the next response parses cleanly.
        r2 = c.request("GET", "/size/10")
        assert r2.status == 200 and r2.body == pattern(10)
    assert [q.method for q in origin.requests] == ["HEAD", "GET"]


def test_head_chunked_origin(proxy, origin):
    """HEAD answered with Transfer-Encoding: chunked and no body must not hang."""
    with proxy.connect() as c:
        c.settimeout(5)
        r = c.request("HEAD", "/chunked?count=3&size=10")
        assert r.status == 200
        # The length of the GET is unknown: a HEAD answer must not claim one (no "Content-Length: 0").
        assert r.header("content-length") is None, r.headers
        assert r.header("transfer-encoding") == "chunked", r.headers
        r2 = c.request("GET", "/echo?after=head")
        assert r2.status == 200 and r2.json()["target"] == "/echo?after=head"


@pytest.mark.parametrize("status", [204, 304])
def test_bodiless_status_keeps_connection_in_sync(proxy, origin, status):
    with proxy.connect() as c:
        c.settimeout(5)
        r = c.request("GET", f"/echo?status={status}")
        assert r.status == status
        r2 = c.request("GET", "/echo?after=1")
        assert r2.status == 200 and r2.json()["target"] == "/echo?after=1"


def test_origin_status_and_headers_pass_through(proxy, origin):
    r = proxy.get("/echo?status=404&hdr=X-Custom:abc&hdr=Set-Cookie:a=1&hdr=Set-Cookie:b=2")
    assert r.status == 404
    assert r.header("X-Custom") == "abc"
    assert r.header_all("Set-Cookie") == ["a=1", "b=2"]
    r = proxy.get("/echo?status=503")
    assert r.status == 503
    assert r.json()["target"] == "/echo?status=503"


def test_close_delimited_origin_response(proxy, origin):
    """An origin body delimited by close reaches the client complete (re-framed or close-delimited)."""
    with proxy.connect() as c:
        r = c.request("GET", "/eof?size=50000")
        assert r.status == 200
        assert r.body == pattern(50000)
        if r.framing == "close":
            assert c.eof


def test_fixed_length_response_binary_exact(proxy, origin):
    r = proxy.get("/size/1000000")
    assert r.status == 200
    assert r.header("content-length") in (None, "1000000")
    assert r.body == pattern(1_000_000)


def test_http10_client_gets_no_chunked_response(proxy, origin):
    """An HTTP/1.0 client cannot parse chunked: a chunked origin response reaches it with
    Content-Length or delimited by close, and the connection closes after it."""
    with RawConn(proxy.port) as c:
        c.send(b"GET /chunked?count=3&size=100 HTTP/1.0\r\nHost: stavka.test\r\n\r\n")
        r = c.read_final_response()
        assert r.status == 200
        assert not r.has("transfer-encoding"), f"chunked sent to an HTTP/1.0 client: {r.headers}"
        assert r.body == pattern(300)
        assert c.wait_closed(3), "HTTP/1.0 request without keep-alive: connection not closed"


def test_many_concurrent_connections(proxy, origin):
    conns = [RawConn(proxy.port) for _ in range(150)]
    try:
        for i, c in enumerate(conns):
            c.send(build_request("GET", f"/echo?c={i}"))
        for i, c in enumerate(conns):
            r = c.read_final_response()
            assert r.status == 200 and r.json()["target"] == f"/echo?c={i}"
        # And once more on every connection (all still open).
        for i, c in enumerate(conns):
            c.send(build_request("GET", f"/echo?c={i}&again=1"))
        for i, c in enumerate(conns):
            assert c.read_final_response().json()["target"] == f"/echo?c={i}&again=1"
    finally:
        for c in conns:
            c.close()
    assert origin.request_count == 300


def test_max_connections_per_worker(stavka, origin):
    p = stavka(origins=[origin], workers=1, config={"limits": {"max_connections": 3}})
    time.sleep(0.2)  # let the readiness probe's connection close
    held = [RawConn(p.port) for _ in range(3)]
    try:
        for c in held:
            assert c.request("GET", "/echo").status == 200
        with RawConn(p.port) as extra:
            extra.send(build_request("GET", "/echo?extra=1"))
            assert extra.wait_closed(3), "a 4th connection over max_connections = 3 was kept open"
        held.pop().close()
        time.sleep(0.2)
        with RawConn(p.port) as again:
            assert again.request("GET", "/echo?again=1").status == 200
    finally:
        for c in held:
            c.close()
    assert all(q.query.get("extra") is None for q in origin.requests)
