#!/usr/bin/env python3
"""What a runaway module costs the other sites of its worker.

Stavka runs with one worker and two sites: `normal` (no module) and `runaway`, whose module
loops forever, allocates without bound or traps in proxy_on_request_headers
(tests/modules/runaway_{loop,grow,trap}.wat, built by scripts/modules.sh). For each module, and
for each state of it (`enabled`: max_faults so high it never gets disabled during the run;
`disabled`: hit until max_faults disabled it, then measured), in the same Stavka process:

  1. alone: wrk on the normal site (1 KiB cache hits) while a second wrk
     (--runaway-connections, default 1) hits a third site, `control`, that has no module:
     requests/s of the normal site next to a well-behaved neighbour;
  2. with runaway: the same two wrks, the second one on the runaway site instead; requests/s
     of the normal site, and of the runaway one.

Both runs thus load the client CPU alike: the ratio is what the module costs the normal site
beyond what any neighbour's requests cost.

Reported: the ratio with/alone for the normal site, the runaway client's requests/s and status,
the module's faults during the run. Everything but the proxy (both wrks, the origin, this
harness) runs on the client CPU; the proxy has CPU 0 to itself.

Python 3 standard library only; the machinery shared with bench/run.py and bench/cache.py is in
bench/harness.py. See docs/bench.md.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from harness import (BenchError, BenchRun, CpuWindow, PEERS_DIR, REPO, StavkaPeer,
                     add_machine_args, alive_check, exit_status_text, final_status, finish_wrk,
                     fmt, http_request, log,
                     measure_quietly, preflight_stavka, proc_tree, ratio, run_peer,
                     start_bench_origin, start_wrk, start_wrk_and_wait, stop, tail, warn,
                     write_results, wrk_argv, wrk_problems)
from origin import body_for

KINDS = ("loop", "grow", "trap")
STATES = ("enabled", "disabled")
ENABLED_MAX_FAULTS = 1000000  # the configuration's largest: never reached in a run
NORMAL, RUNAWAY, CONTROL = "normal.bench", "runaway.bench", "control.bench"

# --------------------------------------------------------------------------------------------
# The peer: Stavka from bench/peers/stavka-runaway.toml with the module of the run


def module_metrics(peer: StavkaPeer) -> dict[str, int]:
    st, _, body = http_request(peer.admin_port, "/metrics", timeout=10)
    if st != 200:
        raise BenchError(f"{peer.name}: /metrics answered {st}")
    out = {}
    for m in re.finditer(r'^stavka_module_(\w+)\{module="runaway"\} (\d+)$', body.decode(), re.M):
        out[m.group(1)] = int(m.group(2))
    return out


def faults(m: dict[str, int]) -> int:
    return m.get("cpu_overruns_total", 0) + m.get("traps_total", 0)


# --------------------------------------------------------------------------------------------
# One module in one state


def bench_case(args, workdir: Path, origin_port: int, origin_pid: int, kind: str,
               state: str) -> dict:
    module = Path(args.modules_dir) / f"runaway_{kind}.wasm"
    peer = StavkaPeer(f"stavka-{kind}-{state}", Path(args.stavka), Path(args.stavka_conf), {
        "MODULE": str(module), "ON_ERROR": args.on_error, "CPU_LIMIT": args.cpu_limit,
        "MEMORY_LIMIT": args.memory_limit,
        "MAX_FAULTS": str(ENABLED_MAX_FAULTS if state == "enabled" else args.max_faults),
        "FAULT_CPU_SHARE": f"{args.fault_cpu_share:g}"})
    size = args.size
    normal_path = f"/o/{size}/0/normal"
    runaway_path = f"/o/{size}/0/runaway"
    expected = body_for(size)
    res: dict = {"name": peer.name, "module": kind, "state": state, "on_error": args.on_error,
                 "errors": [], "suspect": []}

    def get(path: str, host: str) -> tuple[int, bytes]:
        st, _, body = http_request(peer.port, path, timeout=30, host=host)
        return st, body

    def body() -> None:
        peer.start(workdir, origin_port, args.proxy_cpu)
        peer.ready(normal_path, expected, host=NORMAL, timeout=args.start_timeout)
        check_alive = alive_check(peer, res)
        for _ in range(3):
            st, b = get(normal_path, NORMAL)
            if st != 200 or b != expected:
                raise BenchError(f"{peer.name}: warming {normal_path}: status {st}, {len(b)} bytes")
        want = 200 if args.on_error == "fail-open" else 503
        st, b = get(runaway_path, RUNAWAY)
        if st != want or (want == 200 and b != expected):
            raise BenchError(f"{peer.name}: GET {runaway_path} on the runaway site: status {st} "
                             f"(on_error {args.on_error}: {want} expected)")
        if state == "disabled":
            # Held back to fault_cpu_share, the module faults a few times a second at most.
            deadline = time.monotonic() + 120
            while module_metrics(peer).get("disabled") != 1 and time.monotonic() < deadline:
                get(runaway_path, RUNAWAY)
                time.sleep(0.01)
            if module_metrics(peer).get("disabled") != 1:
                raise BenchError(f"{peer.name}: the module is not disabled after 120 s of "
                                 f"faulting requests")
        res["metrics_before"] = module_metrics(peer)
        side = proc_tree(origin_pid)

        def beside(second_host: str, second_path: str, second_log: Path, tag: str, what: str,
                   attempt: str, into: dict) -> tuple[dict, float, str]:
            """The normal site's warm-up and measured run while a second client hits
            second_host; fills `into` with the normal site's figures and returns the second
            client's (parsed output, CPU s, output)."""
            second = start_wrk(wrk_argv(args, peer.port, second_host, args.runaway_connections,
                                        args.warmup + args.duration + 3, second_path),
                               second_log)
            try:
                start_wrk_and_wait(wrk_argv(args, peer.port, NORMAL, args.connections,
                                            args.warmup, normal_path),
                                   peer.dir / f"wrk-{tag}-warmup.log")
                check_alive(f"the warm-up {what}")
                log(f"{peer.name}: normal site {what}{attempt}")
                # The second wrk runs on the client CPU too: its CPU time counts with the
                # origin's, not as a disturbance.
                window = CpuWindow(args, peer.pids(), side + [second.pid])
                w, cpu_s, out = finish_wrk(start_wrk(
                    wrk_argv(args, peer.port, NORMAL, args.connections, args.duration,
                             normal_path), peer.dir / f"wrk-{tag}.log"),
                    peer.dir / f"wrk-{tag}.log", args.duration + 60)
                window.stop()
            except BaseException:
                stop(second, grace=2.0)
                raise
            second_result = finish_wrk(second, second_log, args.duration + 120)
            into["wrk"], into["wrk_output"] = w, out
            window.fill(into, w.get("requests"), cpu_s)
            check_alive(f"the run {what}")
            return second_result

        def attempt_text(n: int, of: int) -> str:
            return f" (attempt {n}/{of})" if n > 1 else ""

        # 1. the normal site next to the control one
        alone: dict = {"errors": [], "suspect": []}

        def attempt_alone(n: int, of: int) -> dict:
            alone["control_wrk"], _, _ = beside(
                CONTROL, normal_path, peer.dir / "wrk-control.log", "alone",
                "next to the control site", attempt_text(n, of), alone)
            return alone["wrk"]

        measure_quietly(args, f"{peer.name} alone", alone, attempt_alone)
        alone["errors"] += wrk_problems(f"{peer.name}: normal site alone", alone["wrk"], size, True)
        alone["errors"] += wrk_problems(f"{peer.name}: control client", alone["control_wrk"],
                                        size, True)
        res["alone"] = alone

        # 2. the normal site while a second client hits the runaway one
        both: dict = {"errors": [], "suspect": []}

        def attempt_with(n: int, of: int) -> dict:
            before = module_metrics(peer)
            rw, rcpu, rout = beside(
                RUNAWAY, runaway_path, peer.dir / "wrk-runaway.log", "with",
                f"while {args.runaway_connections} connection(s) hit the runaway site",
                attempt_text(n, of), both)
            after = module_metrics(peer)
            both["runaway_wrk"], both["runaway_wrk_output"] = rw, rout
            both["runaway_wrk_cpu_s"] = rcpu
            both["faults_during_run"] = faults(after) - faults(before)
            both["module_disabled_after"] = after.get("disabled")
            return both["wrk"]

        measure_quietly(args, f"{peer.name} with runaway", both, attempt_with)
        both["errors"] += wrk_problems(f"{peer.name}: normal site with runaway", both["wrk"],
                                       size, True)
        both["errors"] += wrk_problems(f"{peer.name}: runaway client", both["runaway_wrk"], size,
                                       args.on_error == "fail-open")
        if args.on_error == "fail-closed" and both["runaway_wrk"]["non_2xx_3xx"] != \
                both["runaway_wrk"].get("requests"):
            both["errors"].append(f"{peer.name}: fail-closed, yet the runaway client got "
                                  f"{both['runaway_wrk'].get('requests', 0) - both['runaway_wrk']['non_2xx_3xx']} "
                                  f"2xx responses")
        res["with_runaway"] = both
        res["metrics_after"] = module_metrics(peer)
        if state == "disabled" and both["faults_during_run"]:
            both["errors"].append(f"{peer.name}: the disabled module faulted "
                                  f"{both['faults_during_run']} times during the run")
        st, b = get(normal_path, NORMAL)
        if st != 200 or b != expected:
            res["errors"].append(f"{peer.name}: after the runs GET {normal_path}: status {st}, "
                                 f"{len(b)} bytes")
        res["errors"] += alone["errors"] + both["errors"]
        res["suspect"] += alone.get("suspect", []) + both.get("suspect", [])
        res["fault_log_lines"] = sum(1 for line in peer.log_path.read_text(errors="replace")
                                     .splitlines() if "module runaway: proxy_on_" in line)
        for e in res["errors"]:
            warn(e)

    run_peer(args, peer, res, body)
    return res


# --------------------------------------------------------------------------------------------
# The origin and the report


def print_report(args, results: list[dict]) -> list[str]:
    lines = []
    head = (f"{'module':<7} {'state':<9} {'alone req/s':>12} {'with req/s':>11} {'ratio':>6}  "
            f"{'CPU ratio':>9}  {'runaway req/s':>13} {'faults':>7} {'CPU0%':>6} {'CPU1%':>6}  "
            f"status")
    lines += ["", f"normal site: {args.size} B hits, wrk -c{args.connections}; runaway site: "
              f"wrk -c{args.runaway_connections}; module on_error {args.on_error}, cpu_limit "
              f"{args.cpu_limit}, memory_limit {args.memory_limit}, fault_cpu_share "
              f"{args.fault_cpu_share:g}", "", head, "-" * len(head)]
    for r in results:
        a, b = r.get("alone", {}), r.get("with_runaway", {})
        ra = a.get("wrk", {}).get("requests_per_s")
        rb = b.get("wrk", {}).get("requests_per_s")
        rr = b.get("runaway_wrk", {}).get("requests_per_s")
        # Normal requests per second of the proxy's CPU, with / alone: the share of the worker
        # the normal site still gets, whatever else ran on the proxy's CPU.
        cpu_ratio = ratio(a.get("cpu_us_per_req"), b.get("cpu_us_per_req"))
        status = "ERRORS" if r["errors"] else ("SUSPECT (load)" if r["suspect"] else "ok")
        lines.append(f"{r['module']:<7} {r['state']:<9} {fmt(ra, ',.0f'):>12} {fmt(rb, ',.0f'):>11} "
                     f"{fmt(ratio(rb, ra), '.3f'):>6}  {fmt(cpu_ratio, '.3f'):>9}  "
                     f"{fmt(rr, ',.0f'):>13} "
                     f"{fmt(b.get('faults_during_run'), ',d'):>7} "
                     f"{fmt(b.get('proxy_cpu_util_pct'), '.0f'):>6} "
                     f"{fmt(b.get('client_cpu_util_pct'), '.0f'):>6}  {status}")
    lines += ["", "alone: the normal site's req/s while the second client hits the control site "
              "(no module); with: while it hits the runaway one",
              "ratio: the normal site's req/s with the runaway client / alone, same process "
              "(1.0: unaffected)",
              "CPU ratio: the normal site's requests per second of proxy CPU, with / alone (the "
              "share of the worker it keeps; less sensitive to other load on the machine)",
              "CPU0/CPU1: utilisation during the run with the runaway client"]
    print("\n".join(lines))
    return lines


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="A well-behaved site's throughput while another "
                                 "site of the same worker runs a runaway module (docs/bench.md)")
    ap.add_argument("--modules", default=",".join(KINDS), help="runaway modules (loop,grow,trap)")
    ap.add_argument("--states", default=",".join(STATES),
                    help="enabled (never disabled during the run), disabled (after max_faults)")
    ap.add_argument("--size", type=int, default=1024, help="normal site's object, bytes (1024)")
    ap.add_argument("--duration", type=float, default=10, help="measured wrk run, s (10)")
    ap.add_argument("--warmup", type=float, default=2, help="warm-up wrk run, s (2)")
    ap.add_argument("--connections", type=int, default=64, help="normal site's wrk connections (64)")
    ap.add_argument("--runaway-connections", type=int, default=1,
                    help="runaway client's wrk connections (1)")
    ap.add_argument("--wrk-timeout", type=float, default=5, help="wrk --timeout, s (5)")
    ap.add_argument("--on-error", default="fail-open", choices=("fail-open", "fail-closed"))
    ap.add_argument("--cpu-limit", default="10ms", help="the module's cpu_limit (10ms, the default)")
    ap.add_argument("--memory-limit", default="64MiB",
                    help="the module's memory_limit (64MiB, the default)")
    ap.add_argument("--fault-cpu-share", type=float, default=0.02,
                    help="the module's fault_cpu_share (0.02, the default; 1 never holds it back)")
    ap.add_argument("--max-faults", type=int, default=10,
                    help="max_faults for the disabled state (10, the default)")
    ap.add_argument("--stavka", default=str(REPO / "build" / "stavka"), help="Stavka binary")
    ap.add_argument("--stavka-conf", default=str(PEERS_DIR / "stavka-runaway.toml"),
                    help="Stavka config template")
    ap.add_argument("--modules-dir", default=str(REPO / "build" / "modules"),
                    help="where runaway_*.wasm are (scripts/modules.sh)")
    ap.add_argument("--start-timeout", type=float, default=30, help="s for Stavka to answer (30)")
    add_machine_args(ap, "CPU for both wrks, the origin and the harness (1)")
    ap.add_argument("--out", help="JSON result path (default bench/results/runaway-<timestamp>.json)")
    args = ap.parse_args(argv)
    args.modules = [x.strip() for x in args.modules.split(",") if x.strip()]
    args.states = [x.strip() for x in args.states.split(",") if x.strip()]
    for x in args.modules:
        if x not in KINDS:
            ap.error(f"--modules: unknown module {x!r} ({', '.join(KINDS)})")
    for x in args.states:
        if x not in STATES:
            ap.error(f"--states: unknown state {x!r} ({', '.join(STATES)})")
    args.threads = 1  # for the harness's wrk accounting
    # The proxy runs in its own directory: paths from the command line are made absolute.
    args.stavka = str(Path(args.stavka).resolve())
    args.modules_dir = str(Path(args.modules_dir).resolve())
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    results: list[dict] = []
    with BenchRun(args, results) as run:
        preflight_stavka(args, files=[Path(args.modules_dir) / f"runaway_{kind}.wasm"
                                      for kind in args.modules])
        workdir = run.make_workdir("stavka-runaway-bench-")
        origin, origin_port, origin_dir = start_bench_origin(args, workdir, [args.size])
        for kind in args.modules:
            for state in args.states:
                results.append(bench_case(args, workdir, origin_port, origin.pid, kind, state))
                if origin.poll() is not None:
                    raise BenchError(f"origin died ({exit_status_text(origin.returncode)}): "
                                     f"{tail(origin_dir / 'origin.log')}")
    rc = run.rc
    if results:
        table = print_report(args, results)
        write_results(args, run.started, results, table, workdir, prefix="runaway-")
    return final_status(rc)


if __name__ == "__main__":
    sys.exit(main())
