#!/usr/bin/env python3
"""What a module costs a cache hit: CPU per request with and without it, in one Stavka process.

Stavka runs with one worker and three sites that differ only in their modules
(bench/peers/stavka-module-cost.toml): `plain.bench` (none), `module.bench` (the add_header
example, one instance per worker) and `request.bench` (the same module with
isolation = "request": a fresh instance per request). Each site serves the same 1 KiB object
from the cache.

A round measures one wrk window (--window seconds, wrk -t1 -c64 at full rate) on each site, in
turn, alternating the order from round to round (plain, module, request; then request, module,
plain) so that a drift of the machine during the run falls on every site alike. A window's
figure is the proxy's CPU time over it (every thread, in nanoseconds from
/proc/PID/task/TID/schedstat) divided by the requests wrk completed. The module's cost in a
round is its site's figure minus the plain site's in that round; the result is the median over
the rounds (target: at most 1 µs), and the same for isolation = "request" (reported).

Measuring within one process leaves out what differs between two processes started apart (where
the allocator and the kernel placed their memory, the state of the machine): only the module
differs between the windows. The site's requests in a window all hit one object, so the origin
sees none (checked).

nginx (the shared caching peer, /work/shared/bench-peers/nginx) then serves the same 1 KiB hit
for --nginx-windows windows: the report gives each site's CPU per hit as a ratio to nginx's.

Python 3 standard library only; the shared machinery is in bench/harness.py. See docs/bench.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from cache import origin_count
from harness import (BenchError, BenchRun, NginxPeer, PEERS_DIR, REPO, StavkaPeer,
                     add_machine_args, alive_check, check_quiet, cpu_ns, cpu_times, cpu_util,
                     final_status, finish_wrk, fmt, http_request, log,
                     preflight_stavka, ratio, run_peer, start_bench_origin,
                     start_wrk, start_wrk_and_wait, warn, write_results, wrk_argv, wrk_problems)
from origin import body_for

SITES = ("plain", "module", "request")
MODULE_HEADER = "x-stavka-module"
TARGET_US = 1.0  # the add_header module's cost per 1 KiB hit, at most


def window(args, peer, host: str, path: str, log_path: Path) -> dict:
    """One measured wrk window on `host`: requests, req/s, the proxy's CPU ns per request."""
    pids = peer.pids()
    t0, s0, c0 = time.monotonic(), cpu_times(), cpu_ns(pids)
    # No --latency: wrk's own CPU per request stays low, so that it keeps up with the proxy.
    argv = wrk_argv(args, peer.port, host, args.connections, args.window, path, latency=False)
    w, wrk_cpu_s, _ = finish_wrk(start_wrk(argv, log_path), log_path, args.window + 60)
    c1, s1, t1 = cpu_ns(pids), cpu_times(), time.monotonic()
    util = cpu_util(s0, s1)
    requests = w.get("requests") or 0
    proxy_pct = 100.0 * (c1 - c0) / 1e9 / (t1 - t0)
    return {"requests": requests, "requests_per_s": w.get("requests_per_s"),
            "cpu_ns_per_req": (c1 - c0) / requests if requests else None,
            "proxy_cpu_pct": round(proxy_pct, 1),
            # Whatever else ran on the proxy's CPU (/proc/stat counts in 10 ms ticks).
            "other_on_proxy_cpu_pct": round((util.get(f"cpu{args.proxy_cpu}") or 0) - proxy_pct, 1),
            "proxy_cpu_util_pct": util.get(f"cpu{args.proxy_cpu}"),
            "client_cpu_util_pct": util.get(f"cpu{args.client_cpu}"),
            "wrk_cpu_s": wrk_cpu_s,
            "problems": wrk_problems(f"{host}: window", w, args.size, True)}


def site_host(site: str) -> str:
    return f"{site}.bench"


def check_site(peer, site: str, path: str, expected: bytes) -> None:
    """The site answers `path` with the object, with the module's field exactly when it has
    the module."""
    st, headers, body = http_request(peer.port, path, timeout=30, host=site_host(site))
    if st != 200 or body != expected:
        raise BenchError(f"{site}: GET {path}: status {st}, {len(body)} bytes (200 and "
                         f"{len(expected)} expected)")
    has = MODULE_HEADER in headers
    if has != (site != "plain"):
        raise BenchError(f"{site}: GET {path}: {MODULE_HEADER} {'present' if has else 'missing'}")


def bench_stavka(args, workdir: Path, origin_port: int, number: int, last: bool) -> dict:
    """Process `number` (from 1): its module rounds, and (the last process) the request ones."""
    peer = StavkaPeer(f"stavka-{number}", Path(args.stavka), Path(args.stavka_conf))
    path = f"/o/{args.size}/0/module-cost"
    expected = body_for(args.size)
    res: dict = {"name": peer.name, "phases": {}, "errors": [], "suspect": []}
    phases = [(site, n) for site, n in (("module", args.rounds),
                                         ("request", args.request_rounds if last else 0)) if n]

    def body() -> None:
        peer.start(workdir, origin_port, args.proxy_cpu)
        peer.ready(path, expected, host=site_host("plain"), timeout=args.start_timeout)
        check_alive = alive_check(peer, res)
        for site in SITES:
            for _ in range(3):  # the first a miss (a fill), then hits
                check_site(peer, site, path, expected)
        origin_before = origin_count(origin_port, path)
        for site, rounds in phases:
            pair = ("plain", site)
            for s in pair:  # compiled code, instance pools and caches warm before measuring
                start_wrk_and_wait(wrk_argv(args, peer.port, site_host(s), args.connections,
                                            args.warmup, path, latency=False),
                                   peer.dir / f"wrk-warmup-{site}-{s}.log")
            check_alive("the warm-up")
            res["phases"][site] = []
            for n in range(rounds):
                for attempt in range(args.retries + 1):
                    res["background_cpu_pct"] = check_quiet(args, f"{site} round {n + 1}")
                    r: dict = {}
                    for s in (pair if n % 2 == 0 else reversed(pair)):
                        r[s] = window(args, peer, site_host(s), path,
                                      peer.dir / f"wrk-{site}-{n + 1}-{s}.log")
                        res["errors"] += r[s].pop("problems")
                        check_alive(f"{site} round {n + 1} on {s}")
                    other = max(r[s]["other_on_proxy_cpu_pct"] for s in pair)
                    if other <= args.max_background:
                        break
                    msg = (f"{site} round {n + 1}: {other}% of the proxy's CPU went to other "
                           f"processes during a window")
                    if attempt == args.retries:
                        warn(msg + "; figures are suspect", res["suspect"])
                    else:
                        log(msg + "; measuring the round again")
                res["phases"][site].append(r)
                log(f"{peer.name}: {site} round {n + 1}/{rounds}: " + ", ".join(
                    f"{s} {fmt(us_per_hit(r[s]), '.2f')} µs" for s in pair))
        res["origin_requests_during_runs"] = origin_count(origin_port, path) - origin_before
        if res["origin_requests_during_runs"]:
            res["errors"].append(f"NOT SERVED FROM CACHE: the origin got "
                                 f"{res['origin_requests_during_runs']} requests during the runs")
        for site in SITES:
            check_site(peer, site, path, expected)
        for e in res["errors"]:
            warn(e)

    run_peer(args, peer, res, body)
    return res


def us_per_hit(w: dict) -> float | None:
    return w["cpu_ns_per_req"] / 1000 if w.get("cpu_ns_per_req") else None


def bench_nginx(args, workdir: Path, origin_port: int) -> dict:
    peer = NginxPeer("nginx", Path(args.peers_dir) / "nginx" / "nginx.conf", "PORT_MAIN")
    path = f"/o/{args.size}/0/module-cost-nginx"
    expected = body_for(args.size)
    res: dict = {"name": peer.name, "windows": [], "errors": [], "suspect": []}

    def body() -> None:
        peer.start(workdir, origin_port, args.proxy_cpu)
        peer.ready(path, expected, timeout=args.start_timeout)
        check_alive = alive_check(peer, res)
        for _ in range(3):
            http_request(peer.port, path, timeout=30)
        start_wrk_and_wait(wrk_argv(args, peer.port, "bench", args.connections, args.warmup,
                                    path, latency=False), peer.dir / "wrk-warmup.log")
        before = origin_count(origin_port, path)
        for n in range(args.nginx_windows):
            check_quiet(args, f"nginx window {n + 1}")
            w = window(args, peer, "bench", path, peer.dir / f"wrk-{n + 1}.log")
            res["errors"] += w.pop("problems")
            res["windows"].append(w)
            check_alive(f"window {n + 1}")
        if origin_count(origin_port, path) != before:
            res["errors"].append("nginx: NOT SERVED FROM CACHE during the windows")
        for e in res["errors"]:
            warn(e)

    run_peer(args, peer, res, body)
    return res


def rounds_of(stavkas: list[dict], site: str) -> list[dict]:
    return [r for st in stavkas for r in st["phases"].get(site, [])]


def cost(r: dict, site: str) -> float | None:
    a, b = us_per_hit(r["plain"]), us_per_hit(r[site])
    return b - a if a and b else None


def summary(stavkas: list[dict], nginx: dict | None) -> dict:
    """Per phase, over every process's rounds: each round's cost (the site's CPU µs per hit
    minus plain's in that round) and their median, and each process's median; per site, the
    median CPU µs per hit, and its ratio to nginx's median."""
    out: dict = {"cpu_us_per_hit": {}}
    for site in ("module", "request"):
        rounds = rounds_of(stavkas, site)
        if not rounds:
            continue
        costs = [c for c in (cost(r, site) for r in rounds) if c is not None]
        out[f"{site}_cost_us"] = costs
        out[f"{site}_cost_median_us"] = statistics.median(costs) if costs else None
        by_process = []
        for st in stavkas:
            c = [x for x in (cost(r, site) for r in st["phases"].get(site, [])) if x is not None]
            if c:
                by_process.append(statistics.median(c))
        out[f"{site}_cost_median_by_process_us"] = by_process
        for s in ("plain", site):
            v = [us_per_hit(r[s]) for r in rounds if us_per_hit(r[s])]
            if v and s not in out["cpu_us_per_hit"]:
                out["cpu_us_per_hit"][s] = statistics.median(v)
    if nginx and nginx["windows"]:
        n = statistics.median(us_per_hit(w) for w in nginx["windows"] if us_per_hit(w))
        out["nginx_cpu_us_per_hit"] = n
        out["to_nginx"] = {s: ratio(v, n) for s, v in out["cpu_us_per_hit"].items()}
    return out


def print_report(args, stavkas: list[dict], nginx: dict | None, s: dict) -> tuple[list[str], dict]:
    lines = ["", f"{args.size} B cache hits, wrk -t1 -c{args.connections}, {args.window:g} s "
             f"windows, plain and one module site per round (order alternating), "
             f"{len(stavkas)} Stavka processes; CPU: the proxy's, all threads"]
    for site in ("module", "request"):
        if not rounds_of(stavkas, site):
            continue
        head = f"{'round':<14}" + "".join(f"{x + ' µs/hit':>16}{'req/s':>10}"
                                          for x in ("plain", site)) + f"{'cost µs':>10}"
        lines += ["", head, "-" * len(head)]
        for st in stavkas:
            for i, r in enumerate(st["phases"].get(site, [])):
                lines.append(f"{st['name'] + ' ' + str(i + 1):<14}" + "".join(
                    f"{fmt(us_per_hit(r[x]), '.2f'):>16}{fmt(r[x]['requests_per_s'], ',.0f'):>10}"
                    for x in ("plain", site)) + f"{fmt(cost(r, site), '.2f'):>10}")
    lines.append("")
    for site, v in s["cpu_us_per_hit"].items():
        to = (s.get("to_nginx") or {}).get(site)
        lines.append(f"  {site:<8} median {v:.2f} µs per hit"
                     + (f"   {to:.2f}x nginx's" if to is not None else ""))
    if s.get("nginx_cpu_us_per_hit") is not None:
        lines.append(f"  {'nginx':<8} median {s['nginx_cpu_us_per_hit']:.2f} µs per hit "
                     f"({len(nginx['windows'])} windows)")
    median = s.get("module_cost_median_us")
    ok = median is not None and median <= TARGET_US and not any(st["errors"] for st in stavkas)
    lines += ["", "TARGET",
              f"  add_header module cost per 1 KiB hit (median of all rounds) "
              f"{fmt(median, '.2f')} µs   target <= {TARGET_US:g} µs   "
              f"{'pass' if ok else 'FAIL'}",
              "    per process (median): " + ", ".join(
                  fmt(c, ".2f") for c in s.get("module_cost_median_by_process_us", [])) + " µs"]
    if s.get("request_cost_us"):
        lines += [f"  isolation = \"request\" cost per hit (median of rounds, reported)   "
                  f"{fmt(s['request_cost_median_us'], '.2f')} µs",
                  "    per round: " + ", ".join(f"{c:.2f}" for c in s["request_cost_us"]) + " µs"]
    print("\n".join(lines))
    return lines, {"module_cost_us": median, "target_us": TARGET_US, "met": ok}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="CPU per cache hit with and without a module, in "
                                 "one Stavka process (docs/bench.md)")
    ap.add_argument("--processes", type=int, default=3,
                    help="Stavka processes started in turn, each measured alike (3)")
    ap.add_argument("--rounds", type=int, default=7,
                    help="rounds of plain and module windows per process (7)")
    ap.add_argument("--request-rounds", type=int, default=5,
                    help="then, in the last process, rounds of plain and isolation = \"request\" "
                         "windows (5; 0: none)")
    ap.add_argument("--window", type=float, default=3, help="measured wrk window, s (3)")
    ap.add_argument("--warmup", type=float, default=2, help="warm-up wrk run per site, s (2)")
    ap.add_argument("--size", type=int, default=1024, help="the object, bytes (1024)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    ap.add_argument("--wrk-timeout", type=float, default=5, help="wrk --timeout, s (5)")
    ap.add_argument("--nginx-windows", type=int, default=5,
                    help="windows measured on nginx after Stavka's rounds (5; 0: no nginx)")
    ap.add_argument("--stavka", default=str(REPO / "build" / "stavka"), help="Stavka binary")
    ap.add_argument("--stavka-conf", default=str(PEERS_DIR / "stavka-module-cost.toml"),
                    help="Stavka config template")
    ap.add_argument("--peers-dir", default="/work/shared/bench-peers",
                    help="the peer templates (nginx)")
    ap.add_argument("--start-timeout", type=float, default=30, help="s for a proxy to answer (30)")
    add_machine_args(ap, "CPU for wrk, the origin and the harness (1)")
    ap.add_argument("--strict", action="store_true", help="exit 3 when the target is missed")
    ap.add_argument("--out", help="JSON result path (default bench/results/module-cost-<timestamp>.json)")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.processes < 1:
        ap.error("--rounds and --processes must be at least 1")
    args.threads = 1  # for the harness's wrk accounting
    args.stavka = str(Path(args.stavka).resolve())
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    results: list[dict] = []
    with BenchRun(args, results) as run:
        preflight_stavka(args, ["wrk", "taskset"] + (["nginx"] if args.nginx_windows else []),
                         [REPO / "build" / "modules" / "add_header.wasm"])
        workdir = run.make_workdir("stavka-module-cost-")
        _, origin_port, _ = start_bench_origin(args, workdir, [args.size])
        for n in range(1, args.processes + 1):
            results.append(bench_stavka(args, workdir, origin_port, n, n == args.processes))
        if args.nginx_windows:
            results.append(bench_nginx(args, workdir, origin_port))
    rc = run.rc
    stavkas = [r for r in results if r["name"].startswith("stavka-")]
    nginx = next((r for r in results if r["name"] == "nginx"), None)
    target = None
    if rounds_of(stavkas, "module"):
        s = summary(stavkas, nginx)
        table, target = print_report(args, stavkas, nginx, s)
        write_results(args, run.started, results, table, run.workdir, prefix="module-cost-",
                      summary=s, target=target)
    rc = final_status(rc)
    if rc == 0 and args.strict and not (target and target["met"]):
        return 3
    return rc


if __name__ == "__main__":
    sys.exit(main())
