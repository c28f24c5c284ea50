"""The cache stage against a real origin: what is stored, what is served, and how many requests
reach the origin (the recording origin counts them).

Objects are made cacheable or not through the origin's hdr= parameter (a response field), so
each test names exactly the Cache-Control it exercises. Every key is unique per test (the query
is part of the cache key), and stavka runs with two workers, so hits and collapsed requests
cross workers too."""

import concurrent.futures as cf
import time

import pytest

from harness import MiB, RawConn, build_request, http_get, http_request, pattern


def cc(value: str) -> str:
    return "hdr=Cache-Control:" + value.replace(" ", "%20")


@pytest.fixture
def cached(stavka, origin):
    return stavka(origins=[origin], config={"log": {"access": "off"}})


def test_fresh_response_is_stored_and_served_as_hit(cached, origin):
    target = f"/size/5000?{cc('max-age=60')}"
    first = http_get(cached.port, target)
    assert first.status == 200 and first.body == pattern(5000)
    assert "fwd=uri-miss" in first.header("cache-status")
    assert "stored" in first.header("cache-status")
    second = http_get(cached.port, target)
    assert second.status == 200 and second.body == pattern(5000)
    assert second.header("cache-status").startswith("stavka; hit; ttl=")
    assert second.header("age") is not None and int(second.header("age")) >= 0
    assert second.header("content-length") == "5000"
    assert second.header("x-origin") == "A"
    assert origin.request_count == 1


def test_hits_from_many_connections_reach_the_origin_once(cached, origin):
    target = f"/size/{300 * 1024}?{cc('max-age=60')}"
    assert http_get(cached.port, target).status == 200
    for _ in range(20):
        r = http_get(cached.port, target)
        assert r.status == 200 and r.body == pattern(300 * 1024)
    assert origin.request_count == 1


def test_no_store_is_never_stored(cached, origin):
    target = f"/size/100?{cc('no-store, max-age=60')}"
    for _ in range(3):
        r = http_get(cached.port, target)
        assert r.status == 200 and "hit" not in r.header("cache-status")
    assert origin.request_count == 3


def test_private_is_not_stored_by_a_shared_cache(cached, origin):
    target = f"/size/100?{cc('private, max-age=60')}"
    for _ in range(2):
        assert http_get(cached.port, target).status == 200
    assert origin.request_count == 2


def test_response_without_freshness_or_validator_is_fetched_each_time(cached, origin):
    for _ in range(3):
        assert http_get(cached.port, "/size/100?plain=1").status == 200
    assert origin.request_count == 3


def test_expired_object_is_fetched_again(cached, origin):
    target = f"/size/100?{cc('max-age=1')}"
    assert http_get(cached.port, target).status == 200
    assert "hit" in http_get(cached.port, target).header("cache-status")
    time.sleep(2.1)
    r = http_get(cached.port, target)
    assert "fwd=stale" in r.header("cache-status")
    assert origin.request_count == 2


def test_client_no_cache_goes_to_the_origin(cached, origin):
    target = f"/size/100?{cc('max-age=60')}"
    assert http_get(cached.port, target).status == 200
    r = http_get(cached.port, target, headers=[("Cache-Control", "no-cache")])
    assert "fwd=request" in r.header("cache-status")
    assert origin.request_count == 2


def test_only_if_cached_miss_is_504_without_origin_contact(cached, origin):
    r = http_get(cached.port, "/size/10?x=1", headers=[("Cache-Control", "only-if-cached")])
    assert r.status == 504
    assert origin.request_count == 0


def test_head_is_answered_from_a_stored_get(cached, origin):
    target = f"/size/2048?{cc('max-age=60')}"
    assert http_get(cached.port, target).status == 200
    r = http_request(cached.port, "HEAD", target)
    assert r.status == 200 and r.body == b""
    assert r.header("content-length") == "2048"
    assert "hit" in r.header("cache-status")
    assert origin.request_count == 1


def test_if_none_match_on_a_fresh_object_gets_304_from_the_cache(cached, origin):
    target = f"/size/100?{cc('max-age=60')}&hdr=ETag:%22v1%22"
    assert http_get(cached.port, target).status == 200
    r = http_get(cached.port, target, headers=[("If-None-Match", '"v1"')])
    assert r.status == 304 and r.body == b""
    assert r.header("etag") == '"v1"'
    r = http_get(cached.port, target, headers=[("If-None-Match", '"v2"')])
    assert r.status == 200 and r.body == pattern(100)
    assert origin.request_count == 1


def test_vary_keeps_one_variant_per_field_value(cached, origin):
    target = f"/size/100?{cc('max-age=60')}&hdr=Vary:X-Lang"
    for lang in ["en", "fr", "en", "fr", "de"]:
        assert http_get(cached.port, target, headers=[("X-Lang", lang)]).status == 200
    assert origin.request_count == 3


def test_unsafe_method_invalidates_the_target(cached, origin):
    target = f"/size/100?{cc('max-age=60')}"
    assert http_get(cached.port, target).status == 200
    assert "hit" in http_get(cached.port, target).header("cache-status")
    assert http_request(cached.port, "POST", target, body=b"x").status == 200
    r = http_get(cached.port, target)
    assert "hit" not in r.header("cache-status")
    assert origin.request_count == 3


def test_collapsed_forwarding_sends_one_request(cached, origin):
    target = f"/size/{2 * MiB}?delay=500&{cc('max-age=60')}"

    def fetch(_):
        return http_get(cached.port, target, timeout=15)

    with cf.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(fetch, range(20)))
    assert all(r.status == 200 and r.body == pattern(2 * MiB) for r in results)
    assert origin.request_count == 1
    statuses = [r.header("cache-status") for r in results]
    assert sum("collapsed" in s for s in statuses) >= 1
    assert sum("stored" in s for s in statuses) == 1


def test_uncacheable_answer_sends_waiting_followers_to_the_origin(cached, origin):
    target = f"/size/1000?delay=400&{cc('private')}"

    def fetch(_):
        return http_get(cached.port, target, timeout=15)

    with cf.ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(fetch, range(5)))
    assert all(r.status == 200 and r.body == pattern(1000) for r in results)
    assert origin.request_count == 5


def test_miss_streams_before_the_origin_finishes(cached, origin):
    target = f"/gate?name=g1&{cc('max-age=60')}"
    with RawConn(cached.port) as c:
        c.send(build_request("GET", target))
        assert c.wait_for_bytes(b"first-chunk", timeout=5), "first bytes held back by the fill"
        # A second client joins the fill in progress and gets the bytes so far at once.
        with RawConn(cached.port) as c2:
            c2.send(build_request("GET", target))
            assert c2.wait_for_bytes(b"first-chunk", timeout=5)
            origin.gates["g1"].set()
            assert c.wait_for_bytes(b"second-chunk", timeout=5)
            assert c2.wait_for_bytes(b"second-chunk", timeout=5)
    assert origin.request_count == 1
    r = http_get(cached.port, target)
    assert r.body == b"first-chunk\nsecond-chunk\n"
    assert "hit" in r.header("cache-status")
    assert origin.request_count == 1


def test_origin_failure_mid_body_truncates_and_stores_nothing(cached, origin):
    target = f"/close-mid-body?size=100000&sent=5000&{cc('max-age=60')}"
    with RawConn(cached.port) as c:
        c.send(build_request("GET", target))
        h = c.read_head()
        assert h.status == 200 and h.header("content-length") == "100000"
        got = bytearray()
        with pytest.raises(Exception):
            c.stream_body(h, got.extend)
        assert len(got) < 100000
    with RawConn(cached.port) as c:
        c.send(build_request("GET", target))
        assert c.read_head().status == 200
    assert origin.request_count == 2


def test_cache_false_site_bypasses(stavka, origin):
    p = stavka(sites=[{"name": "s", "hosts": ["*"], "origins": [origin], "cache": False}])
    target = f"/size/10?{cc('max-age=60')}"
    for _ in range(2):
        r = http_get(p.port, target)
        assert r.header("cache-status") == "stavka; fwd=bypass"
    assert origin.request_count == 2


def test_bypass_cache_status_names_the_configured_cache_after_a_reload(stavka, origin):
    p = stavka(sites=[{"name": "s", "hosts": ["*"], "origins": [origin], "cache": False}],
               config={"via_name": "edge-7"})
    assert http_get(p.port, "/size/10").header("cache-status") == "edge-7; fwd=bypass"
    text = p.config_path.read_text()
    assert '"edge-7"' in text
    p.reload(text.replace('"edge-7"', '"edge-8"'))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = http_get(p.port, "/size/10").header("cache-status")
        if status != "edge-7; fwd=bypass":
            break
        time.sleep(0.05)
    assert status == "edge-8; fwd=bypass"


def test_cache_key_can_ignore_the_query(stavka, origin):
    p = stavka(sites=[{"name": "s", "hosts": ["*"], "origins": [origin],
                       "cache_ignore_query": True}])
    assert http_get(p.port, f"/size/10?{cc('max-age=60')}&a=1").status == 200
    r = http_get(p.port, f"/size/10?{cc('max-age=60')}&a=2")
    assert "hit" in r.header("cache-status")
    assert origin.request_count == 1


def test_cache_key_headers_split_the_key(stavka, origin):
    p = stavka(sites=[{"name": "s", "hosts": ["*"], "origins": [origin],
                       "cache_key_headers": ["X-Device"]}])
    target = f"/size/10?{cc('max-age=60')}"
    for device in ["phone", "desk", "phone"]:
        assert http_get(p.port, target, headers=[("X-Device", device)]).status == 200
    assert origin.request_count == 2


def test_unsafe_method_invalidates_a_same_host_location(cached, origin):
    other = f"/size/100?{cc('max-age=60')}&other=1"
    assert http_get(cached.port, other).status == 200
    assert "hit" in http_get(cached.port, other).header("cache-status")
    loc = other.replace("%20", "%2520").replace("&", "%26").replace("?", "%3F")
    r = http_request(cached.port, "POST", f"/echo?hdr=Location:{loc}", body=b"x")
    assert r.status == 200 and r.header("location") == other
    assert "hit" not in http_get(cached.port, other).header("cache-status")
    assert origin.request_count == 3


def test_an_upstream_cache_status_is_kept_and_ours_appended(cached, origin):
    target = f"/size/10?{cc('max-age=60')}&hdr=Cache-Status:edge-origin;%20hit"
    first = http_get(cached.port, target)
    assert first.header("cache-status").startswith("edge-origin; hit, stavka; fwd=uri-miss")
    second = http_get(cached.port, target)
    assert second.header("cache-status").startswith("edge-origin; hit, stavka; hit")


def test_access_log_has_the_cache_status(stavka, origin):
    p = stavka(origins=[origin])
    target = f"/size/10?{cc('max-age=60')}"
    http_get(p.port, target)
    http_get(p.port, target)
    lines = p.wait_stdout(lambda l: "/size/10" in l, count=2)
    assert "fwd=uri-miss" in lines[0] and "stored" in lines[0]
    assert "stavka; hit" in lines[1]
