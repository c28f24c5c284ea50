"""Sites: exact and wildcard host matching, the default site, 421 for hosts no site claims,
absolute-form targets, several listeners."""

import pytest

from harness import RawConn, free_port, http_get, wait_for_port


@pytest.fixture
def two_sites(stavka, origin_factory):
    a = origin_factory("A")
    b = origin_factory("B")
    p = stavka(sites=[
        {"name": "site-a", "hosts": ["a.test", "alias.a.test"], "origins": [a]},
        {"name": "wild", "hosts": ["*.example.com"], "origins": [b]},
    ])
    return p, a, b


@pytest.mark.parametrize("host", ["a.test", "alias.a.test", "A.TEST", "a.test:8080"])
def test_exact_host_routes_to_site(two_sites, host):
    p, a, b = two_sites
    r = p.get("/echo", host=host)
    assert r.status == 200
    assert r.header("X-Origin") == "A"
    assert (a.request_count, b.request_count) == (1, 0)


@pytest.mark.parametrize("host", ["x.example.com", "deep.sub.example.com", "X.Example.COM:81"])
def test_wildcard_host_matches_subdomains(two_sites, host):
    p, a, b = two_sites
    r = p.get("/echo", host=host)
    assert r.status == 200
    assert r.header("X-Origin") == "B"
    assert (a.request_count, b.request_count) == (0, 1)


@pytest.mark.parametrize("host", ["example.com", "unknown.test", "b.a.test", "a.test.evil", "xexample.com"])
def test_unclaimed_host_421_origin_never_contacted(two_sites, host):
    p, a, b = two_sites
    r = p.get("/echo", host=host)
    assert r.status == 421
    assert a.connections == 0 and b.connections == 0
    assert a.request_count == 0 and b.request_count == 0


def test_absolute_form_other_host_421(two_sites):
    p, a, b = two_sites
    with RawConn(p.port) as c:
        c.send(b"GET http://other.example/ HTTP/1.1\r\nHost: a.test\r\n\r\n")
        r = c.read_response()
        assert r.status == 421
    assert a.connections == 0 and b.connections == 0


def test_absolute_form_matching_host_forwarded_in_origin_form(two_sites):
    p, a, b = two_sites
    with RawConn(p.port) as c:
        c.send(b"GET http://a.test/echo?q=1 HTTP/1.1\r\nHost: a.test\r\n\r\n")
        r = c.read_response()
        assert r.status == 200
        assert r.header("X-Origin") == "A"
    req = a.last()
    assert req.target == "/echo?q=1", "absolute-form target must reach the origin in origin-form"
    assert req.header("host") == "a.test"


def test_421_keeps_routing_per_request_on_one_connection(two_sites):
    """Routing is per request: one keep-alive connection can address several sites."""
    p, a, b = two_sites
    with RawConn(p.port) as c:
        r1 = c.request("GET", "/echo", host="a.test")
        r2 = c.request("GET", "/echo", host="x.example.com")
        assert (r1.status, r1.header("X-Origin")) == (200, "A")
        assert (r2.status, r2.header("X-Origin")) == (200, "B")
        r3 = c.request("GET", "/echo", host="nobody.test")
        assert r3.status == 421
    assert (a.request_count, b.request_count) == (1, 1)


def test_default_site_catches_other_hosts(stavka, origin_factory):
    a = origin_factory("A")
    d = origin_factory("D")
    p = stavka(sites=[
        {"name": "site-a", "hosts": ["a.test"], "origins": [a]},
        {"name": "default", "hosts": ["*"], "origins": [d]},
    ])
    assert p.get("/echo", host="a.test").header("X-Origin") == "A"
    assert p.get("/echo", host="anything.else").header("X-Origin") == "D"
    assert p.get("/echo", host="127.0.0.1").header("X-Origin") == "D"
    assert (a.request_count, d.request_count) == (1, 2)


def test_several_listeners(stavka, origin):
    p1 = free_port()
    p2 = free_port()
    while p2 == p1:
        p2 = free_port()
    p = stavka(origins=[origin], port=p1,
               config={"listen": [f"127.0.0.1:{p1}", f"127.0.0.1:{p2}"]})
    wait_for_port(p2, 5)
    assert http_get(p1, "/echo?l=1").status == 200
    assert http_get(p2, "/echo?l=2").status == 200
    assert [q.target for q in origin.requests] == ["/echo?l=1", "/echo?l=2"]
