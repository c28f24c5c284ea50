"""Admin listener: /healthz, and /metrics counters matching what the origin and the client saw."""

import time

import pytest

from harness import RawConn, build_request, free_port, http_get, wait_until


def metrics(port: int) -> dict[str, float]:
    """Samples by name summed over labels, and by name with labels as written
    (e.g. 'stavka_cache_objects{tier="memory"}')."""
    r = http_get(port, "/metrics")
    assert r.status == 200
    out: dict[str, float] = {}
    for line in r.body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        name_part, value = line.rsplit(" ", 1)
        name = name_part.split("{", 1)[0]
        out[name] = out.get(name, 0) + float(value)
        if name_part != name:
            out[name_part] = float(value)
    return out


def wait_metrics(port: int, expected: dict[str, float], timeout: float = 3.0) -> dict[str, float]:
    m: dict[str, float] = {}

    def ok():
        nonlocal m
        m = metrics(port)
        return all(m.get(k) == v for k, v in expected.items())

    wait_until(ok, timeout, 0.1)
    return m


def test_healthz(stavka, origin):
    p = stavka(origins=[origin], admin=True)
    r = http_get(p.admin_port, "/healthz")
    assert r.status == 200
    assert r.body.strip() == b"ok"
    assert origin.connections == 0


def test_metrics_count_requests_and_rejections(stavka, origin):
    p = stavka(sites=[{"name": "a", "hosts": ["a.test"], "origins": [origin]}], admin=True)
    with RawConn(p.port) as c:
        for i in range(3):
            assert c.request("GET", f"/echo?i={i}", host="a.test").status == 200
    with RawConn(p.port) as c:
        c.send(b"GET /echo HTTP/1.1\r\nHost: a.test\r\nX-Folded: a\r\n b\r\n\r\n")
        assert c.read_response().status == 400
    assert p.get("/echo", host="nobody.test").status == 421
    expected = {
        "stavka_responses_2xx_total": 3,
        "stavka_responses_4xx_total": 2,
        "stavka_malformed_requests_total": 1,
        "stavka_misdirected_requests_total": 1,
        "stavka_origin_requests_total": 3,
        "stavka_origin_connections_total": 1,
        "stavka_origin_connections_reused_total": 2,
    }
    m = wait_metrics(p.admin_port, expected)
    got = {k: m.get(k) for k in expected}
    assert got == expected, f"metrics {got} != {expected} (origin saw {origin.request_count} requests " \
                            f"on {origin.connections} connections)"
    assert m.get("stavka_requests_total", 0) >= 4
    assert m.get("stavka_client_connections_total", 0) >= 3
    assert m.get("stavka_client_bytes_sent_total", 0) > 0
    assert origin.request_count == 3 and origin.connections == 1


def test_metrics_count_connect_failures_and_retries(stavka, origin):
    dead = f"http://127.0.0.1:{free_port()}"
    p = stavka(sites=[{"name": "s", "hosts": ["*"], "origins": [dead, origin]}], workers=1, admin=True)
    for i in range(4):
        assert p.get(f"/echo?i={i}").status == 200
    m = metrics(p.admin_port)
    assert m.get("stavka_origin_connect_failures_total", 0) >= 1, m
    assert m.get("stavka_origin_retries_total", 0) >= 1, m
    assert origin.request_count == 4


def test_metrics_report_cache_tiers_and_time_to_first_byte(stavka, origin):
    p = stavka(origins=[origin], workers=2, admin=True)
    target = "/size/5000?hdr=Cache-Control:max-age=60"
    assert p.get(target).status == 200          # a fill
    for _ in range(3):
        assert "hit" in p.get(target).header("cache-status")
    assert p.get("/size/10?plain=1").status == 200  # relayed: no freshness, no validator
    m = wait_metrics(p.admin_port, {
        'stavka_time_to_first_byte_seconds_count{source="fill"}': 1,
        'stavka_time_to_first_byte_seconds_count{source="cache"}': 3,
    })
    assert m['stavka_time_to_first_byte_seconds_count{source="fill"}'] == 1, m
    assert m['stavka_time_to_first_byte_seconds_count{source="cache"}'] == 3, m
    assert m['stavka_time_to_first_byte_seconds_bucket{source="cache",le="+Inf"}'] == 3
    assert m['stavka_time_to_first_byte_seconds_count{source="origin"}'] >= 1
    assert m['stavka_time_to_first_byte_seconds_sum{source="cache"}'] > 0
    assert m['stavka_cache_objects{tier="memory"}'] == 1
    assert m['stavka_cache_bytes{tier="memory"}'] >= 5000
    assert m['stavka_cache_capacity_bytes{tier="memory"}'] == 256 * 1024 * 1024
    assert m['stavka_cache_evictions_total{tier="memory"}'] == 0
    assert m["stavka_cache_hits_total"] == 3 and m["stavka_cache_stored_total"] == 1
    assert origin.request_count == 2


def test_memory_tier_evictions_are_counted(stavka, origin):
    p = stavka(origins=[origin], workers=1, admin=True, config={"cache": {"memory": "1MiB"}})
    for i in range(12):
        assert p.get(f"/size/200000?i={i}&hdr=Cache-Control:max-age=60").status == 200
    m = metrics(p.admin_port)
    assert m['stavka_cache_evictions_total{tier="memory"}'] >= 1, m
    assert m['stavka_cache_bytes{tier="memory"}'] <= 1024 * 1024
    assert m['stavka_cache_objects{tier="memory"}'] < 12
