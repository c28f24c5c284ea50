"""Runaway modules: what a request, the log, /metrics and the other sites see when a module loops
forever, allocates without bound or traps (tests/modules/runaway_*.wat, built by
scripts/modules.sh into build/modules or $STAVKA_MODULES).

Every proxy here has one worker, so the runaway site and the well-behaved one share a thread:
a looping module holds it for cpu_limit per call (thread-per-core). The tests assert statuses,
bytes, log lines and counters, never how long anything took.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from harness import http_get, pattern, rss_bytes

REPO = Path(__file__).resolve().parents[2]
MODULES = Path(os.environ.get("STAVKA_MODULES", REPO / "build" / "modules"))

# What each module's fault looks like: the counter it adds to, and its log line.
KINDS = {
    "loop": ("stavka_module_cpu_overruns_total", "proxy_on_request_headers ran past its CPU limit"),
    "grow": ("stavka_module_traps_total", "proxy_on_request_headers ran out of memory (memory_limit)"),
    "trap": ("stavka_module_traps_total", "proxy_on_request_headers trapped"),
}
ON_ERROR = ["fail-open", "fail-closed"]
SIZE = 4096


def module_file(kind: str) -> str:
    path = MODULES / f"runaway_{kind}.wasm"
    if not path.is_file():
        pytest.fail(f"{path} not found: run scripts/modules.sh", pytrace=False)
    return str(path)


def start(stavka, origin, kind: str, on_error: str, **settings):
    # fault_cpu_share = 1 (never held back) unless a test sets it: most tests count every fault.
    module = {"name": "runaway", "file": module_file(kind), "on_error": on_error,
              "cpu_limit": "30ms", "memory_limit": "16MiB", "max_faults": 3, "fault_window": "60s",
              "fault_cpu_share": 1.0}
    module.update(settings)
    sites = [
        {"name": "runaway", "hosts": ["runaway.test"], "origins": [origin], "modules": ["runaway"]},
        {"name": "normal", "hosts": ["normal.test"], "origins": [origin]},
    ]
    return stavka(sites=sites, workers=1, admin=True,
                  config={"log": {"access": "off"}, "module": [module]})


def metric(p, name: str) -> int:
    body = http_get(p.admin_port, "/metrics").body.decode()
    m = re.search(rf'^{name}{{module="runaway"}} (\d+)$', body, re.M)
    assert m, f"{name} not on /metrics"
    return int(m.group(1))


def expect_outcome(r, on_error: str, path_size: int = SIZE) -> None:
    if on_error == "fail-open":
        assert r.status == 200, r
        assert r.body == pattern(path_size), "fail-open must serve the origin's response"
    else:
        assert r.status == 503, r


def fault_lines(p, kind: str) -> list[str]:
    text = f"module runaway: {KINDS[kind][1]}"
    return [line for line in p.stderr_lines if text in line]


@pytest.mark.parametrize("on_error", ON_ERROR)
@pytest.mark.parametrize("kind", list(KINDS))
def test_fault_outcome_log_counters_then_disabled(stavka, origin, kind, on_error):
    counter = KINDS[kind][0]
    failed = "stavka_module_failed_open_total" if on_error == "fail-open" else \
        "stavka_module_failed_closed_total"
    p = start(stavka, origin, kind, on_error, max_faults=3)
    for i in range(1, 4):
        r = http_get(p.port, f"/size/{SIZE}?n={i}", host="runaway.test")
        expect_outcome(r, on_error)
        assert metric(p, counter) == i, "each faulting call is counted once"
        assert len(p.wait_stderr(lambda l: KINDS[kind][1] in l, count=i)) == i
        # The well-behaved site on the same worker is untouched.
        n = http_get(p.port, f"/size/{SIZE}?normal={i}", host="normal.test")
        assert n.status == 200 and n.body == pattern(SIZE)
    assert p.wait_stderr(lambda l: "module runaway: disabled after 3 faults" in l), \
        "the third fault within fault_window must disable the module"
    assert metric(p, "stavka_module_disabled") == 1
    # Disabled: the module is not called any more, and requests get on_error without a fault.
    for i in range(4, 6):
        r = http_get(p.port, f"/size/{SIZE}?n={i}", host="runaway.test")
        expect_outcome(r, on_error)
    assert metric(p, counter) == 3
    assert len(fault_lines(p, kind)) == 3
    assert metric(p, failed) == 5
    runaway_at_origin = [q for q in origin.requests if q.q("n")]
    if on_error == "fail-closed":
        assert not runaway_at_origin, "fail-closed requests must not reach the origin"
    else:
        assert len(runaway_at_origin) == 5


@pytest.mark.parametrize("on_error", ON_ERROR)
@pytest.mark.parametrize("kind", list(KINDS))
def test_other_site_served_while_the_runaway_one_is_hit(stavka, origin, kind, on_error):
    # max_faults high: the module stays enabled (and faulting) for the whole test.
    p = start(stavka, origin, kind, on_error, max_faults=100000, cpu_limit="20ms")
    runaway_results: list[tuple[int, bytes]] = []
    errors: list[str] = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                r = http_get(p.port, f"/size/{SIZE}?n=1", host="runaway.test", timeout=30)
                runaway_results.append((r.status, r.body))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
                return

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        # Only once the runaway site is being hit.
        assert wait_for(lambda: len(runaway_results) >= 2), errors
        for i in range(40):
            size = (1024, 65536, 300000)[i % 3]
            r = http_get(p.port, f"/size/{size}?normal={i}", host="normal.test", timeout=30)
            assert r.status == 200, r
            assert r.body == pattern(size)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors
    assert len(runaway_results) >= 2
    for status, body in runaway_results:
        if on_error == "fail-open":
            assert status == 200 and body == pattern(SIZE)
        else:
            assert status == 503
    assert metric(p, KINDS[kind][0]) == len(runaway_results), \
        "every runaway request is one fault"
    assert metric(p, "stavka_module_disabled") == 0


def wait_for(pred, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def test_faults_outside_the_window_do_not_add_up(stavka, origin):
    p = start(stavka, origin, "trap", "fail-open", max_faults=2, fault_window="2s")
    expect_outcome(http_get(p.port, f"/size/{SIZE}", host="runaway.test"), "fail-open")
    time.sleep(2.5)  # past the window: the next fault starts a new one
    expect_outcome(http_get(p.port, f"/size/{SIZE}", host="runaway.test"), "fail-open")
    assert metric(p, "stavka_module_traps_total") == 2
    assert metric(p, "stavka_module_disabled") == 0
    # A second fault in the same window disables it.
    expect_outcome(http_get(p.port, f"/size/{SIZE}", host="runaway.test"), "fail-open")
    assert p.wait_stderr(lambda l: "module runaway: disabled after 2 faults" in l)
    assert metric(p, "stavka_module_disabled") == 1


def test_memory_limit_bounds_what_a_module_takes(stavka, origin):
    # Each call grows the module's memory until memory_limit refuses (16 MiB here), writing to
    # every new 64 KiB page; without the limit one call would take the whole 4 GiB address space.
    p = start(stavka, origin, "grow", "fail-open", max_faults=100000)
    http_get(p.port, f"/size/{SIZE}", host="normal.test")
    before = rss_bytes(p.pid)
    for i in range(10):
        expect_outcome(http_get(p.port, f"/size/{SIZE}?n={i}", host="runaway.test"), "fail-open")
    assert metric(p, "stavka_module_traps_total") == 10
    assert len(fault_lines(p, "grow")) == 10
    grown = rss_bytes(p.pid) - before
    assert grown < 64 * 1024 * 1024, f"RSS grew by {grown} bytes"


def test_cpu_limit_stops_the_loop_on_every_call(stavka, origin):
    # The loop is stopped at cpu_limit on every call: request after request completes, each with
    # its own overrun counted, and the worker keeps answering /metrics in between.
    p = start(stavka, origin, "loop", "fail-closed", max_faults=100000, cpu_limit="10ms")
    for i in range(5):
        assert http_get(p.port, f"/size/{SIZE}?n={i}", host="runaway.test").status == 503
        assert metric(p, "stavka_module_cpu_overruns_total") == i + 1
    trap = fault_lines(p, "loop")
    assert len(trap) == 5
    assert all("interrupt" in l for l in trap), trap[0]


def test_fault_log_lines_are_rate_limited(stavka, origin):
    # A module that faults on every request must not flood the log: at most 10 lines a second
    # per module; the next line logged says how many were left out. Counters count them all.
    p = start(stavka, origin, "trap", "fail-open", max_faults=1000000)
    for i in range(100):
        r = http_get(p.port, f"/size/{SIZE}?n={i}", host="runaway.test")
        expect_outcome(r, "fail-open")
    assert metric(p, "stavka_module_traps_total") == 100
    logged = len(fault_lines(p, "trap"))
    assert 10 <= logged < 100, logged
    time.sleep(1.1)  # a new second: the next fault is logged, with what was left out
    expect_outcome(http_get(p.port, f"/size/{SIZE}?n=last", host="runaway.test"), "fail-open")
    p.wait_stderr(lambda l: "faults before it not logged" in l)
    p.wait_stderr(lambda l: KINDS["trap"][1] in l, count=logged + 1)
    lines = fault_lines(p, "trap")
    left_out = sum(int(m.group(1)) for l in lines
                   if (m := re.search(r"\((\d+) faults before it not logged\)", l)))
    assert len(lines) + left_out == 101, "every fault is either logged or counted as left out"


HELD_BACK = "module runaway: held back on worker 0 for "


@pytest.mark.parametrize("on_error", ON_ERROR)
def test_looping_module_is_held_back_to_its_share_of_the_worker(stavka, origin, on_error):
    # cpu_limit 10ms gives 20 ms of credit: at most two overruns pass (fewer when the first
    # trap takes longer, as Wasmtime's first backtrace does), the next puts the module in debt
    # and holds it back for the debt over the share (a second or more at 1%). Held back, its
    # requests get on_error at once, without running it; the other site is served throughout.
    p = start(stavka, origin, "loop", on_error, max_faults=100000, cpu_limit="10ms",
              fault_cpu_share=0.01)
    n = 30
    for i in range(n):
        expect_outcome(http_get(p.port, f"/size/{SIZE}?n={i}", host="runaway.test"), on_error)
        r = http_get(p.port, f"/size/{SIZE}?normal={i}", host="normal.test")
        assert r.status == 200 and r.body == pattern(SIZE)
    overruns = metric(p, "stavka_module_cpu_overruns_total")
    held = metric(p, "stavka_module_held_back_total")
    assert 1 <= overruns < n, overruns
    assert overruns + held == n, "each request either ran the module or was held back"
    failed = "stavka_module_failed_open_total" if on_error == "fail-open" else \
        "stavka_module_failed_closed_total"
    assert metric(p, failed) == n, "held back requests get the module's on_error outcome too"
    line = p.wait_stderr(lambda l: HELD_BACK in l)[0]
    assert "its faults took more than 1% of the worker's time (fault_cpu_share)" in line, line
    assert metric(p, "stavka_module_disabled") == 0


def test_held_back_module_runs_again_once_its_debt_is_repaid(stavka, origin):
    # At 25% the third overrun holds the module back for 4 times its debt (tens of
    # milliseconds); then it is called (and overruns) again.
    p = start(stavka, origin, "loop", "fail-closed", max_faults=100000, cpu_limit="10ms",
              fault_cpu_share=0.25)
    for i in range(3):
        assert http_get(p.port, f"/size/{SIZE}?n={i}", host="runaway.test").status == 503
    p.wait_stderr(lambda l: HELD_BACK in l)
    before = metric(p, "stavka_module_cpu_overruns_total")

    def called_again() -> bool:
        assert http_get(p.port, f"/size/{SIZE}?n=again", host="runaway.test").status == 503
        return metric(p, "stavka_module_cpu_overruns_total") > before

    assert wait_for(called_again, timeout=20), "the module must be called again once its share allows"


def test_faults_that_take_no_time_are_not_held_back(stavka, origin):
    # Traps cost next to no time: at the default share a module trapping on every request is
    # never held back (max_faults is what stops it).
    p = start(stavka, origin, "trap", "fail-open", max_faults=1000000, fault_cpu_share=0.02)
    for i in range(20):
        expect_outcome(http_get(p.port, f"/size/{SIZE}?n={i}", host="runaway.test"), "fail-open")
    assert metric(p, "stavka_module_traps_total") == 20
    assert metric(p, "stavka_module_held_back_total") == 0
