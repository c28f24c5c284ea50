"""Revalidation and stale-if-error against a real origin (RFC 9111 §4.3, RFC 5861 §4).

The origin here is a small versioned resource (a handler on the recording origin): it answers
304 when If-None-Match names its current ETag, 200 with the body otherwise, and can be switched
to fail (a 503, or a dropped connection). Every test asserts what reached the origin."""

import concurrent.futures as cf
import socket
import threading
import time

import pytest

from harness import http_get


class Versioned:
    """A resource with an ETag the test can change, and failure modes it can switch on."""

    def __init__(self, origin, path: str, cache_control: str, body: bytes = b"version one"):
        self.lock = threading.Lock()
        self.etag = '"v1"'
        self.body = body
        self.cache_control = cache_control
        self.extra: list[tuple[str, str]] = []  # fields added to 304s and 200s
        self.fail: str = ""                     # "", "503" or "drop"
        self.delay = 0.0                        # seconds before answering
        self.seen_conditionals: list[str] = []  # If-None-Match of each request ("" if none)
        origin.handlers[path] = self.handle

    def handle(self, o, s, reader, req) -> bool:
        o._read_body(s, reader, req)
        with self.lock:
            etag, body, cc, extra, fail, delay = (self.etag, self.body, self.cache_control,
                                                  list(self.extra), self.fail, self.delay)
            self.seen_conditionals.append(req.header("if-none-match") or "")
        if delay:
            time.sleep(delay)
        if fail == "drop":
            s.shutdown(socket.SHUT_RDWR)
            return False
        hdrs = o._common_headers(req) + [("Cache-Control", cc)] + extra
        if fail == "503":
            o._send_head(s, 503, hdrs + [("Content-Length", "11")])
            o._send(s, req, b"unavailable")
            return True
        if req.header("if-none-match") == etag:
            o._send_head(s, 304, hdrs + [("ETag", etag)])
            return True
        o._send_head(s, 200, hdrs + [("ETag", etag), ("Content-Length", str(len(body)))])
        o._send(s, req, body)
        return True


@pytest.fixture
def cached(stavka, origin):
    return stavka(origins=[origin], config={"log": {"access": "off"}})


def expire(seconds: float = 2.1) -> None:
    time.sleep(seconds)


def test_stale_object_is_revalidated_with_a_304_and_kept(cached, origin):
    res = Versioned(origin, "/r1", "max-age=1")
    assert http_get(cached.port, "/r1").body == b"version one"
    expire()
    res.cache_control = "max-age=60"
    r = http_get(cached.port, "/r1")
    assert r.status == 200 and r.body == b"version one"
    assert r.header("etag") == '"v1"'
    status = r.header("cache-status")
    assert "fwd=stale" in status and "fwd-status=304" in status, status
    assert res.seen_conditionals == ["", '"v1"']
    # The 304 freshened the stored object: now a hit with the 304's max-age.
    r = http_get(cached.port, "/r1")
    assert r.body == b"version one" and r.header("cache-status").startswith("stavka; hit; ttl=")
    assert int(r.header("cache-status").rsplit("ttl=", 1)[1]) > 50
    assert origin.request_count == 2


def test_a_304_updates_the_stored_fields(cached, origin):
    res = Versioned(origin, "/r2", "max-age=1")
    res.extra = [("X-Version", "1")]
    assert http_get(cached.port, "/r2").header("x-version") == "1"
    expire()
    res.extra = [("X-Version", "2")]
    res.cache_control = "max-age=60"
    assert http_get(cached.port, "/r2").header("x-version") == "2"
    r = http_get(cached.port, "/r2")
    assert "hit" in r.header("cache-status") and r.header("x-version") == "2"
    assert r.header("cache-control") == "max-age=60"
    assert origin.request_count == 2


def test_a_changed_object_replaces_the_stored_one(cached, origin):
    res = Versioned(origin, "/r3", "max-age=1")
    assert http_get(cached.port, "/r3").body == b"version one"
    expire()
    res.etag, res.body = '"v2"', b"version two, longer"
    r = http_get(cached.port, "/r3")
    assert r.body == b"version two, longer" and r.header("etag") == '"v2"'
    assert "stored" in r.header("cache-status")
    r = http_get(cached.port, "/r3")
    assert "hit" in r.header("cache-status") or "fwd=stale" in r.header("cache-status")
    assert r.body == b"version two, longer"
    assert res.seen_conditionals[:2] == ["", '"v1"']


def test_concurrent_requests_for_a_stale_object_share_one_revalidation(cached, origin):
    res = Versioned(origin, "/r4", "max-age=1")
    assert http_get(cached.port, "/r4").status == 200
    expire()
    res.cache_control = "max-age=60"
    res.delay = 0.5
    with cf.ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: http_get(cached.port, "/r4", timeout=10), range(10)))
    assert all(r.status == 200 and r.body == b"version one" for r in results)
    assert origin.request_count == 2
    assert sum("collapsed" in r.header("cache-status") for r in results) >= 1


def test_client_conditional_on_a_revalidated_object_gets_304(cached, origin):
    res = Versioned(origin, "/r5", "max-age=1")
    assert http_get(cached.port, "/r5").status == 200
    expire()
    res.cache_control = "max-age=60"
    r = http_get(cached.port, "/r5", headers=[("If-None-Match", '"v1"')])
    assert r.status == 304 and r.body == b""
    assert res.seen_conditionals == ["", '"v1"']


def test_stale_while_revalidate_refreshes_with_a_conditional_request(cached, origin):
    res = Versioned(origin, "/r6", "max-age=1, stale-while-revalidate=60")
    assert http_get(cached.port, "/r6").status == 200
    expire()
    res.cache_control = "max-age=60"
    r = http_get(cached.port, "/r6")
    assert r.body == b"version one" and "hit" in r.header("cache-status")
    assert origin.wait_for_requests(2)
    time.sleep(0.2)  # the background revalidation updates the stored object
    r = http_get(cached.port, "/r6")
    assert r.header("cache-status").startswith("stavka; hit; ttl=")
    assert r.header("cache-control") == "max-age=60"
    assert res.seen_conditionals == ["", '"v1"']
    assert origin.request_count == 2


def test_stale_if_error_serves_the_stored_object_on_a_503(cached, origin):
    res = Versioned(origin, "/e1", "max-age=1, stale-if-error=60")
    assert http_get(cached.port, "/e1").status == 200
    expire()
    res.fail = "503"
    r = http_get(cached.port, "/e1")
    assert r.status == 200 and r.body == b"version one"
    status = r.header("cache-status")
    assert "fwd=stale" in status and "fwd-status=503" in status and "stale-if-error" in status
    assert origin.request_count == 2
    # The 503 did not replace the stored object: once the origin is back, a 304 keeps it.
    res.fail = ""
    res.cache_control = "max-age=60"
    r = http_get(cached.port, "/e1")
    assert r.status == 200 and "fwd-status=304" in r.header("cache-status")


def test_stale_if_error_serves_the_stored_object_when_the_origin_drops(cached, origin):
    res = Versioned(origin, "/e2", "max-age=1, stale-if-error=60")
    assert http_get(cached.port, "/e2").status == 200
    expire()
    res.fail = "drop"
    r = http_get(cached.port, "/e2")
    assert r.status == 200 and r.body == b"version one"
    assert "stale-if-error" in r.header("cache-status")


def test_without_stale_if_error_the_origin_error_passes(cached, origin):
    res = Versioned(origin, "/e3", "max-age=1")
    assert http_get(cached.port, "/e3").status == 200
    expire()
    res.fail = "503"
    r = http_get(cached.port, "/e3")
    assert r.status == 503 and r.body == b"unavailable"
    # The stored object is still there for when the origin recovers.
    res.fail = ""
    res.cache_control = "max-age=60"
    assert "fwd-status=304" in http_get(cached.port, "/e3").header("cache-status")


def test_stale_if_error_window_ends(cached, origin):
    res = Versioned(origin, "/e4", "max-age=1, stale-if-error=1")
    assert http_get(cached.port, "/e4").status == 200
    expire(2.2)  # past max-age + stale-if-error
    res.fail = "503"
    assert http_get(cached.port, "/e4").status == 503


def test_must_revalidate_with_an_unreachable_origin_is_504(cached, origin):
    res = Versioned(origin, "/e5", "max-age=1, must-revalidate, stale-if-error=60")
    assert http_get(cached.port, "/e5").status == 200
    expire()
    res.fail = "drop"
    assert http_get(cached.port, "/e5").status == 504
