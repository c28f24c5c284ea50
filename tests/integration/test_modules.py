"""Proxy-Wasm modules run by the real binary: the SDK examples built by scripts/modules.sh (into
build/modules, or $STAVKA_MODULES), on requests that reach a real origin. Each test asserts what
the client got and what reached the origin."""

import os
import time
from pathlib import Path

import pytest

from harness import http_get

REPO = Path(__file__).resolve().parents[2]
MODULES = Path(os.environ.get("STAVKA_MODULES", REPO / "build" / "modules"))
CC = "hdr=Cache-Control:max-age=3600"


def module(name: str) -> str:
    path = MODULES / f"{name}.wasm"
    if not path.is_file():
        pytest.fail(f"{path} not found: run scripts/modules.sh", pytrace=False)
    return str(path)


def start(stavka, origin, modules, site_modules=None, workers=1):
    site = {"name": "s", "hosts": ["*"], "origins": [origin],
            "modules": site_modules or [m["name"] for m in modules]}
    return stavka(sites=[site], workers=workers, admin=True,
                  config={"log": {"access": "off"}, "module": modules})


def test_add_header_on_miss_and_hit(stavka, origin):
    p = start(stavka, origin, [{"name": "hdr", "file": module("add_header"),
                                "configuration": "X-Edge: wasm"}])
    miss = p.get(f"/echo?{CC}")
    hit = p.get(f"/echo?{CC}")
    assert miss.status == 200 and hit.status == 200
    assert miss.header("x-edge") == "wasm"
    assert hit.header("x-edge") == "wasm"
    assert "hit" in hit.header("cache-status")
    assert origin.request_count == 1
    assert hit.body == miss.body


def test_add_header_on_range_and_multipart_hits(stavka, origin):
    p = start(stavka, origin, [{"name": "hdr", "file": module("add_header"),
                                "configuration": "X-Edge: wasm"}])
    target = f"/size/5000?{CC}"
    whole = p.get(target)
    one = p.get(target, headers=[("Range", "bytes=100-199")])
    two = p.get(target, headers=[("Range", "bytes=0-9,4990-4999")])
    assert origin.request_count == 1
    assert one.status == 206 and one.body == whole.body[100:200]
    assert one.header("content-range") == "bytes 100-199/5000"
    assert two.status == 206 and two.header("content-type").startswith("multipart/byteranges")
    assert int(two.header("content-length")) == len(two.body)
    for r in (whole, one, two):
        assert r.header("x-edge") == "wasm"
        assert "hit" in r.header("cache-status") or r is whole


def fields_module(name: str, *ops: str) -> dict:
    return {"name": name, "file": module("response_fields"), "configuration": "\n".join(ops)}


def names_sent(r) -> list[str]:
    return [k.lower() for k, _ in r.headers if k.lower() not in ("content-length", "connection")]


@pytest.mark.parametrize("ranges", [None, "bytes=100-199", "bytes=0-9,4990-4999"])
def test_a_hit_head_looks_the_same_to_modules_as_any_other(stavka, origin, ranges):
    # A hit's head is bytes until a module does more than add fields. Two modules: `late`
    # (runs first in the response phase, being last in the site's list) adds a field, then
    # `early` reads every field: it must see the stored fields, those of the hit, and the
    # added one, and num_headers must count them all, as the client gets them.
    p = start(stavka, origin, [fields_module("early", "report"),
                               fields_module("late", "add x-late yes")])
    target = f"/size/5000?{CC}&hdr=X-Origin-Field:kept"
    headers = [("Range", ranges)] if ranges else []
    p.get(target)
    hit = p.get(target, headers=headers)
    assert "hit" in hit.header("cache-status")
    assert hit.status == (206 if ranges else 200)
    names = hit.header("x-report-names").split(",")
    assert names == [n for n in names_sent(hit) if not n.startswith("x-report-")], \
        "the module sees the fields the client gets, in their order"
    assert "x-origin-field" in names and names[-1] == "x-late"
    for n in ("x-origin", "cache-control", "age", "cache-status", "via"):
        assert n in names
    assert int(hit.header("x-report-pairs")) == len(names) + 1  # and :status
    # num_headers for `early`: every field then (`late`'s too) and :status.
    assert int(hit.header("x-report-count")) == len(names) + 1
    assert int(hit.header("content-length")) == len(hit.body)
    assert origin.request_count == 1


def test_a_module_changing_a_hit_head_gets_what_it_changed(stavka, origin):
    p = start(stavka, origin, [fields_module(
        "m", "add x-added 1", "replace cache-control private, max-age=5", "remove x-origin",
        "replace :status 203", "add x-added 2")])
    target = f"/size/3000?{CC}&hdr=X-Origin-Field:kept"
    miss = p.get(target)
    hit = p.get(target)
    for r in (miss, hit):
        assert r.status == 203, r
        assert r.header_all("cache-control") == ["private, max-age=5"]
        assert r.header("x-origin") is None
        assert r.header_all("x-added") == ["1", "2"]
        assert r.header("x-origin-field") == "kept"
        assert len(r.body) == 3000 and int(r.header("content-length")) == 3000
    assert "hit" in hit.header("cache-status")
    assert origin.request_count == 1
    again = p.get(target, headers=[("Range", "bytes=0-99")])
    assert again.status == 203 and len(again.body) == 100  # the module's status wins
    assert again.header("content-range") == "bytes 0-99/3000"


def test_a_hit_with_an_added_field_is_the_hit_without_modules_plus_that_field(stavka, origin):
    target = f"/size/2000?{CC}"
    plain = stavka(sites=[{"name": "s", "hosts": ["*"], "origins": [origin]}], workers=1)
    plain.get(target)
    without = plain.get(target)
    p = start(stavka, origin, [fields_module("m", "add x-added yes")])
    p.get(target)
    with_module = p.get(target)
    def comparable(r):
        return [(k.lower(), v) for k, v in r.headers if k.lower() not in ("date", "age")]
    assert comparable(with_module) == comparable(without) + [("x-added", "yes")]
    assert with_module.body == without.body


def test_c_module_adds_its_header(stavka, origin):
    p = start(stavka, origin, [{"name": "c", "file": module("add_header_c"),
                                "configuration": "X-From-C: yes"}])
    r = p.get("/echo")
    assert r.status == 200
    assert r.header("x-from-c") == "yes"


def test_access_control_denies_at_the_edge(stavka, origin):
    p = start(stavka, origin, [{"name": "acl", "file": module("access_control"),
                                "configuration": "protect /private/\ntoken s3cret\ndeny /admin/"}])
    assert p.get("/private/video.mp4").status == 403
    assert p.get("/admin/").status == 403
    assert p.get("/%70rivate/video.mp4").status == 403
    assert origin.request_count == 0, "a denied request must not reach the origin"
    ok = p.get("/private/video.mp4", headers=[("Authorization", "Bearer s3cret")])
    assert ok.status == 200
    assert origin.request_count == 1
    assert p.get("/public/a").status == 200


def test_cache_key_normalisation_shares_one_object(stavka, origin):
    p = start(stavka, origin, [{"name": "policy", "file": module("cache_policy")}])
    first = p.get(f"/echo?{CC}&utm_source=news&a=1")
    second = p.get(f"/echo?{CC}&a=1&fbclid=xyz")
    assert first.status == 200 and second.status == 200
    assert origin.request_count == 1, "tracking parameters must not split the cache"
    assert "hit" in second.header("cache-status")


def test_cache_policy_ttl_overrides_the_origin_lifetime(stavka, origin):
    # no-cache: storable, but without the module every request would be revalidated.
    p = start(stavka, origin, [{"name": "policy", "file": module("cache_policy"),
                                "configuration": "ttl application/json 60"}])
    target = "/echo?hdr=Cache-Control:no-cache&hdr=ETag:%22v1%22"
    first = p.get(target)
    second = p.get(target)
    assert first.status == 200 and second.status == 200
    assert origin.request_count == 1, "the module's TTL must make the stored object fresh"
    assert "hit" in second.header("cache-status")
    assert "ttl=" in second.header("cache-status")
    ttl = int(second.header("cache-status").split("ttl=")[1].split(";")[0])
    assert 55 <= ttl <= 60
    # Kept for this cache only: clients see the origin's Cache-Control, not the module's TTL.
    for r in (first, second):
        assert r.header("stavka-cache-control") is None
        assert r.header("cache-control") == "no-cache"


def ttl_of(r) -> int:
    return int(r.header("cache-status").split("ttl=")[1].split(";")[0].split(",")[0])


def test_cache_policy_ttl_keeps_stale_allowances_and_applies_to_background_refreshes(
        stavka, origin):
    # The origin says 100 s fresh, then 60 s of stale-while-revalidate; the module says 1 s.
    p = start(stavka, origin, [{"name": "policy", "file": module("cache_policy"),
                                "configuration": "ttl application/json 1"}])
    target = "/echo?hdr=Cache-Control:max-age=100,%20stale-while-revalidate=60"
    assert p.get(target).status == 200
    hit = p.get(target)
    assert "hit" in hit.header("cache-status") and ttl_of(hit) <= 1
    time.sleep(1.5)
    # Past the module's TTL and within the origin's allowance: served stale at once, refreshed
    # in the background.
    stale = p.get(target)
    assert stale.status == 200 and "hit" in stale.header("cache-status"), stale
    wait_until(lambda: origin.request_count == 2)
    # The refresh was stored with the module's TTL, not the origin's 100 s.
    for _ in range(50):
        again = p.get(target)
        if "hit" in again.header("cache-status") and ttl_of(again) >= 0:
            break
        time.sleep(0.05)
    assert "hit" in again.header("cache-status"), again
    assert ttl_of(again) <= 1, "the background refresh must be stored with the module's TTL"
    assert origin.request_count == 2


def test_cache_policy_ttl_applies_to_block_fills(stavka, origin):
    p = start(stavka, origin, [{"name": "policy", "file": module("cache_policy"),
                                "configuration": "ttl video/ 60"}])
    target = "/ranged/100000?hdr=Cache-Control:no-cache"
    first = p.get(target, headers=[("Range", "bytes=0-99")])
    second = p.get(target, headers=[("Range", "bytes=10-19")])
    assert first.status == 206 and second.status == 206
    assert second.body == first.body[10:20]
    assert origin.request_count == 1, "the stored blocks must be fresh by the module's TTL"
    # Once the fill has stored its blocks, they are hits.
    for _ in range(50):
        third = p.get(target, headers=[("Range", "bytes=50-59")])
        if "hit" in third.header("cache-status"):
            break
        time.sleep(0.05)
    assert "hit" in third.header("cache-status")
    assert third.body == first.body[50:60]
    assert origin.request_count == 1


def test_without_a_ttl_the_origin_lifetime_stands(stavka, origin):
    # The same policy, but a type it has no rule for: no-cache keeps revalidating.
    p = start(stavka, origin, [{"name": "policy", "file": module("cache_policy"),
                                "configuration": "ttl text/html 60"}])
    target = "/echo?hdr=Cache-Control:no-cache&hdr=ETag:%22v1%22"
    p.get(target)
    p.get(target)
    assert origin.request_count == 2


def test_origin_stavka_cache_control_governs_and_is_not_forwarded(stavka, origin):
    p = stavka(sites=[{"name": "s", "hosts": ["*"], "origins": [origin]}],
               config={"log": {"access": "off"}})
    target = "/echo?hdr=Cache-Control:no-store&hdr=Stavka-Cache-Control:max-age=30"
    first = p.get(target)
    second = p.get(target)
    assert origin.request_count == 1
    assert "hit" in second.header("cache-status")
    for r in (first, second):
        assert r.header("stavka-cache-control") is None
        assert r.header("cache-control") == "no-store"


def serve_text(o, path, text, cache_control="no-store"):
    """o answers GET path with the current text[0]."""
    def handle(o, s, reader, req):
        body = text[0].encode()
        o._send_head(s, 200, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                              ("Cache-Control", cache_control)])
        o._send(s, req, body)
        return True
    o.handlers[path] = handle


def test_deny_list_refreshed_by_http_call_denies_and_purges(stavka, origin, origin_factory):
    lists = origin_factory("lists")
    text = ["# nothing private yet\n"]
    serve_text(lists, "/denylist.txt", text)
    for path in ("/videos/a.mp4", "/videos/b.mp4"):
        serve_text(origin, path, ["video bytes"], "max-age=3600")
    p = start(stavka, origin, [{
        "name": "deny", "file": module("deny_list"),
        "upstreams": {"denylist": lists.url},
        "configuration": "upstream denylist\npath /denylist.txt\nperiod 100ms\nstatus 403\n"
                         "purge_host stavka.test"}])
    target = "/videos/a.mp4"
    assert p.get(target).status == 200
    assert p.get(target).status == 200
    assert origin.request_count == 1  # cached
    wait_until(lambda: len(lists.requests) >= 2)  # refreshed on its timer

    text[0] = "/videos/a.mp4\n"
    wait_until(lambda: p.get(target).status == 403)
    assert p.get("/videos/b.mp4").status == 200, "only listed paths are refused"
    assert origin.request_count == 2

    text[0] = ""
    wait_until(lambda: p.get(target).status == 200)
    # Listing it purged the stored copy: the origin is asked again.
    assert origin.request_count == 3
    calls = [r for r in lists.requests if r.path == "/denylist.txt"]
    assert calls and all(r.method == "GET" for r in calls)
    body = http_get(p.admin_port, "/metrics").body.decode()
    calls_line = [l for l in body.splitlines()
                  if l.startswith('stavka_module_http_calls_total{module="deny"} ')]
    assert calls_line and int(calls_line[0].split()[-1]) >= 3


def wait_until(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.mark.parametrize("cached", [False, True], ids=["forwarded", "cached"])
def test_local_response_in_the_response_phase_replaces_the_response(stavka, origin, cached):
    p = start(stavka, origin, [{"name": "r", "file": module("respond_on_response")}])
    cc = CC if cached else "hdr=Cache-Control:no-store"
    target = f"/size/100000?{cc}&hdr=X-Module-Do:deny"
    for _ in range(2):  # a miss (or forwarded), then a hit (or forwarded again)
        r = p.get(target)
        assert r.status == 451
        assert r.body == b"withheld\n"
        assert r.header("x-replaced") == "1"
        assert r.header("x-origin") is None, "nothing of the replaced response is sent"
    assert origin.request_count == (1 if cached else 2)
    # The connection stays usable: the replaced body was not sent (or read, when forwarded).
    ok = p.get(f"/size/10?{cc}")
    assert ok.status == 200 and len(ok.body) == 10


def test_reset_in_the_response_phase_closes_without_an_answer(stavka, origin):
    p = start(stavka, origin, [{"name": "r", "file": module("respond_on_response")}])
    with pytest.raises(Exception):
        p.get(f"/echo?{CC}&hdr=X-Module-Do:reset")
    assert p.get("/echo?x=1").status == 200


@pytest.mark.parametrize("on_error,status", [("fail-open", 200), ("fail-closed", 503)])
def test_fault_in_the_response_phase_follows_on_error(stavka, origin, on_error, status):
    p = start(stavka, origin, [{"name": "r", "file": module("respond_on_response"),
                                "on_error": on_error}])
    r = p.get(f"/echo?{CC}&hdr=X-Module-Do:trap")
    assert r.status == status
    if status == 503:
        # A fail-closed fault on a fill also keeps the object out of the cache.
        assert p.get(f"/echo?{CC}&hdr=X-Module-Do:trap").status == 503
        assert origin.request_count == 2
    else:
        assert origin.request_count == 1


def body_module(mode, **extra):
    return {"name": "b", "file": module("body_rewrite"), "configuration": mode,
            "request_body": True, "response_body": True, **extra}


def body_calls(p):
    body = http_get(p.admin_port, "/metrics").body.decode()
    line = [l for l in body.splitlines() if l.startswith("stavka_module_metric_body_calls")]
    return int(line[0].split()[-1]) if line else 0


@pytest.mark.parametrize("path", ["/size/300000", "/chunked?count=5&size=70000"])
def test_response_body_streams_through_a_module_on_miss_and_hit(stavka, origin, path):
    p = start(stavka, origin, [body_module("upper")])
    target = f"{path}{'&' if '?' in path else '?'}{CC}"
    expected = http_get(origin.port, target).body.upper()
    assert expected != http_get(origin.port, target).body, "the body must have lower case"
    miss = p.get(target)
    hit = p.get(target)
    assert miss.status == 200 and hit.status == 200
    assert "hit" in hit.header("cache-status")
    assert miss.body == expected and hit.body == expected
    # Framed for the module (it may change the length): chunked, never the origin's length.
    for r in (miss, hit):
        assert r.header("content-length") is None
        assert r.header("transfer-encoding") == "chunked"
    assert body_calls(p) >= 3
    assert origin.request_count == 3  # two direct, one fill: the hit was served from the cache


def test_response_body_held_to_its_end_can_change_its_length(stavka, origin):
    p = start(stavka, origin, [body_module("whole")])
    for _ in range(2):  # miss, then hit
        r = p.get(f"/size/200000?{CC}")
        assert r.status == 200
        assert r.body == b"bytes=200000\n"
    ranged = p.get(f"/size/200000?{CC}", headers=[("Range", "bytes=0-99")])
    assert ranged.status == 206 and ranged.body == b"bytes=100\n"
    assert origin.request_count == 1


def test_response_body_over_the_buffer_limit_is_a_fault(stavka, origin):
    p = start(stavka, origin, [body_module("whole", body_buffer_limit="64KiB",
                                           on_error="fail-open")])
    r = p.get(f"/size/200000?{CC}")
    # fail-open: the module is dropped, the body goes on unchanged (what it held included).
    assert r.status == 200
    assert r.body == http_get(origin.port, f"/size/200000?{CC}").body
    body = http_get(p.admin_port, "/metrics").body.decode()
    assert 'stavka_module_failed_open_total{module="b"} ' in body
    assert 'stavka_module_failed_open_total{module="b"} 0' not in body


def test_request_body_goes_through_a_module(stavka, origin):
    p = start(stavka, origin, [body_module("request")])
    payload = b"hello body " * 10000
    r = p.request("POST", "/echo", body=payload)
    assert r.status == 200
    seen = origin.requests[-1]
    assert bytes(seen.body) == payload.upper()
    assert seen.framing == "chunked"


def test_trailers_go_through_modules(stavka, origin):
    # Without body callbacks, so the bodies keep their chunked framing and trailers.
    p = start(stavka, origin, [{"name": "b", "file": module("body_rewrite"),
                                "configuration": "none"}])
    # A fill streams the origin's trailers; a forwarded response too. (A hit is sent with its
    # length, without trailers.)
    for target in (f"/chunked?trailers=1&{CC}", "/chunked?trailers=1&hdr=Cache-Control:no-store"):
        r = p.get(target, headers=[("TE", "trailers")])
        assert r.status == 200
        assert r.trailer("x-module-trailer") == "response-2", r.trailers
        assert r.trailer("x-checksum") is not None
    from harness import chunked_body
    body = chunked_body([b"abc", b"def"], trailers=[("X-Client-Trailer", "1")])
    r = p.request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")], body=body)
    assert r.status == 200
    sent = dict((k.lower(), v) for k, v in origin.requests[-1].trailers)
    assert sent.get("x-module-trailer") == "request-1"
    assert sent.get("x-client-trailer") == "1"


def test_trailers_follow_a_body_that_goes_through_modules(stavka, origin):
    # The body is re-framed as chunks for the module that changes it; the origin's trailers
    # still end it, through the trailers phase.
    p = start(stavka, origin, [body_module("upper")])
    for target in (f"/chunked?trailers=1&count=3&size=1000&{CC}",
                   "/chunked?trailers=1&count=3&size=1000&hdr=Cache-Control:no-store"):
        expected = http_get(origin.port, target).body.upper()
        r = p.get(target, headers=[("TE", "trailers")])
        assert r.status == 200 and r.body == expected
        assert r.trailer("x-module-trailer") is not None, r.trailers
        assert r.trailer("x-checksum") is not None


def test_modules_without_body_callbacks_keep_the_length(stavka, origin):
    p = start(stavka, origin, [{"name": "b", "file": module("body_rewrite"),
                                "configuration": "upper"}])
    r = p.get(f"/size/5000?{CC}")
    assert r.header("content-length") == "5000"
    assert r.body != r.body.upper()
    assert body_calls(p) == 0


@pytest.mark.parametrize("kind", ["fill", "hit", "forwarded"])
def test_response_paused_for_an_http_call_then_resumed(stavka, origin, origin_factory, kind):
    check = origin_factory("check")
    serve_text(check, "/check", ["ok"])
    p = start(stavka, origin, [{"name": "r", "file": module("respond_on_response"),
                                "upstreams": {"check": check.url}}])
    cc = "hdr=Cache-Control:no-store" if kind == "forwarded" else CC
    target = f"/size/70000?{cc}&hdr=X-Module-Do:pause"
    if kind == "hit":
        p.get(target)
    r = p.get(target)
    assert r.status == 200 and len(r.body) == 70000
    assert r.header("x-check") == "200", "the module resumed the response after its call"
    assert ("hit" in r.header("cache-status")) == (kind == "hit")
    assert len([q for q in check.requests if q.path == "/check"]) == (2 if kind == "hit" else 1)


def test_response_paused_past_the_limit_gets_504(stavka, origin):
    site = {"name": "s", "hosts": ["*"], "origins": [origin], "modules": ["r"]}
    p = stavka(sites=[site], config={"log": {"access": "off"},
                                     "timeouts": {"origin_first_byte": "500ms"},
                                     "module": [{"name": "r",
                                                 "file": module("respond_on_response")}]})
    r = p.get(f"/echo?{CC}&hdr=X-Module-Do:stall")
    assert r.status == 504
    assert b"did not resume the response" in r.body
    assert p.get("/echo?x=1").status == 200


def test_purge_by_tag_from_a_module(stavka, origin):
    p = start(stavka, origin, [{"name": "r", "file": module("respond_on_response")}])
    tagged_by_module = f"/size/100?{CC}&hdr=X-Module-Do:tag"
    tagged_by_origin = f"/size/200?{CC}&hdr=Surrogate-Key:origin-tag%20other"
    untagged = f"/size/300?{CC}"
    for t in (tagged_by_module, tagged_by_origin, untagged):
        p.get(t)
        assert "hit" in p.get(t).header("cache-status")
    assert origin.request_count == 3

    def purge(tag):
        r = p.get("/anything", headers=[("X-Purge-Tag", tag)])
        assert r.status == 200
        return r.body

    assert purge("mod-tag") == b"purged 1\n"
    assert purge("mod-tag") == b"purged 0\n"
    assert "hit" not in p.get(tagged_by_module).header("cache-status")
    assert "hit" in p.get(tagged_by_origin).header("cache-status")
    # The module's tags replaced none of the origin's on the other object; "other" is on both:
    # the module-tagged one was fetched again (and tagged again), the origin-tagged one is there.
    assert purge("other") == b"purged 2\n"
    assert "hit" not in p.get(tagged_by_origin).header("cache-status")
    assert "hit" in p.get(untagged).header("cache-status")
    assert origin.request_count == 5


def test_module_that_does_not_load_stops_the_start(stavka, origin, tmp_path):
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0garbage")
    p = stavka(sites=[{"name": "s", "hosts": ["*"], "origins": [origin], "modules": ["bad"]}],
               config={"module": [{"name": "bad", "file": str(bad)}]}, expect_exit=2, wait=False)
    line = p.wait_stderr(lambda l: "module bad" in l)[0]
    assert "not a valid WebAssembly module" in line
    assert str(bad) in line


def test_module_metrics_are_exported(stavka, origin):
    p = start(stavka, origin, [{"name": "hdr", "file": module("add_header")}])
    p.get("/echo")
    body = http_get(p.admin_port, "/metrics").body.decode()
    assert 'stavka_module_calls_total{module="hdr"}' in body
    assert 'stavka_module_loads_total{module="hdr"} 1' in body
