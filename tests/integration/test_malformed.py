"""Malformed and oversized requests: the proxy answers with the right status, closes the
connection, and nothing reaches the origin. Raw sockets throughout: the bytes are the test."""

import pytest

from harness import RawConn, build_request

H = "Host: stavka.test\r\n"


def raw(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


BAD_REQUESTS_400 = {
    # Request smuggling vectors.
    "content_length_and_transfer_encoding": raw(
        "POST /echo HTTP/1.1", "Host: stavka.test", "Content-Length: 5", "Transfer-Encoding: chunked"),
    "transfer_encoding_and_content_length": raw(
        "POST /echo HTTP/1.1", "Host: stavka.test", "Transfer-Encoding: chunked", "Content-Length: 0"),
    "differing_duplicate_content_length": raw(
        "POST /echo HTTP/1.1", "Host: stavka.test", "Content-Length: 5", "Content-Length: 6"),
    "differing_content_length_list": raw(
        "POST /echo HTTP/1.1", "Host: stavka.test", "Content-Length: 5, 6"),
    "non_numeric_content_length": raw(
        "POST /echo HTTP/1.1", "Host: stavka.test", "Content-Length: abc"),
    "negative_content_length": raw(
        "POST /echo HTTP/1.1", "Host: stavka.test", "Content-Length: -1"),
    "unknown_transfer_coding_gzip": raw(
        "POST /echo HTTP/1.1", "Host: stavka.test", "Transfer-Encoding: gzip"),
    "unknown_transfer_coding_before_chunked": raw(
        "POST /echo HTTP/1.1", "Host: stavka.test", "Transfer-Encoding: gzip, chunked"),
    "chunked_not_final": raw(
        "POST /echo HTTP/1.1", "Host: stavka.test", "Transfer-Encoding: chunked, gzip"),
    "unknown_transfer_coding_xchunked": raw(
        "POST /echo HTTP/1.1", "Host: stavka.test", "Transfer-Encoding: xchunked"),
    # Field syntax.
    "obs_fold": raw(
        "GET /echo HTTP/1.1", "Host: stavka.test", "X-Folded: first", " continued"),
    "obs_fold_tab": raw(
        "GET /echo HTTP/1.1", "Host: stavka.test", "X-Folded: first", "\tcontinued"),
    "space_in_header_name": raw(
        "GET /echo HTTP/1.1", "Host: stavka.test", "Bad Name: x"),
    "space_before_colon": raw(
        "GET /echo HTTP/1.1", "Host: stavka.test", "Transfer-Encoding : chunked"),
    "delimiter_in_header_name": raw(
        "GET /echo HTTP/1.1", "Host: stavka.test", "X(Bad): x"),
    "control_char_in_header_name": raw(
        "GET /echo HTTP/1.1", "Host: stavka.test", "X-Bad\x01: x"),
    "empty_header_name": raw(
        "GET /echo HTTP/1.1", "Host: stavka.test", ": no name"),
    "header_without_colon": raw(
        "GET /echo HTTP/1.1", "Host: stavka.test", "NoColonHere"),
    "bare_cr_in_header_value": raw(
        "GET /echo HTTP/1.1", "Host: stavka.test", "X-Bad: a\rb"),
    "bare_cr_line_ending": b"GET /echo HTTP/1.1\r\nHost: stavka.test\rX-Other: y\r\n\r\n",
    "bare_cr_in_request_line": b"GET /echo\r HTTP/1.1\r\nHost: stavka.test\r\n\r\n",
    "target_without_leading_slash": raw("GET echo HTTP/1.1", "Host: stavka.test"),
    # Host (RFC 9112 3.2: a server MUST answer 400).
    "http11_without_host": raw("GET /echo HTTP/1.1", "X-Foo: bar"),
    "two_host_headers": raw("GET /echo HTTP/1.1", "Host: stavka.test", "Host: other.test"),
}


def assert_rejected(port: int, request: bytes, status: int, origin) -> None:
    with RawConn(port, timeout=5) as c:
        c.send(request)
        try:
            r = c.read_response()
        except ConnectionResetError:
            pytest.fail("proxy reset the connection instead of answering (no lingering close?)")
        except EOFError:
            pytest.fail(f"proxy closed the connection without answering; expected {status}")
        assert r.status == status, f"expected {status}, got {r.status_line}"
        assert c.wait_closed(3), f"proxy did not close the connection after {status}"
        assert c.buf == b"", f"unexpected bytes after the {status} response: {bytes(c.buf)[:200]!r}"
    assert origin.connections == 0, "a rejected request made the proxy connect to the origin"
    assert origin.request_count == 0, f"rejected request reached the origin: {origin.requests}"


def assert_still_serving(proxy, origin, expect_requests=1):
    r = proxy.get("/echo?after=1")
    assert r.status == 200
    assert origin.request_count == expect_requests


@pytest.mark.parametrize("name", list(BAD_REQUESTS_400))
def test_malformed_request_gets_400_and_close(proxy, origin, name):
    assert_rejected(proxy.port, BAD_REQUESTS_400[name], 400, origin)
    assert_still_serving(proxy, origin)


def test_header_bytes_over_default_limit_431(proxy, origin):
    req = build_request("GET", "/echo", headers=[("X-Big", "a" * (70 * 1024))])
    assert_rejected(proxy.port, req, 431, origin)
    assert_still_serving(proxy, origin)


def test_long_request_target_over_header_limit_431(proxy, origin):
    req = build_request("GET", "/echo?" + "q" * (70 * 1024))
    assert_rejected(proxy.port, req, 431, origin)
    assert_still_serving(proxy, origin)


def test_many_small_headers_over_byte_limit_431(proxy, origin):
    # 90 headers (under max_headers) adding up to ~72 KiB.
    req = build_request("GET", "/echo", headers=[(f"X-H{i}", "v" * 800) for i in range(90)])
    assert_rejected(proxy.port, req, 431, origin)
    assert_still_serving(proxy, origin)


def test_header_bytes_under_default_limit_pass(proxy, origin):
    req = build_request("GET", "/echo", headers=[("X-Big", "a" * (60 * 1024))])
    with RawConn(proxy.port) as c:
        c.send(req)
        assert c.read_final_response().status == 200
    assert origin.last().header("X-Big") == "a" * (60 * 1024)


def test_too_many_headers_default_431(proxy, origin):
    req = build_request("GET", "/echo", headers=[(f"X-H{i}", "v") for i in range(150)])
    assert_rejected(proxy.port, req, 431, origin)
    assert_still_serving(proxy, origin)


def test_hundred_headers_default_pass(proxy, origin):
    # Host + 99 = 100 fields: exactly the default max_headers.
    req = build_request("GET", "/echo", headers=[(f"X-H{i}", "v") for i in range(99)])
    with RawConn(proxy.port) as c:
        c.send(req)
        assert c.read_final_response().status == 200
    assert origin.last().header("X-H98") == "v"


@pytest.fixture
def small_limits_proxy(stavka, origin):
    return stavka(origins=[origin], config={"limits": {"max_header_bytes": 4096, "max_headers": 10}})


def test_configured_max_headers_boundary(small_limits_proxy, origin):
    ok = build_request("GET", "/echo", headers=[(f"X-H{i}", "v") for i in range(9)])   # 10 fields
    bad = build_request("GET", "/echo", headers=[(f"X-H{i}", "v") for i in range(10)])  # 11 fields
    with RawConn(small_limits_proxy.port) as c:
        c.send(ok)
        assert c.read_final_response().status == 200
    origin.reset()
    assert_rejected(small_limits_proxy.port, bad, 431, origin)


def test_configured_max_header_bytes(small_limits_proxy, origin):
    with RawConn(small_limits_proxy.port) as c:
        c.send(build_request("GET", "/echo", headers=[("X-Big", "a" * 3000)]))
        assert c.read_final_response().status == 200
    origin.reset()
    assert_rejected(small_limits_proxy.port,
                    build_request("GET", "/echo", headers=[("X-Big", "a" * 5000)]), 431, origin)


def test_malformed_after_good_pipelined_request(proxy, origin):
    """A valid request followed by a malformed one on the same connection: the first is
    served, the second gets 400, the connection closes, only the first reaches the origin."""
    good = build_request("GET", "/echo?first=1")
    bad = raw("POST /echo HTTP/1.1", "Host: stavka.test", "Content-Length: 1", "Transfer-Encoding: chunked")
    with RawConn(proxy.port, timeout=5) as c:
        c.send(good + bad)
        r1 = c.read_response()
        assert r1.status == 200 and r1.json()["target"] == "/echo?first=1"
        r2 = c.read_response()
        assert r2.status == 400
        assert c.wait_closed(3)
    assert origin.request_count == 1


def test_smuggled_request_in_body_is_not_forwarded(proxy, origin):
    """CL.TE: a body that would hide a second request when read as chunked must be rejected
    outright, and the hidden request must never reach the origin."""
    hidden = b"GET /smuggled HTTP/1.1\r\nHost: stavka.test\r\n\r\n"
    body = b"0\r\n\r\n" + hidden
    req = (f"POST /echo HTTP/1.1\r\nHost: stavka.test\r\nContent-Length: {len(body)}\r\n"
           f"Transfer-Encoding: chunked\r\n\r\n").encode() + body
    with RawConn(proxy.port, timeout=5) as c:
        c.send(req)
        try:
            r = c.read_response()
        except (ConnectionResetError, EOFError):
            pytest.fail("proxy closed/reset the connection instead of answering 400")
        assert r.status == 400
        assert c.wait_closed(3)
    assert origin.request_count == 0
    assert all(q.path != "/smuggled" for q in origin.requests)


@pytest.mark.parametrize("request_bytes, status", [
    (raw("CONNECT stavka.test:443 HTTP/1.1", "Host: stavka.test:443"), 405),
    (raw("GET /echo HTTP/2.0", "Host: stavka.test"), 505),
    (raw("GET /echo HTTP/1.2", "Host: stavka.test"), 505),
], ids=["connect_405", "http2_505", "http12_505"])
def test_unsupported_method_or_version(proxy, origin, request_bytes, status):
    with RawConn(proxy.port, timeout=5) as c:
        c.send(request_bytes)
        r = c.read_response()
        assert r.status == status, r.status_line
    assert origin.connections == 0 and origin.request_count == 0
