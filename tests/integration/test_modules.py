"""Proxy-Wasm modules run by the real binary: the SDK examples built by scripts/modules.sh (into
build/modules, or $STAVKA_MODULES), on requests that reach a real origin. Each test asserts what
the client got and what reached the origin."""

import os
from pathlib import Path

import pytest

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
    from harness import http_get
    body = http_get(p.admin_port, "/metrics").body.decode()
    assert 'stavka_module_calls_total{module="hdr"}' in body
    assert 'stavka_module_loads_total{module="hdr"} 1' in body
