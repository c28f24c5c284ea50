"""RFC 9111 / RFC 9213 policy through the real binary: which directives store, which serve,
which go forward; and how fills behave when their clients leave or read slowly. Each test
counts the requests that reached the origin."""

import concurrent.futures as cf
import email.utils
import socket
import time

import pytest

from harness import MiB, RawConn, build_request, http_get, pattern


def q(value: str) -> str:
    return value.replace(" ", "%20").replace('"', "%22").replace(",", "%2C")


def hdr(name: str, value: str) -> str:
    return f"hdr={name}:{q(value)}"


@pytest.fixture
def cached(stavka, origin):
    return stavka(origins=[origin], config={"log": {"access": "off"}})


def ttl_of(r) -> int:
    status = r.header("cache-status")
    assert "ttl=" in status, status
    return int(status.split("ttl=", 1)[1].split(";")[0].split(",")[0])


def test_cdn_cache_control_takes_precedence(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'no-store')}&{hdr('CDN-Cache-Control', 'max-age=300')}"
    assert http_get(cached.port, target).status == 200
    r = http_get(cached.port, target)
    assert "hit" in r.header("cache-status") and 290 <= ttl_of(r) <= 300
    # Passed on to the client untouched: downstream caches read their own Cache-Control.
    assert r.header("cache-control") == "no-store"
    assert origin.request_count == 1


def test_invalid_cdn_cache_control_falls_back_to_cache_control(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'max-age=60')}&{hdr('CDN-Cache-Control', 'max-age=(')}"
    http_get(cached.port, target)
    r = http_get(cached.port, target)
    assert "hit" in r.header("cache-status") and 50 <= ttl_of(r) <= 60


def test_s_maxage_beats_max_age(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'max-age=5, s-maxage=500')}"
    http_get(cached.port, target)
    assert 490 <= ttl_of(http_get(cached.port, target)) <= 500
    assert origin.request_count == 1


def test_expires_minus_date_gives_freshness(cached, origin):
    now = time.time()
    target = (f"/size/10?{hdr('Date', email.utils.formatdate(now, usegmt=True))}"
              f"&{hdr('Expires', email.utils.formatdate(now + 120, usegmt=True))}")
    http_get(cached.port, target)
    r = http_get(cached.port, target)
    assert "hit" in r.header("cache-status") and 110 <= ttl_of(r) <= 120


def test_invalid_expires_means_stale(cached, origin):
    target = f"/size/10?{hdr('Expires', '0')}&{hdr('ETag', 'x')}"
    for _ in range(2):
        assert "hit" not in http_get(cached.port, target).header("cache-status")
    assert origin.request_count == 2


def test_heuristic_freshness_from_last_modified(cached, origin):
    now = time.time()
    target = (f"/size/10?{hdr('Date', email.utils.formatdate(now, usegmt=True))}"
              f"&{hdr('Last-Modified', email.utils.formatdate(now - 10_000, usegmt=True))}")
    http_get(cached.port, target)
    r = http_get(cached.port, target)
    # 10% of Date - Last-Modified (heuristic_fraction's default).
    assert "hit" in r.header("cache-status") and 990 <= ttl_of(r) <= 1000
    assert origin.request_count == 1


def test_upstream_age_counts_against_freshness_and_is_sent(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'max-age=100')}&{hdr('Age', '40')}"
    http_get(cached.port, target)
    r = http_get(cached.port, target)
    assert 40 <= int(r.header("age")) <= 45
    assert 55 <= ttl_of(r) <= 60
    target = f"/size/10?{hdr('Cache-Control', 'max-age=100')}&{hdr('Age', '500')}&x=1"
    http_get(cached.port, target)
    assert "hit" not in http_get(cached.port, target).header("cache-status")


def test_invalid_upstream_age_is_ignored(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'max-age=100')}&{hdr('Age', 'soon')}"
    http_get(cached.port, target)
    r = http_get(cached.port, target)
    assert "hit" in r.header("cache-status") and int(r.header("age")) <= 5


def test_authorization_is_stored_only_when_the_response_allows_it(cached, origin):
    auth = [("Authorization", "Bearer t")]
    plain = f"/size/10?{hdr('Cache-Control', 'max-age=60')}"
    for _ in range(2):
        assert "hit" not in http_get(cached.port, plain, headers=auth).header("cache-status")
    assert origin.request_count == 2
    public = f"/size/10?{hdr('Cache-Control', 'public, max-age=60')}"
    http_get(cached.port, public, headers=auth)
    assert "hit" in http_get(cached.port, public, headers=auth).header("cache-status")
    assert origin.request_count == 3


def test_no_cache_response_is_stored_but_always_revalidated(cached, origin):
    etag = hdr("ETag", '"a"')
    target = f"/size/10?{hdr('Cache-Control', 'no-cache, max-age=60')}&{etag}"
    http_get(cached.port, target)
    r = http_get(cached.port, target)
    assert "fwd=stale" in r.header("cache-status")
    assert origin.request_count == 2
    assert origin.requests[1].header("if-none-match") == '"a"'


def test_no_cache_with_field_names_strips_those_fields_from_hits(cached, origin):
    cc = hdr("Cache-Control", 'max-age=60, no-cache="Set-Cookie"')
    target = f"/size/10?{cc}&{hdr('Set-Cookie', 'id=1')}"
    first = http_get(cached.port, target)
    assert first.header("set-cookie") == "id=1"
    r = http_get(cached.port, target)
    assert "hit" in r.header("cache-status") and r.header("set-cookie") is None
    assert origin.request_count == 1


def test_vary_star_never_matches(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'max-age=60')}&{hdr('Vary', '*')}"
    for _ in range(2):
        assert "hit" not in http_get(cached.port, target).header("cache-status")
    assert origin.request_count == 2


def test_request_max_stale_accepts_a_stale_object(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'max-age=1')}"
    http_get(cached.port, target)
    time.sleep(2.1)
    r = http_get(cached.port, target, headers=[("Cache-Control", "max-stale=60")])
    assert "hit" in r.header("cache-status") and ttl_of(r) < 0
    assert origin.request_count == 1


def test_must_revalidate_refuses_max_stale(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'max-age=1, must-revalidate')}"
    http_get(cached.port, target)
    time.sleep(2.1)
    r = http_get(cached.port, target, headers=[("Cache-Control", "max-stale=60")])
    assert "hit" not in r.header("cache-status")
    assert origin.request_count == 2


def test_request_min_fresh_and_max_age(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'max-age=60')}"
    http_get(cached.port, target)
    r = http_get(cached.port, target, headers=[("Cache-Control", "min-fresh=120")])
    assert "fwd=request" in r.header("cache-status")
    # max-age=N accepts an age of at most N seconds (§5.2.1.1): once a second old, not 0.
    time.sleep(1.1)
    r = http_get(cached.port, target, headers=[("Cache-Control", "max-age=0")])
    assert "fwd=request" in r.header("cache-status")
    assert origin.request_count == 3


def test_immutable_ignores_a_client_reload(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'max-age=60, immutable')}"
    http_get(cached.port, target)
    r = http_get(cached.port, target, headers=[("Cache-Control", "no-cache")])
    assert "hit" in r.header("cache-status")
    assert origin.request_count == 1


def test_pragma_no_cache_without_cache_control(cached, origin):
    target = f"/size/10?{hdr('Cache-Control', 'max-age=60')}"
    http_get(cached.port, target)
    r = http_get(cached.port, target, headers=[("Pragma", "no-cache")])
    assert "fwd=request" in r.header("cache-status")
    assert origin.request_count == 2


def test_uncacheable_key_is_remembered_so_requests_are_not_serialised(cached, origin):
    target = f"/size/10?delay=300&{hdr('Cache-Control', 'private')}"
    http_get(cached.port, target)
    # Known uncacheable now: concurrent requests go to the origin at once, side by side.
    with cf.ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda _: http_get(cached.port, target), range(5)))
    assert all(r.status == 200 for r in results)
    assert origin.request_count == 6
    # Side by side: every request reached the origin before the first one was answered (the
    # origin holds each answer 300 ms); behind one another, each would wait for the previous.
    arrivals = sorted(r.received_at for r in origin.requests[1:])
    assert arrivals[-1] - arrivals[0] < 0.3, "requests waited behind one another"


def test_fill_continues_for_a_remaining_reader_when_the_first_leaves(cached, origin):
    target = f"/slow?size={4 * MiB}&rate={8 * MiB}&{hdr('Cache-Control', 'max-age=60')}"
    first = RawConn(cached.port)
    first.send(build_request("GET", target))
    assert first.read_head().status == 200
    with RawConn(cached.port) as second:
        second.send(build_request("GET", target))
        h = second.read_head()
        first.close()  # the client that started the fill leaves
        got = bytearray()
        second.stream_body(h, got.extend)
        assert bytes(got) == pattern(4 * MiB)
    assert origin.request_count == 1
    time.sleep(0.2)
    assert "hit" in http_get(cached.port, target).header("cache-status")
    assert origin.request_count == 1


def test_fill_finishes_a_small_object_nobody_reads_any_more(cached, origin):
    target = f"/slow?size={2 * MiB}&rate={8 * MiB}&{hdr('Cache-Control', 'max-age=60')}"
    with RawConn(cached.port) as c:
        c.send(build_request("GET", target))
        assert c.read_head().status == 200
    time.sleep(0.6)  # the origin needs 0.25 s for the rest
    r = http_get(cached.port, target)
    assert r.body == pattern(2 * MiB) and "hit" in r.header("cache-status")
    assert origin.request_count == 1


def test_fill_stops_for_a_large_object_nobody_reads(stavka, origin):
    p = stavka(origins=[origin], config={"cache": {"fill_continue_max": "1MiB"}})
    target = f"/slow?size={8 * MiB}&rate={2 * MiB}&{hdr('Cache-Control', 'max-age=60')}"
    with RawConn(p.port) as c:
        c.send(build_request("GET", target))
        assert c.read_head().status == 200
    assert origin.wait_for_requests(1)
    assert origin.requests[0].peer_closed.wait(5), "the origin request went on"
    r = http_get(p.port, target, timeout=15)
    assert r.body == pattern(8 * MiB) and "hit" not in r.header("cache-status")
    assert origin.request_count == 2


def test_a_stalled_follower_does_not_slow_the_fill_or_the_others(cached, origin):
    size = 8 * MiB
    target = f"/slow?size={size}&rate={16 * MiB}&{hdr('Cache-Control', 'max-age=60')}"
    stalled = socket.create_connection(("127.0.0.1", cached.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(build_request("GET", target))  # and never reads
    try:
        time.sleep(0.05)
        # Paced by the stalled reader, this would never end (it holds the socket full and
        # never reads): completing at all shows the fill ran at the origin's pace.
        r = http_get(cached.port, target, timeout=15)
        assert r.body == pattern(size)
        assert origin.request_count == 1
        time.sleep(0.2)
        assert "hit" in http_get(cached.port, target).header("cache-status")
        assert origin.request_count == 1
    finally:
        stalled.close()
