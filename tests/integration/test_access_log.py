"""Access log: one line per request on stdout (text or JSON), to a file, or off."""

import json
import re
import time

import pytest

from harness import RawConn, build_request, free_port, wait_until

JSON_KEYS = {"time", "client", "host", "method", "target", "status", "bytes", "duration_ms",
             "upstream_ms", "cache"}


def ints_in(line: str) -> list[int]:
    return [int(x) for x in re.findall(r"(?<![\w.])\d+(?![\w.])", line)]


def test_text_line_per_request(proxy, origin):
    r = proxy.get("/size/12345?tag=one", host="log.test")
    assert r.status == 200
    lines = proxy.wait_stdout(lambda l: "/size/12345?tag=one" in l, timeout=5)
    assert len(lines) == 1, f"expected one access line, stdout: {proxy.stdout_lines}"
    line = lines[0]
    assert "127.0.0.1" in line
    assert "log.test" in line
    assert "GET" in line
    assert re.search(r"\b200\b", line), line
    # bytes: the body size (12345), possibly counted with the head.
    assert any(12345 <= n <= 12345 + 4096 for n in ints_in(line)), f"no byte count in {line!r}"


def test_text_exactly_one_line_per_request(proxy, origin):
    with RawConn(proxy.port) as c:
        assert c.request("GET", "/echo?n=1").status == 200
        assert c.request("POST", "/echo?n=2", body=b"abc").status == 200
        assert c.request("HEAD", "/size/10?n=3").status == 200
    assert proxy.get("/echo?n=4", host="other.host").status == 200
    assert wait_until(lambda: len(proxy.stdout_lines) >= 4, 5), proxy.stdout_lines
    time.sleep(0.3)
    assert len(proxy.stdout_lines) == 4, f"stdout should only hold access lines: {proxy.stdout_lines}"
    for n, method in ((1, "GET"), (2, "POST"), (3, "HEAD"), (4, "GET")):
        [line] = [l for l in proxy.stdout_lines if f"n={n}" in l]
        assert method in line


def test_text_logs_errors_and_421(stavka, origin):
    p = stavka(sites=[{"name": "a", "hosts": ["a.test"], "origins": [origin]},
                      {"name": "dead", "hosts": ["dead.test"], "origins": [f"http://127.0.0.1:{free_port()}"]}])
    assert p.get("/nowhere", host="nobody.test").status == 421
    assert p.get("/dead-origin", host="dead.test").status == 502
    l421 = p.wait_stdout(lambda l: "/nowhere" in l)
    l502 = p.wait_stdout(lambda l: "/dead-origin" in l)
    assert l421 and re.search(r"\b421\b", l421[0]), p.stdout_lines
    assert l502 and re.search(r"\b502\b", l502[0]), p.stdout_lines


@pytest.fixture
def json_proxy(stavka, origin):
    return stavka(origins=[origin], config={"log": {"access": "stdout", "format": "json"}})


def json_lines(p) -> list[dict]:
    out = []
    for l in p.stdout_lines:
        try:
            out.append(json.loads(l))
        except ValueError:
            pytest.fail(f"access log line is not JSON: {l!r}")
    return out


def test_json_line_fields(json_proxy, origin):
    r = json_proxy.get("/size/2048?j=1", host="json.test")
    assert r.status == 200
    assert wait_until(lambda: len(json_proxy.stdout_lines) >= 1, 5), "no access line on stdout"
    [entry] = json_lines(json_proxy)
    missing = JSON_KEYS - set(entry)
    assert not missing, f"JSON access line lacks {missing}: {entry}"
    assert "127.0.0.1" in str(entry["client"])
    assert entry["host"] == "json.test"
    assert entry["method"] == "GET"
    assert entry["target"] == "/size/2048?j=1"
    assert entry["status"] == 200
    assert isinstance(entry["bytes"], int) and 2048 <= entry["bytes"] <= 2048 + 4096
    assert isinstance(entry["duration_ms"], (int, float)) and entry["duration_ms"] >= 0
    assert isinstance(entry["upstream_ms"], (int, float)) and entry["upstream_ms"] >= 0
    assert isinstance(entry["time"], str) and entry["time"]


def test_json_one_object_per_request(json_proxy, origin):
    with RawConn(json_proxy.port) as c:
        for i in range(5):
            assert c.request("GET", f"/echo?i={i}").status == 200
    assert wait_until(lambda: len(json_proxy.stdout_lines) >= 5, 5)
    time.sleep(0.3)
    entries = json_lines(json_proxy)
    assert [e["target"] for e in entries] == [f"/echo?i={i}" for i in range(5)]


def test_json_421_entry(stavka, origin):
    p = stavka(sites=[{"name": "a", "hosts": ["a.test"], "origins": [origin]}],
               config={"log": {"access": "stdout", "format": "json"}})
    assert p.get("/x", host="nobody.test").status == 421
    assert wait_until(lambda: len(p.stdout_lines) >= 1, 5)
    [entry] = json_lines(p)
    assert entry["status"] == 421
    assert entry["host"] == "nobody.test"


def test_access_log_off(stavka, origin):
    p = stavka(origins=[origin], config={"log": {"access": "off"}})
    for i in range(3):
        assert p.get(f"/echo?i={i}").status == 200
    time.sleep(0.5)
    assert p.stdout_lines == []


def test_access_log_to_file(stavka, origin, tmp_path):
    path = tmp_path / "access.log"
    p = stavka(origins=[origin], config={"log": {"access": str(path), "format": "json"}})
    for i in range(3):
        assert p.get(f"/echo?f={i}").status == 200
    assert wait_until(lambda: path.exists() and len(path.read_text().splitlines()) >= 3, 5), \
        "access log file not written (or not flushed)"
    entries = [json.loads(l) for l in path.read_text().splitlines()]
    # Separate connections may land on different workers: order across workers is not specified.
    assert sorted(e["target"] for e in entries) == [f"/echo?f={i}" for i in range(3)]
    assert p.stdout_lines == []


def test_access_log_to_stderr(stavka, origin):
    p = stavka(origins=[origin], config={"log": {"access": "stderr", "format": "text"}})
    assert p.get("/echo?to=stderr").status == 200
    assert p.wait_stderr(lambda l: "/echo?to=stderr" in l), p.stderr_lines
    assert not any("/echo?to=stderr" in l for l in p.stdout_lines)
