"""Module hot swap: PUT /api/v1/modules/NAME on the admin listener and `stavka module push|ls`.

A new version is compiled and test-started off the reactors, saved over the module's file and
published to every worker before the push is answered; a request keeps the version it started
with; a version that does not load changes nothing. The two versions used here are the
add_header example (its default header, `X-Stavka-Module: add-header`, with an empty
configuration) and the same bytes with that value patched in the data section to
`swapped-v2`: a different module that is still valid WebAssembly.
"""

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness import ADMIN_AUTH, ADMIN_TOKEN, RawConn, build_request, http_get, http_request

REPO = Path(__file__).resolve().parents[2]
MODULES = Path(os.environ.get("STAVKA_MODULES", REPO / "build" / "modules"))
HEADER = "x-stavka-module"
V1, V2 = "add-header", "swapped-v2"


def example(name: str) -> Path:
    path = MODULES / f"{name}.wasm"
    if not path.is_file():
        pytest.fail(f"{path} not found: run scripts/modules.sh", pytrace=False)
    return path


def versions() -> tuple[bytes, bytes]:
    """(v1, v2): add_header as built, and with its default header value patched."""
    v1 = example("add_header").read_bytes()
    assert v1.count(V1.encode()) == 1, "add_header.wasm no longer holds its default value once"
    return v1, v1.replace(V1.encode(), V2.encode())


def start(stavka, origin, tmp_path, configuration="", workers=2, name="hdr"):
    """Stavka with module `name` (a copy of add_header in tmp_path: pushes write over it)."""
    file = tmp_path / f"{name}.wasm"
    shutil.copyfile(example("add_header"), file)
    site = {"name": "s", "hosts": ["*"], "origins": [origin], "modules": [name]}
    p = stavka(sites=[site], workers=workers, admin=True,
               config={"log": {"access": "off"},
                       "module": [{"name": name, "file": str(file),
                                   "configuration": configuration}]})
    return p, file


def push(p, name: str, body: bytes, headers=None):
    return http_request(p.admin_port, "PUT", f"/api/v1/modules/{name}",
                        ADMIN_AUTH + list(headers or []), body, host="admin", timeout=60)


def listing(p) -> dict:
    r = http_get(p.admin_port, "/api/v1/modules", ADMIN_AUTH, host="admin")
    assert r.status == 200 and r.header("content-type") == "application/json"
    return {m["name"]: m for m in json.loads(r.body)["modules"]}


def header_values(p, n: int = 8) -> set:
    """The module's header on n requests, each on a new connection (so every worker answers)."""
    return {p.get(f"/echo?n={i}&t={time.monotonic_ns()}").header(HEADER) for i in range(n)}


def metric(p, line_start: str) -> float:
    body = http_get(p.admin_port, "/metrics", host="admin").body.decode()
    for line in body.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in /metrics")


def test_push_is_visible_on_the_next_request(stavka, origin, tmp_path):
    v1, v2 = versions()
    p, file = start(stavka, origin, tmp_path)
    assert header_values(p) == {V1}
    before = listing(p)["hdr"]
    assert before["digest"].startswith(f"{len(v1)}-") and before["disabled"] is False
    assert before["sites"] == ["s"] and before["file"] == str(file)

    r = push(p, "hdr", v2)
    assert r.status == 200, r.body
    answer = r.json()
    assert answer["previous_generation"] == before["generation"]
    assert answer["generation"] > before["generation"]
    assert answer["workers"] == 2 and answer["size"] == len(v2)
    # Answered once every worker has it: no request after the answer sees the old version.
    assert header_values(p, 16) == {V2}
    after = listing(p)["hdr"]
    assert after["generation"] == answer["generation"] and after["digest"] == answer["digest"]
    assert after["digest"] != before["digest"]
    assert file.read_bytes() == v2, "the push is saved over the module's file"
    assert not [f for f in tmp_path.iterdir() if ".push-" in f.name], "no temporary file left"
    assert metric(p, 'stavka_module_generation{module="hdr"}') == answer["generation"]
    assert metric(p, 'stavka_module_loads_total{module="hdr"}') == 2


def test_refused_versions_leave_the_old_one_serving(stavka, origin, tmp_path):
    v1, _ = versions()
    p, file = start(stavka, origin, tmp_path, configuration="X-Edge: wasm")
    gen = listing(p)["hdr"]["generation"]

    r = push(p, "hdr", b"this is not WebAssembly")
    assert r.status == 422, r.body
    assert r.json()["error"] == "module_rejected"
    assert "not a valid WebAssembly module" in r.json()["message"]
    assert r.json()["message"].startswith("module hdr (pushed, 23 bytes): ")

    # Valid WebAssembly that fails its test start: access_control rejects this configuration.
    r = push(p, "hdr", example("access_control").read_bytes())
    assert r.status == 422, r.body
    assert "proxy_on_configure returned false" in r.json()["message"]

    r = push(p, "hdr", b"")
    assert r.status == 422, r.body

    assert {p.get(f"/echo?i={i}").header("x-edge") for i in range(6)} == {"wasm"}
    assert listing(p)["hdr"]["generation"] == gen
    assert file.read_bytes() == v1, "a refused version must not touch the file"
    assert metric(p, 'stavka_module_load_failures_total{module="hdr"}') == 3
    assert p.wait_stderr(lambda l: "push refused, keeping generation" in l, count=3)


def test_unknown_module_and_bad_requests(stavka, origin, tmp_path):
    _, v2 = versions()
    p, _ = start(stavka, origin, tmp_path)
    r = push(p, "nope", v2)
    assert r.status == 404
    assert r.json() == {"error": "unknown_module",
                        "message": 'no module named "nope" (configured: hdr)'}
    assert http_get(p.admin_port, "/api/v1/modules/nope", ADMIN_AUTH, host="admin").status == 404
    one = http_get(p.admin_port, "/api/v1/modules/hdr", ADMIN_AUTH, host="admin")
    assert one.status == 200 and one.json()["name"] == "hdr"

    r = http_request(p.admin_port, "DELETE", "/api/v1/modules/hdr", ADMIN_AUTH, host="admin")
    assert r.status == 405 and r.header("allow") == "GET, HEAD, PUT"
    r = http_request(p.admin_port, "PUT", "/api/v1/modules", ADMIN_AUTH, body=b"x", host="admin")
    assert r.status == 405 and r.header("allow") == "GET, HEAD"

    # Too large: refused from Content-Length alone, before any body byte is read.
    with RawConn(p.admin_port) as c:
        c.send(build_request("PUT", "/api/v1/modules/hdr",
                             ADMIN_AUTH + [("Content-Length", str(64 * 1024 * 1024 + 1))],
                             host="admin"))
        r = c.read_response()
    assert r.status == 413 and r.json()["error"] == "body_too_large"
    # With Expect: 100-continue the client learns it before sending the body.
    with RawConn(p.admin_port) as c:
        c.send(build_request("PUT", "/api/v1/modules/hdr",
                             ADMIN_AUTH + [("Content-Length", str(len(v2))), ("Expect", "100-continue")],
                             host="admin"))
        assert c.read_response().status == 100
        c.send(v2)
        r = c.read_response()
    assert r.status == 200, r.body
    # Chunked bodies are counted as they arrive.
    chunk = b"\0" * (1024 * 1024)
    with RawConn(p.admin_port) as c:
        c.send(build_request("PUT", "/api/v1/modules/hdr",
                             ADMIN_AUTH + [("Transfer-Encoding", "chunked")], host="admin"))
        try:
            for _ in range(65):
                c.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except OSError:
            pass  # the answer came first and the connection is closing
        r = c.read_response()
    assert r.status == 413
    assert header_values(p) == {V2}


def test_a_request_keeps_the_version_it_started_with(stavka, origin, tmp_path):
    _, v2 = versions()
    p, _ = start(stavka, origin, tmp_path, workers=1)
    assert metric(p, 'stavka_module_versions_live{module="hdr"}') == 1
    slow = {}

    def slow_request():
        slow["r"] = p.get("/echo?delay=1500&slow=1")

    t = threading.Thread(target=slow_request)
    t.start()
    assert origin.wait_for_requests(1)
    assert push(p, "hdr", v2).status == 200
    assert header_values(p, 4) == {V2}
    # The slow request's response phase runs after the push, in the version it started with,
    # which stays in memory until that request ends.
    assert metric(p, 'stavka_module_versions_live{module="hdr"}') == 2
    t.join(10)
    assert slow["r"].status == 200 and slow["r"].header(HEADER) == V1
    deadline = time.monotonic() + 3
    while metric(p, 'stavka_module_versions_live{module="hdr"}') != 1:
        assert time.monotonic() < deadline, "the old version was not freed after its last request"
        time.sleep(0.05)


def test_concurrent_pushes_serialize(stavka, origin, tmp_path):
    v1, v2 = versions()
    p, file = start(stavka, origin, tmp_path)
    results = [None] * 8

    def one(i):
        results[i] = push(p, "hdr", v1 if i % 2 else v2)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None and r.status == 200 for r in results), results
    answers = [r.json() for r in results]
    generations = sorted(a["generation"] for a in answers)
    assert len(set(generations)) == 8
    # One after the other: each push replaced the one before it.
    assert sorted(a["previous_generation"] for a in answers)[1:] == generations[:-1]
    last = max(range(8), key=lambda i: answers[i]["generation"])
    assert listing(p)["hdr"]["generation"] == answers[last]["generation"]
    assert file.read_bytes() == (v1 if last % 2 else v2)
    assert header_values(p) == {V1 if last % 2 else V2}


def test_push_survives_reload_and_restart(stavka, origin, tmp_path):
    _, v2 = versions()
    p, file = start(stavka, origin, tmp_path)
    pushed = push(p, "hdr", v2).json()
    gen = pushed["generation"]
    p.reload()
    assert p.wait_stderr(lambda l: "config reloaded" in l)
    assert header_values(p) == {V2}
    # Same bytes in the file: the reload kept the compiled version, generation and all.
    assert listing(p)["hdr"]["generation"] == gen
    assert p.stop() == 0

    again = stavka.spawn([p.argv[0], "run", "--config", str(p.config_path)], port=p.port,
                         admin_port=p.admin_port)
    assert header_values(again) == {V2}
    assert listing(again)["hdr"]["digest"] == pushed["digest"]
    assert file.read_bytes() == v2


def test_reload_of_a_changed_configuration_applies_to_the_pushed_version(stavka, origin, tmp_path):
    _, v2 = versions()
    p, _ = start(stavka, origin, tmp_path)
    assert push(p, "hdr", v2).status == 200
    cfg = p.config
    cfg["module"][0]["configuration"] = "X-Edge: configured"
    p.reload(cfg)
    assert p.wait_stderr(lambda l: "config reloaded" in l)
    r = p.get("/echo?after=reload")
    assert r.header("x-edge") == "configured" and r.header(HEADER) is None


def cli(stavka_bin, *args, env=None):
    e = dict(os.environ, STAVKA_ADMIN_TOKEN=ADMIN_TOKEN)
    e.pop("STAVKA_ADMIN", None)
    e.update(env or {})
    return subprocess.run([stavka_bin, "module", *args], capture_output=True, text=True,
                          timeout=60, env=e)


def test_cli_push_and_ls(stavka, stavka_bin, origin, tmp_path):
    _, v2 = versions()
    p, file = start(stavka, origin, tmp_path)
    admin = f"127.0.0.1:{p.admin_port}"
    new = tmp_path / "new" / "hdr.wasm"  # the name defaults to the file's stem
    new.parent.mkdir()
    new.write_bytes(v2)
    gen = listing(p)["hdr"]["generation"]

    r = cli(stavka_bin, "push", str(new), "--admin", admin)
    assert r.returncode == 0, r.stderr
    now = listing(p)["hdr"]["generation"]
    assert r.stdout.startswith(f"hdr: generation {now} (was {gen}), {len(v2)}-")
    assert f"saved to {file}" in r.stdout
    assert header_values(p) == {V2}

    r = cli(stavka_bin, "ls", env={"STAVKA_ADMIN": admin})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "GENERATION", "STATE"]
    assert lines[1].split()[:3] == ["hdr", str(now), "ok"] and str(file) in lines[1]
    r = cli(stavka_bin, "ls", "--json", "--admin", admin)
    assert json.loads(r.stdout)["modules"][0]["generation"] == now

    garbage = tmp_path / "garbage.wasm"
    garbage.write_bytes(b"\0asm\x01\0\0\0garbage")
    r = cli(stavka_bin, "push", str(garbage), "--name", "hdr", "--admin", admin)
    assert r.returncode == 1
    assert "not a valid WebAssembly module" in r.stderr and "422" in r.stderr
    r = cli(stavka_bin, "push", str(garbage), "--admin", admin)  # name "garbage": unknown
    assert r.returncode == 1 and 'no module named "garbage"' in r.stderr
    assert header_values(p) == {V2}

    r = cli(stavka_bin, "push", str(new))
    assert r.returncode == 2 and "STAVKA_ADMIN" in r.stderr
    r = cli(stavka_bin, "push", str(tmp_path / "missing.wasm"), "--admin", admin)
    assert r.returncode == 1 and "cannot open" in r.stderr
    p.stop()
    r = cli(stavka_bin, "ls", "--admin", admin)
    assert r.returncode == 1 and "cannot connect" in r.stderr
