"""What the proxy adds, keeps and removes between client and origin: Via, X-Forwarded-*,
Host, hop-by-hop fields in both directions, targets and end-to-end fields untouched."""

import urllib.parse

import pytest

from harness import RawConn, build_request


def with_response_headers(path: str, headers: list[tuple[str, str]], **params) -> str:
    q = [("hdr", f"{k}:{v}") for k, v in headers] + list(params.items())
    return path + "?" + urllib.parse.urlencode(q)


# -- Via ------------------------------------------------------------------------------------


def test_via_added_to_request(proxy, origin):
    assert proxy.get("/echo").status == 200
    assert origin.last().header_all("via") == ["1.1 stavka"]


def test_via_appended_to_client_via(proxy, origin):
    assert proxy.get("/echo", headers=[("Via", "1.0 fred, 1.1 p.example.net")]).status == 200
    assert origin.last().header("via") == "1.0 fred, 1.1 p.example.net, 1.1 stavka"


def test_via_added_to_response(proxy, origin):
    r = proxy.get("/echo")
    assert r.status == 200
    assert r.header_all("via") == ["1.1 stavka"]


def test_via_appended_to_origin_response_via(proxy, origin):
    r = proxy.get(with_response_headers("/echo", [("Via", "1.1 upstream-cache")]))
    assert r.status == 200
    assert r.header("via") == "1.1 upstream-cache, 1.1 stavka"


def test_via_name_from_config(stavka, origin):
    p = stavka(origins=[origin], config={"via_name": "edge-7"})
    r = p.get("/echo")
    assert r.status == 200
    assert r.header("via") == "1.1 edge-7"
    assert origin.last().header("via") == "1.1 edge-7"


# -- X-Forwarded-* ------------------------------------------------------------------------------


def test_x_forwarded_for_set(proxy, origin):
    assert proxy.get("/echo").status == 200
    assert origin.last().header_all("x-forwarded-for") == ["127.0.0.1"]


@pytest.mark.parametrize("existing, expected", [
    ("1.2.3.4", "1.2.3.4, 127.0.0.1"),
    ("1.2.3.4, 5.6.7.8", "1.2.3.4, 5.6.7.8, 127.0.0.1"),
])
def test_x_forwarded_for_appended(proxy, origin, existing, expected):
    assert proxy.get("/echo", headers=[("X-Forwarded-For", existing)]).status == 200
    assert origin.last().header("x-forwarded-for") == expected


def test_x_forwarded_proto_and_host(proxy, origin):
    assert proxy.get("/echo", host="www.example.test").status == 200
    req = origin.last()
    assert req.header_all("x-forwarded-proto") == ["http"]
    assert req.header_all("x-forwarded-host") == ["www.example.test"]


def test_host_forwarded_unchanged_by_default(proxy, origin):
    assert proxy.get("/echo", host="Site.Example.test:8080").status == 200
    assert origin.last().header_all("host") == ["Site.Example.test:8080"]


def test_origin_host_overrides_host(stavka, origin):
    p = stavka(sites=[{"name": "s", "hosts": ["*"], "origins": [origin],
                       "origin_host": "backend.internal"}])
    assert p.get("/echo", host="public.example.test").status == 200
    req = origin.last()
    assert req.header_all("host") == ["backend.internal"]
    assert req.header_all("x-forwarded-host") == ["public.example.test"]


# -- hop-by-hop ---------------------------------------------------------------------------------


def test_hop_by_hop_request_fields_removed(proxy, origin):
    r = proxy.get("/echo", headers=[
        ("Connection", "keep-alive, X-Hop-One"),
        ("Connection", "X-Hop-Two"),
        ("X-Hop-One", "1"),
        ("X-Hop-Two", "2"),
        ("Keep-Alive", "timeout=99"),
        ("TE", "trailers, deflate;q=0.5"),
        ("Trailer", "X-Whatever"),
        ("Upgrade", "example/1"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ("Proxy-Connection", "keep-alive"),
        ("X-End", "kept"),
        ("Authorization", "Bearer tok"),
        ("Cookie", "a=1; b=2"),
    ])
    assert r.status == 200
    req = origin.last()
    names = req.header_names()
    for gone in ("x-hop-one", "x-hop-two", "keep-alive", "trailer", "upgrade",
                 "proxy-authorization", "proxy-connection", "transfer-encoding"):
        assert gone not in names, f"hop-by-hop field {gone} reached the origin: {req.headers}"
    conn = (req.header("connection") or "").lower()
    assert "x-hop" not in conn, f"client's Connection reached the origin: {conn}"
    assert "deflate" not in (req.header("te") or ""), "client's TE reached the origin"
    assert req.header("x-end") == "kept"
    assert req.header("authorization") == "Bearer tok"
    assert req.header("cookie") == "a=1; b=2"


def test_connection_close_from_client_not_forwarded_but_honoured(proxy, origin):
    with RawConn(proxy.port) as c:
        r = c.request("GET", "/echo", headers=[("Connection", "close, X-Hop-Three"),
                                               ("X-Hop-Three", "3")])
        assert r.status == 200
        assert c.wait_closed(3)
    assert "x-hop-three" not in origin.last().header_names()


def test_hop_by_hop_response_fields_removed(proxy, origin):
    path = with_response_headers("/echo", [
        ("Connection", "X-Resp-Hop"),
        ("X-Resp-Hop", "1"),
        ("Keep-Alive", "timeout=77"),
        ("Proxy-Foo", "bar"),
        ("Proxy-Authenticate", "Basic realm=x"),
        ("Upgrade", "example/2"),
        ("Trailer", "X-Nothing"),
        ("TE", "trailers"),
        ("X-End-Resp", "kept"),
    ])
    with RawConn(proxy.port) as c:
        r = c.request("GET", path)
        assert r.status == 200
        names = r.header_names()
        for gone in ("x-resp-hop", "proxy-foo", "proxy-authenticate", "upgrade", "trailer", "te"):
            assert gone not in names, f"hop-by-hop field {gone} reached the client: {r.headers}"
        assert "timeout=77" not in (r.header("keep-alive") or ""), "origin's Keep-Alive reached the client"
        assert "x-resp-hop" not in (r.header("connection") or "").lower()
        assert r.header("x-end-resp") == "kept"
        # The origin's Connection field did not make the proxy close the client connection.
        assert c.request("GET", "/echo?again=1").status == 200


def test_origin_connection_close_does_not_close_client(proxy, origin):
    with RawConn(proxy.port) as c:
        r = c.request("GET", "/echo?close=1")
        assert r.status == 200
        assert "close" not in (r.header("connection") or "").lower()
        r2 = c.request("GET", "/echo?n=2")
        assert r2.status == 200 and r2.json()["target"] == "/echo?n=2"
    assert origin.connections == 2


# -- end-to-end data untouched ----------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "/a%20b/c?x=1&y=%2F&z",
    "/path/with/../dots/./x",
    "/%7Euser/index.html?q=caf%C3%A9&empty=",
    "/echo;matrix=1?a=b#not-sent",
])
def test_request_target_forwarded_verbatim(proxy, origin, target):
    target = target.split("#")[0]
    assert proxy.get(target).status == 200
    assert origin.last().target == target


def test_repeated_request_fields_kept_in_order(proxy, origin):
    assert proxy.get("/echo", headers=[("X-Multi", "a"), ("X-Other", "o"), ("X-Multi", "b")]).status == 200
    assert origin.last().header_all("x-multi") == ["a", "b"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_methods_forwarded(proxy, origin, method):
    body = b"payload" if method in ("POST", "PUT", "PATCH") else None
    r = proxy.request(method, "/echo", body=body)
    assert r.status == 200
    req = origin.last()
    assert req.method == method
    if body:
        assert bytes(req.body) == body


def test_request_field_values_preserved(proxy, origin):
    value = "text/html;q=0.9, application/json ; charset=\"utf-8\""
    assert proxy.get("/echo", headers=[("Accept", value), ("User-Agent", "t/1.0 (x; y)")]).status == 200
    req = origin.last()
    assert req.header("accept") == value
    assert req.header("user-agent") == "t/1.0 (x; y)"
