#!/usr/bin/env python3
"""Module hot swap under load: Stavka serves cache hits at full wrk rate, with the add_header
example module on every response, while the module is replaced N times (default 20) through
the admin API (PUT /api/v1/modules/add_header), alternating two versions that set different
values of X-Stavka-Module.

What it shows (docs/bench.md, "Module hot swap"):
  * no failed request: wrk's socket errors and non-2xx answers (counted by bench/hot_swap.lua
    on every response, not only wrk's own "Non-2xx or 3xx" line) must be 0, and every response
    must carry the module's header (a response without it ran without the module);
  * the new version is visible at once: after each push's answer the harness polls with a
    plain client (a new connection per request) until the new value shows; the delay from the
    answer to the first response with the new value must be <= --visible-ms (100);
  * push latency: from sending the PUT to its answer (compile, test start, saving the file,
    every worker switched), with the server's own load_ms and publish_ms from the answer.
A baseline wrk run of about the same length without pushes comes first (--no-baseline to skip), so
the throughput during the swaps can be compared with it.

Placement as in the other benchmarks: Stavka (one worker by default) on --proxy-cpu, wrk, the
origin (bench/origin.py) and this harness on --client-cpu.

The two versions are the add_header module as built by scripts/modules.sh (its default
header value "add-header", with an empty configuration) and the same bytes with that value
patched to "swapped-v2" in the data section: still valid WebAssembly, compiled anew on each push.

Python 3 standard library only. Exit status: 0 all targets met, 1 the harness could not run,
2 finished with warnings (a target missed, errors, a disturbed run), 130 interrupted.
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

from harness import (BENCH_DIR, PEERS_DIR, REPO, BenchError, BenchRun, CpuWindow, StavkaPeer,
                     admin_call,
                     add_machine_args, check_cpus, check_quiet, final_status, free_ports, http_get,
                     http_request, log, make_workdir, parse_wrk, run_wrk,
                     spawn, stop_peer, taskset, wait_ready, warn, write_results)
from origin import body_for

HEADER = "x-stavka-module"
V1, V2 = b"add-header", b"swapped-v2"
OBJECT = "/o/1024/0/hot-swap"


class HotSwapPeer(StavkaPeer):
    """Stavka from stavka-hot-swap.toml, with a private copy of the module (pushes write over
    the module's file) and the admin port."""

    def __init__(self, binary: Path, template: Path, module: bytes, workers: int):
        super().__init__("stavka", binary, template, {"WORKERS": str(workers)})
        self.module = module

    def prepare(self) -> None:
        (self.dir / "add_header.wasm").write_bytes(self.module)


def versions(module: Path) -> tuple[bytes, bytes]:
    v1 = module.read_bytes()
    if v1.count(V1) != 1:
        raise BenchError(f"{module}: expected its default header value {V1!r} exactly once")
    return v1, v1.replace(V1, V2)


# The admin token the proxy gets (STAVKA_ADMIN_TOKEN, set in main) and each push sends.
ADMIN_TOKEN = "stk_" + secrets.token_urlsafe(32)


def push(admin_port: int, body: bytes, timeout: float = 60) -> tuple[int, dict, float]:
    """PUT the module; returns (status, answer, seconds from the first byte sent to the
    complete answer)."""
    return admin_call(admin_port, "PUT", "/api/v1/modules/add_header", ADMIN_TOKEN, body, timeout)


def header_value(port: int) -> tuple[int, str | None]:
    status, headers, _ = http_request(port, OBJECT)
    return status, headers.get(HEADER)


def wait_visible(port: int, value: str, limit_s: float) -> tuple[float | None, int]:
    """Polls until `value` shows; returns (seconds until it did, or None; polls made)."""
    t0 = time.monotonic()
    polls = 0
    while True:
        polls += 1
        status, seen = header_value(port)
        if status == 200 and seen == value:
            return time.monotonic() - t0, polls
        if time.monotonic() - t0 > limit_s:
            return None, polls


def parse_lua(out: str) -> dict:
    m = re.search(r"hot_swap: responses=(\d+) non2xx=(\d+) none=(\d+)(.*)", out)
    if not m:
        raise BenchError(f"wrk printed no hot_swap line (bench/hot_swap.lua):\n{out}")
    values = {k: int(n) for k, n in re.findall(r"value:(\S+)=(\d+)", m.group(4))}
    return {"responses": int(m.group(1)), "non2xx": int(m.group(2)), "none": int(m.group(3)),
            "values": values}


def wrk_run(args, peer: HotSwapPeer, duration: float, log_path: Path, res: dict,
            during=None) -> dict:
    """wrk with the Lua counter. Without `during`: for `duration` s. With it: `during()` runs in
    this thread while wrk runs, and wrk is stopped (SIGINT) --lead s after it returns."""
    out_box: dict = {}
    wcpu: dict = {}
    stop_early = threading.Event()
    check_quiet(args, peer.name)
    window = CpuWindow(args, peer.pids(), [args.origin_pid])
    cap = duration if during is None else duration + 600

    def run():
        try:
            out_box["out"] = run_wrk(args, peer.port, cap, True, log_path, wcpu, OBJECT,
                                     BENCH_DIR / "hot_swap.lua",
                                     stop_early if during is not None else None)
        except BaseException as e:  # reported below, in the main thread
            out_box["error"] = e

    t = threading.Thread(target=run)
    t.start()
    try:
        if during:
            during()
            time.sleep(args.lead)
    finally:
        stop_early.set()
        t.join()
    window.stop()
    if "error" in out_box:
        raise out_box["error"]
    out = out_box["out"]
    w = parse_wrk(out)
    w["lua"] = parse_lua(out)
    res["wrk_output"] = out
    window.fill(res, w.get("requests"), wcpu.get("wrk_cpu_s", 0))
    return w


def summary(values: list[float]) -> dict:
    if not values:
        return {}
    s = sorted(values)
    return {"min": s[0], "median": statistics.median(s), "max": s[-1],
            "mean": statistics.fmean(s)}


def main(argv=None) -> int:
    os.environ["STAVKA_ADMIN_TOKEN"] = ADMIN_TOKEN  # the proxy inherits it
    ap = argparse.ArgumentParser(description="Module hot swap under wrk load (docs/bench.md)")
    ap.add_argument("--pushes", type=int, default=20, help="module swaps (20)")
    ap.add_argument("--interval", type=float, default=0.5,
                    help="pause after a push's new version showed, before the next push (0.5 s)")
    ap.add_argument("--lead", type=float, default=2, help="wrk runs this long before the first "
                    "push and after the last one's answer (2 s)")
    ap.add_argument("--visible-ms", type=float, default=100,
                    help="target: the new version answers within this many ms of the push's "
                         "answer (100)")
    ap.add_argument("--workers", type=int, default=1, help="Stavka workers (1)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    ap.add_argument("--wrk-timeout", type=float, default=2, help="wrk --timeout, s (2)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the wrk run without pushes")
    ap.add_argument("--stavka", default=str(REPO / "build" / "stavka"), help="Stavka binary")
    ap.add_argument("--module", default=str(REPO / "build" / "modules" / "add_header.wasm"),
                    help="the add_header module (scripts/modules.sh)")
    ap.add_argument("--out", help="JSON result path (default bench/results/hot-swap-<time>.json)")
    add_machine_args(ap, "CPU for wrk, the origin and the harness (1)")
    args = ap.parse_args(argv)
    # The baseline's length; the run with pushes lasts as long as they take, plus --lead.
    args.duration = args.lead * 2 + args.pushes * (args.interval + 0.5)
    results: list[dict] = []
    res: dict = {"name": "stavka", "errors": [], "pushes": []}
    with BenchRun(args, results) as run:
        for tool in ("wrk", "taskset"):
            if not shutil.which(tool):
                raise BenchError(f"{tool} not found: run scripts/setup.sh")
        check_cpus(args)
        v1, v2 = versions(Path(args.module))
        workdir = make_workdir(args.client_cpu, prefix="stavka-hot-swap-")
        run.workdir = workdir
        (origin_port,) = free_ports(1)
        (workdir / "origin").mkdir()
        origin_log = workdir / "origin" / "origin.log"
        origin = spawn(taskset(args.client_cpu, [sys.executable, str(BENCH_DIR / "origin.py"),
                                                 "--port", str(origin_port),
                                                 "--preload", "1024"]), origin_log)
        wait_ready(origin, origin_port, "/o/1024/0/origin-ready", body_for(1024), "origin",
                   origin_log, timeout=30)
        args.origin_pid = origin.pid
        peer = HotSwapPeer(Path(args.stavka).resolve(), PEERS_DIR / "stavka-hot-swap.toml", v1,
                           args.workers)
        results.append(res)
        try:
            peer.start(workdir, origin_port, args.proxy_cpu)
            peer.ready(OBJECT, body_for(1024))
            if header_value(peer.port)[1] != V1.decode():
                raise BenchError(f"the module's header is not {V1.decode()!r} before the run")
            log(f"stavka on 127.0.0.1:{peer.port} (admin {peer.admin_port}), "
                f"{args.workers} worker(s) on CPU {args.proxy_cpu}; wrk -c{args.connections}")
            if not args.no_baseline:
                base: dict = {}
                w = wrk_run(args, peer, args.duration, workdir / "wrk-baseline.log", base)
                res["baseline"] = {"wrk": w, **{k: v for k, v in base.items()
                                                if k != "wrk_output"}}
                log(f"baseline (no pushes): {w['requests_per_s']:,.0f} req/s")

            def swaps() -> None:
                time.sleep(args.lead)
                for i in range(args.pushes):
                    body, value = (v2, V2) if i % 2 == 0 else (v1, V1)
                    status, answer, took = push(peer.admin_port, body)
                    rec = {"n": i + 1, "status": status, "push_ms": took * 1e3,
                           "value": value.decode(), **{k: answer.get(k) for k in
                           ("generation", "previous_generation", "load_ms", "publish_ms",
                            "workers", "error", "message")}}
                    if status == 200:
                        seen, polls = wait_visible(peer.port, value.decode(), 5.0)
                        rec["visible_ms"] = None if seen is None else seen * 1e3
                        rec["polls"] = polls
                    res["pushes"].append(rec)
                    log(f"push {i + 1:2}: {status} generation {answer.get('generation')} in "
                        f"{took * 1e3:.1f} ms (load {answer.get('load_ms')} ms, publish "
                        f"{answer.get('publish_ms')} ms); visible after "
                        f"{rec.get('visible_ms', float('nan')):.2f} ms")
                    time.sleep(args.interval)

            w = wrk_run(args, peer, args.duration, workdir / "wrk-swaps.log", res, swaps)
            res["wrk"] = w
            metrics = http_get(peer.admin_port, "/metrics")[1].decode()
            res["module_metrics"] = [l for l in metrics.splitlines()
                                     if l.startswith("stavka_module_") and "add_header" in l]
        except BenchError as e:
            res["errors"].append(str(e))
            warn(str(e))
        finally:
            if peer.proc is not None:
                stop_peer(args, peer, res)
    rc = run.rc

    table = report(args, res)
    write_results(args, run.started, results, table, run.workdir, prefix="hot-swap-")
    return final_status(rc)


def report(args, res: dict) -> list[str]:
    lines: list[str] = []
    pushes = res.get("pushes", [])
    w = res.get("wrk")
    if not w:
        return lines
    lua = w["lua"]
    errors = sum(w["socket_errors"].values())
    ok = [p for p in pushes if p["status"] == 200]
    vis = [p["visible_ms"] for p in ok if p.get("visible_ms") is not None]
    push_ms = [p["push_ms"] for p in pushes]
    load_ms = [p["load_ms"] for p in ok if p.get("load_ms") is not None]
    publish_ms = [p["publish_ms"] for p in ok if p.get("publish_ms") is not None]
    s_vis, s_push, s_load, s_pub = summary(vis), summary(push_ms), summary(load_ms), summary(publish_ms)

    def row(name, s):
        if not s:
            return f"{name:<26} -"
        return (f"{name:<26} {s['min']:8.2f} {s['median']:8.2f} {s['max']:8.2f} "
                f"{s['mean']:8.2f}")

    lines.append(f"wrk during {len(pushes)} pushes: {w['requests_per_s']:,.0f} req/s, "
                 f"{lua['responses']:,} responses, socket errors {errors}, non-2xx "
                 f"{lua['non2xx']} (wrk's own count: {w['non_2xx_3xx']}), without the module's "
                 f"header {lua['none']}")
    lines.append("  header values seen: " + ", ".join(f"{k}={n:,}" for k, n in
                                                       sorted(lua["values"].items())))
    if "baseline" in res:
        b = res["baseline"]["wrk"]
        lines.append(f"baseline without pushes: {b['requests_per_s']:,.0f} req/s "
                     f"(during pushes {w['requests_per_s'] / b['requests_per_s']:.2f}x), "
                     f"socket errors {sum(b['socket_errors'].values())}, non-2xx "
                     f"{b['lua']['non2xx']}")
    lines.append(f"proxy CPU {res.get('proxy_cpu_util_pct')}%, client CPU "
                 f"{res.get('client_cpu_util_pct')}%")
    lines.append("")
    lines.append(f"{'ms':<26} {'min':>8} {'median':>8} {'max':>8} {'mean':>8}")
    lines.append(row("push (PUT to answer)", s_push))
    lines.append(row("  server: load", s_load))
    lines.append(row("  server: publish", s_pub))
    lines.append(row("visible after the answer", s_vis))
    lines.append("")
    failed_pushes = [p for p in pushes if p["status"] != 200]
    late = [p for p in ok if p.get("visible_ms") is None or p["visible_ms"] > args.visible_ms]
    targets = [
        ("0 socket errors", errors == 0),
        ("0 non-2xx responses", lua["non2xx"] == 0 and w["non_2xx_3xx"] == 0),
        ("every response ran the module", lua["none"] == 0),
        (f"{args.pushes} pushes answered 200", len(pushes) == args.pushes and not failed_pushes),
        (f"new version visible within {args.visible_ms:g} ms of each answer", not late),
    ]
    for what, good in targets:
        lines.append(f"  {'pass' if good else 'FAIL'}  {what}")
        if not good:
            warn(f"target missed: {what}")
    res["targets"] = [{"what": what, "ok": good} for what, good in targets]
    for e in res.get("errors", []):
        warn(e)
    print("\n" + "\n".join(lines))
    return lines


if __name__ == "__main__":
    sys.exit(main())
