"""Command line: check-config, flags overriding the config, --origin alone, the admin
listener, demo-origin and the embedded default."""

import subprocess
from pathlib import Path

import pytest

from harness import can_connect, free_port, http_get, port_is_free, toml_dumps

REPO = Path(__file__).resolve().parents[2]

GOOD_FULL = """\
# Every key Stavka knows, with valid values.
workers = 2
listen = ["127.0.0.1:18080", "127.0.0.1:18081"]
admin_listen = "127.0.0.1:18090"
via_name = "edge"

[timeouts]
client_header = "10s"
client_idle = "60s"
client_body = "60s"
client_send = "60s"
origin_connect = "500ms"
origin_first_byte = "30s"
origin_read = "30s"
origin_idle = "30s"
shutdown_grace = "30s"

[limits]
max_header_bytes = 65536
max_headers = 100

[log]
access = "stdout"
format = "json"

[[site]]
name = "www"
hosts = ["www.example.com", "*.example.com"]
origins = ["http://127.0.0.1:9001", "http://127.0.0.1:9002"]
origin_host = "backend.internal"
origin_down_time = "10s"
origin_keepalive = 32
origin_retries = 1

[[site]]
name = "default"
hosts = ["*"]
origins = ["http://localhost:9003"]
"""

BASE = """\
workers = 1
listen = ["127.0.0.1:18080"]
admin_listen = "127.0.0.1:18090"

[timeouts]
client_header = "10s"
origin_connect = "2s"

[limits]
max_headers = 100

[log]
access = "off"
format = "text"

[[site]]
name = "s"
hosts = ["*"]
origins = ["http://127.0.0.1:9001"]
origin_retries = 1
"""


def bad(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new + "  #BAD", 1)


BAD_CONFIGS = {
    "unknown-top-level-key": bad("workers = 1", "workers = 1\nfrobnicate = 1"),
    "workers-wrong-type": bad("workers = 1", 'workers = "two"'),
    "listen-bad-address": bad('listen = ["127.0.0.1:18080"]', 'listen = ["foo:80"]'),
    "listen-bad-port": bad('listen = ["127.0.0.1:18080"]', 'listen = ["127.0.0.1:99999"]'),
    "admin-listen-bad": bad('admin_listen = "127.0.0.1:18090"', 'admin_listen = "127.0.0.1:notaport"'),
    "unknown-timeout-key": bad('client_header = "10s"', 'client_header = "10s"\nclient_headr = "1s"'),
    "bad-duration": bad('origin_connect = "2s"', 'origin_connect = "soon"'),
    "duration-wrong-type": bad('origin_connect = "2s"', "origin_connect = 2"),
    "limits-wrong-type": bad("max_headers = 100", 'max_headers = "many"'),
    "log-bad-format": bad('format = "text"', 'format = "xml"'),
    "site-unknown-key": bad('name = "s"', 'name = "s"\ncolour = "blue"'),
    "site-origin-bad-scheme": bad('origins = ["http://127.0.0.1:9001"]', 'origins = ["ftp://127.0.0.1:21"]'),
    "site-origin-needs-dns": bad('origins = ["http://127.0.0.1:9001"]', 'origins = ["http://origin.invalid:80"]'),
    "site-retries-negative": bad("origin_retries = 1", "origin_retries = -1"),
    "toml-syntax-error": bad("workers = 1", "workers = = 1"),
    "duplicate-key": bad("workers = 1", "workers = 1\nworkers = 2"),
}


def bad_line(text: str) -> int:
    return next(i + 1 for i, l in enumerate(text.splitlines()) if "#BAD" in l)


def run_cli(stavka_bin, args, cwd=None, timeout=10) -> subprocess.CompletedProcess:
    return subprocess.run([stavka_bin] + args, capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, stdin=subprocess.DEVNULL)


# -- check-config -----------------------------------------------------------------------------


def test_check_config_accepts_full_config(stavka_bin, tmp_path):
    path = tmp_path / "full.toml"
    path.write_text(GOOD_FULL)
    r = run_cli(stavka_bin, ["check-config", str(path)])
    assert r.returncode == 0, r.stderr
    assert f"{path}: ok (2 sites, 0 modules)" in r.stdout + r.stderr, (r.stdout, r.stderr)


def test_check_config_loads_the_modules(stavka_bin, tmp_path):
    good = REPO / "build" / "modules" / "add_header.wasm"
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0garbage")
    for module, code, text in ((good, 0, "ok (1 sites, 1 modules)"),
                               (bad, 1, f"module m ({bad}): not a valid WebAssembly module")):
        path = tmp_path / "m.toml"
        path.write_text(f'[[site]]\nname = "s"\nhosts = ["*"]\norigins = ["http://127.0.0.1:9"]\n'
                        f'modules = ["m"]\n[[module]]\nname = "m"\nfile = "{module}"\n')
        r = run_cli(stavka_bin, ["check-config", str(path)])
        assert r.returncode == code, (r.stdout, r.stderr)
        assert text in r.stdout + r.stderr, (r.stdout, r.stderr)


def test_check_config_accepts_base_config(stavka_bin, tmp_path):
    path = tmp_path / "base.toml"
    path.write_text(BASE)
    r = run_cli(stavka_bin, ["check-config", str(path)])
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
def test_check_config_rejects_with_file_and_line(stavka_bin, tmp_path, name):
    text = BAD_CONFIGS[name]
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    r = run_cli(stavka_bin, ["check-config", str(path)])
    assert r.returncode == 1, f"exit {r.returncode} for an invalid config:\n{text}\n{r.stderr}"
    where = f"{path}:{bad_line(text)}:"
    assert where in r.stderr, f"expected '{where} message' on stderr, got:\n{r.stderr}"


def test_check_config_relative_path_in_message(stavka_bin, tmp_path):
    text = BAD_CONFIGS["unknown-top-level-key"]
    (tmp_path / "rel.toml").write_text(text)
    r = run_cli(stavka_bin, ["check-config", "rel.toml"], cwd=str(tmp_path))
    assert r.returncode != 0
    assert f"rel.toml:{bad_line(text)}:" in r.stderr, r.stderr


def test_check_config_missing_file(stavka_bin, tmp_path):
    path = tmp_path / "nope.toml"
    r = run_cli(stavka_bin, ["check-config", str(path)])
    assert r.returncode != 0
    assert str(path) in r.stderr


def test_run_with_bad_config_fails_fast(stavka_bin, tmp_path):
    text = BAD_CONFIGS["listen-bad-address"]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    r = run_cli(stavka_bin, ["run", "--config", str(path)])
    assert r.returncode == 2, f"run with a bad config exited {r.returncode} (documented: 2)"
    assert f"{path}:{bad_line(text)}:" in r.stderr, r.stderr


def test_unknown_command_fails(stavka_bin):
    r = run_cli(stavka_bin, ["frobnicate"])
    assert r.returncode != 0


# -- run flags ------------------------------------------------------------------------------------


def test_flags_override_config(stavka, origin_factory):
    a, b = origin_factory("A"), origin_factory("B")
    p_cfg, p_flag = free_port(), free_port()
    while p_flag == p_cfg:
        p_flag = free_port()
    cfg, _ = stavka.config(origins=[a], port=p_cfg)
    path = stavka.new_config_path()
    path.write_text(toml_dumps(cfg))
    stavka.spawn(["run", "--config", str(path), "--listen", f"127.0.0.1:{p_flag}",
                  "--origin", b.url, "--workers", "1"], port=p_flag)
    r = http_get(p_flag, "/echo")
    assert r.status == 200
    assert r.header("X-Origin") == "B"
    assert a.request_count == 0
    assert not can_connect(p_cfg), "--listen should replace the config's listen addresses"


def test_origin_flag_alone_accepts_any_host(stavka, origin, tmp_path):
    port = free_port()
    stavka.spawn(["run", "--listen", f"127.0.0.1:{port}", "--origin", origin.url,
                  "--workers", "1", "--cache-dir", str(tmp_path / "cache")], port=port)
    for host in ("a.example", "whatever.test", "127.0.0.1"):
        r = http_get(port, "/echo", host=host)
        assert r.status == 200 and r.header("X-Origin") == "A"
    assert [q.header("host") for q in origin.requests] == ["a.example", "whatever.test", "127.0.0.1"]


def test_admin_listen_flag_healthz(stavka, origin):
    port, admin = free_port(), free_port()
    while admin == port:
        admin = free_port()
    stavka.spawn(["run", "--listen", f"127.0.0.1:{port}", "--origin", origin.url,
                  "--admin-listen", f"127.0.0.1:{admin}"], port=port, admin_port=admin)
    r = http_get(admin, "/healthz")
    assert r.status == 200
    assert origin.request_count == 0, "the admin listener must not proxy /healthz to the origin"


def test_admin_listen_config_healthz(stavka, origin):
    p = stavka(origins=[origin], admin=True)
    assert http_get(p.admin_port, "/healthz").status == 200
    assert origin.request_count == 0


# -- demo origin and embedded default ------------------------------------------------------------


def test_demo_origin_serves_html(stavka):
    port = free_port()
    stavka.spawn(["demo-origin", "--listen", f"127.0.0.1:{port}"], port=port, expect_exit=None)
    r = http_get(port, "/")
    assert r.status == 200
    assert b"<html" in r.body.lower()


def test_proxy_in_front_of_demo_origin(stavka):
    dport = free_port()
    stavka.spawn(["demo-origin", "--listen", f"127.0.0.1:{dport}"], port=dport, expect_exit=None)
    p = stavka(origins=[f"http://127.0.0.1:{dport}"])
    r = p.get("/")
    assert r.status == 200
    assert b"<html" in r.body.lower()
    assert "1.1 stavka" in (r.header("via") or "")


def test_embedded_default(stavka):
    if not (port_is_free(8080) and port_is_free(8081)):
        pytest.skip("127.0.0.1:8080 or :8081 is busy; the embedded default needs both")
    stavka.spawn(["demo-origin", "--listen", "127.0.0.1:8081"], port=8081, expect_exit=None)
    stavka.spawn(["run"], port=8080)
    r = http_get(8080, "/", host="anything.test")
    assert r.status == 200
    assert b"<html" in r.body.lower()
