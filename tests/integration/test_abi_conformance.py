"""The Proxy-Wasm host against the ABI: tests/modules/abi_conformance.c calls every host function
(and the WASI functions the host provides) with good and bad arguments and reports one line per
check; each check is its own test here (`test_abi_check[NAME]`), failing with the module's line
(`NAME FAIL expected X got Y`). Expected values are the Proxy-Wasm 0.2.1 specification's, or
docs/modules.md's where the specification says nothing (the module's source says which).

The names come from the module's source, so a check the module never reached (it stopped, or a
scenario broke) fails as "not reported". The other tests check what the module's calls did
outside it: what the origin received, what the client got, the log, /metrics, ticks and queue
wake-ups, a closed stream.

One proxy serves every test of this file (workers = 1): site `abi` (host abi.test) runs the
module as `abi`; site `chain` (host chain.test) runs it twice, as `abi_writer` then
`abi_reader`, for what one module leaves for the next. Modules come from build/modules (or
$STAVKA_MODULES), built by scripts/modules.sh.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from conftest import StavkaFactory
from harness import RawConn, build_request, http_get, wait_until

REPO = Path(__file__).resolve().parents[2]
MODULES = Path(os.environ.get("STAVKA_MODULES", REPO / "build" / "modules"))
SOURCE = REPO / "tests" / "modules" / "abi_conformance.c"

# A check's name is the string literal that opens a CHECK_*( or check_*( call.
_NAME = re.compile(r'\b(?:CHECK_[A-Z0-9_]+|check_[a-z0-9_]+)\(\s*"([a-z0-9_.]+)"')


def check_names() -> list[str]:
    seen: dict[str, None] = {}
    for name in _NAME.findall(SOURCE.read_text()):
        seen.setdefault(name, None)
    return list(seen)


NAMES = check_names()

# Which request makes the module report a check (see the module's header comment).
def scenario_of(name: str) -> str:
    for prefix, scenario in (("forward.", "forward"), ("resp.", "forward"), ("pause.", "pause"),
                             ("chain.", "chain")):
        if name.startswith(prefix):
            return scenario
    return "request"


def configuration(role: str, name: str, site: str, root_id: str = "", vm_config: str = "",
                  writer: str = "") -> str:
    return (f"role={role}\nname={name}\nroot_id={root_id}\nsite={site}\nlog_level=2\n"
            f"vm_config={vm_config}\nwriter={writer}\n")


class Abi:
    """The proxy and what each scenario answered (run once, on first use)."""

    def __init__(self, proxy, origin):
        self.proxy = proxy
        self.origin = origin
        self.responses: dict[str, object] = {}
        self.request_runs = 0

    def run(self, scenario: str):
        if scenario not in self.responses:
            self.responses[scenario] = getattr(self, f"_{scenario}")()
        return self.responses[scenario]

    def _send(self, target: str, host: str, headers: list[tuple[str, str]]):
        with RawConn(self.proxy.port) as c:
            headers = headers + [("X-Abi-Source-Port", str(c.sock.getsockname()[1])),
                                 ("X-Abi-Destination-Port", str(self.proxy.port))]
            c.send(build_request("GET", target, headers, host=host))
            return c.read_final_response("GET")

    def request(self):
        self.request_runs += 1
        return self._send("/abi/request?x=1", "abi.test", [
            ("X-Abi-In", "one"), ("X-Abi-Multi", "a"), ("X-Abi-Multi", "b"),
            ("Referer", "http://referer.test/"), ("User-Agent", "abi-agent/1"),
            ("X-Request-Id", "req-abi-1")])

    def _request(self):
        return self.request()

    def _forward(self):
        return self._send("/abi/forward", "abi.test",
                          [("X-Abi-Drop", "1"), ("X-Abi-Replace", "old")])

    def _pause(self):
        return self._send("/abi/pause", "abi.test", [("X-Abi-Pause", "1")])

    def _chain(self):
        return self._send("/abi/chain", "chain.test", [])

    def lines(self, scenario: str) -> list[str]:
        r = self.run(scenario)
        if scenario in ("request", "chain"):
            return r.body.decode("utf-8", "replace").splitlines()
        return r.header_all("x-abi-check")

    def faults(self) -> list[str]:
        """The proxy's log lines about a fault of one of the modules (why checks went missing)."""
        return [line for line in self.proxy.stderr_lines
                if re.search(r"module abi\w*: (proxy_on_\w+|_initialize) (trapped|broke the ABI|ran )",
                             line)]

    def counters(self) -> dict[str, int]:
        r = http_get(self.proxy.port, "/abi/ticks", host="abi.test")
        assert r.status == 200, r
        return {k: int(v) for k, v in (line.split() for line in r.body.decode().splitlines())}


@pytest.fixture(scope="module")
def abi(stavka_bin, tmp_path_factory):
    wasm = MODULES / "abi_conformance.wasm"
    if not wasm.is_file():
        pytest.fail(f"{wasm} not found: run scripts/modules.sh", pytrace=False)
    from harness import Origin
    origin = Origin("abi-origin")
    factory = StavkaFactory(stavka_bin, tmp_path_factory.mktemp("abi"))
    modules = [
        {"name": "abi", "file": str(wasm), "root_id": "abi_root", "vm_configuration": "abi-vm-config",
         "configuration": configuration("main", "abi", "abi", "abi_root", "abi-vm-config"),
         "environment": {"ABI_ENV": "yes", "ABI_OTHER": "2"},
         "upstreams": {"echo": origin.url}},
        {"name": "abi_writer", "file": str(wasm),
         "configuration": configuration("writer", "abi_writer", "chain")},
        {"name": "abi_reader", "file": str(wasm),
         "configuration": configuration("reader", "abi_reader", "chain", writer="abi_writer")},
    ]
    sites = [
        {"name": "abi", "hosts": ["abi.test"], "origins": [origin], "modules": ["abi"]},
        {"name": "chain", "hosts": ["chain.test"], "origins": [origin],
         "modules": ["abi_writer", "abi_reader"]},
    ]
    try:
        proxy = factory(sites=sites, workers=1, admin=True,
                        config={"log": {"access": "off"}, "module": modules})
        yield Abi(proxy, origin)
    finally:
        problems = factory.teardown()
        origin.stop()
        assert not problems, "\n\n".join(problems)


def test_the_suite_has_checks():
    assert len(NAMES) > 150, NAMES
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_abi_check(abi, name):
    lines = abi.lines(scenario_of(name))
    found = [line for line in lines if line.split(" ", 1)[0] == name]
    assert found, (f"{name}: not reported by the module ({scenario_of(name)} scenario); "
                   f"it reported {len(lines)} lines, the last: {lines[-3:]}; "
                   f"faults logged: {abi.faults()[-3:]}")
    assert len(found) == 1, found
    assert found[0] == f"{name} ok", found[0]


@pytest.mark.parametrize("scenario", ["request", "forward", "pause", "chain"])
def test_every_reported_line_is_a_known_check(abi, scenario):
    lines = abi.lines(scenario)
    assert lines, f"{scenario}: no lines"
    unknown = [line for line in lines if line != "end" and line.split(" ", 1)[0] not in NAMES]
    assert not unknown, unknown
    if scenario in ("request", "chain"):
        assert lines[-1] == "end", "the answer was cut short"


def test_local_response_is_sent_as_asked(abi):
    r = abi.run("request")
    assert r.status == 200
    assert r.header("x-abi-local") == "yes"
    # The module's Content-Length: 1 is refused: the framing stays the host's.
    assert r.header("content-length") == str(len(r.body))
    assert r.body.endswith(b"end\n")
    assert not [q for q in abi.origin.requests if q.path.startswith("/abi/request")], \
        "a request answered by the module must not reach the origin"


def test_request_changes_reach_the_origin(abi):
    r = abi.run("forward")
    sent = [q for q in abi.origin.requests if q.q("abi") == "forward"]
    assert len(sent) == 1, [q.target for q in abi.origin.requests]
    q = sent[0]
    assert q.path == "/echo"
    assert q.header("x-abi-fwd") == "1"
    assert q.header("x-abi-replace") == "new"
    assert not q.has("x-abi-drop")
    assert not q.has("content-length"), "a module may not add framing fields"
    assert r.status == 200 or r.status == 203


def test_response_changes_reach_the_client(abi):
    r = abi.run("forward")
    assert r.status == 203
    assert r.header("x-abi-resp") == "yes"
    assert not r.has("x-origin-drop")
    assert r.header("content-length") == str(len(r.body))
    assert r.json()["target"].startswith("/echo")


def test_paused_request_is_resumed_from_a_tick(abi):
    r = abi.run("pause")
    assert r.status == 200
    assert [q for q in abi.origin.requests if q.q("abi") == "pause"], "the resumed request never reached the origin"


def test_close_stream_resets_the_request(abi):
    before = abi.origin.request_count
    with RawConn(abi.proxy.port, timeout=5) as c:
        c.send(build_request("GET", "/abi/close", host="abi.test"))
        while c._fill():
            pass
        assert c.eof
        assert bytes(c.buf) == b"", "proxy_close_stream must end the request without a response"
    assert abi.origin.request_count == before


def test_module_logs_reach_the_log_at_their_levels(abi):
    abi.run("request")
    p = abi.proxy
    for level, text in (("info", "abi-log-info"), ("warn", "abi-log-warn"), ("error", "abi-log-error"),
                        ("error", "abi-log-critical"), ("info", "abi-stdout-line"),
                        ("error", "abi-stderr-line")):
        found = p.wait_stderr(lambda line, t=text: line.endswith(f"module abi: {t}"))
        assert found, f"no log line for {text}"
        assert f" {level} module abi: {text}" in found[0], found[0]
    # At the default level (info) debug and trace are not logged; a bad level is refused.
    for text in ("abi-log-trace", "abi-log-debug", "abi-log-unknown-level"):
        assert not [line for line in p.stderr_lines if text in line], text


def test_module_metrics_reach_metrics(abi):
    abi.run("request")
    body = http_get(abi.proxy.admin_port, "/metrics").body.decode()
    def value(metric: str) -> int:
        m = re.search(rf'^{re.escape(metric)}{{module="abi"}} (\d+)$', body, re.M)
        assert m, f"{metric} missing from /metrics"
        return int(m.group(1))
    # The counter gets +5 per /abi/request (its -1 is refused), the gauge ends each run at 40.
    assert value("stavka_module_metric_abi_counter") == 5 * abi.request_runs
    assert value("stavka_module_metric_abi_gauge") == 40
    assert value("stavka_module_metric_abi_histogram_count") == abi.request_runs


def test_ticks_and_one_queue_wake_up_per_item(abi):
    abi.run("request")
    assert wait_until(lambda: abi.counters()["ticks"] > 0, timeout=5), "proxy_on_tick never ran"
    # Each /abi/request enqueues one item on the queue the root context registered (and registers
    # that queue again, which must not add a second wake-up): exactly one proxy_on_queue_ready
    # per item, and it always finds the item.
    assert wait_until(lambda: abi.counters()["queue_ready"] >= abi.request_runs, timeout=5)
    before = abi.counters()
    for _ in range(3):
        assert abi.request().status == 200
    assert wait_until(lambda: abi.counters()["queue_ready"] >= before["queue_ready"] + 3, timeout=5)
    time.sleep(0.2)  # any extra wake-up of the same items would have run by now
    after = abi.counters()
    assert after["queue_ready"] == before["queue_ready"] + 3, (before, after)
    assert after["queue_ready_empty"] == 0, after


def test_the_module_never_faulted(abi):
    abi.run("request")
    body = http_get(abi.proxy.admin_port, "/metrics").body.decode()
    for name in ("abi", "abi_writer", "abi_reader"):
        assert f'stavka_module_traps_total{{module="{name}"}} 0' in body
    assert not abi.faults(), abi.faults()
