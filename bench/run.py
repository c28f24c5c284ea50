#!/usr/bin/env python3
"""Side-by-side benchmark of Stavka and nginx as plain reverse proxies.

One run: start an origin (a private nginx serving one static file, pinned to the client CPU),
then for each proxy (pinned to the proxy CPU, one worker):
  * wrk throughput and latency (warm-up, then the measured run),
  * the proxy's CPU time per request (/proc/PID/stat) and CPU utilisation (/proc/stat),
  * its memory after the run,
  * the memory cost of idle keep-alive connections.
Prints a table with Stavka/nginx ratios and writes JSON to bench/results/<timestamp>.json.

Python 3 standard library only; the machinery shared with bench/cache.py is in
bench/harness.py. See docs/bench.md.
"""
from __future__ import annotations

import argparse
import errno
import os
import re
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from harness import (BenchRun, CLK_TCK, PEERS_DIR, REPO, BenchError, add_machine_args, free_ports,
                     alive_check, check_cpus, cpu_ticks, run_peer, stavka_peer, NginxPeer, Peer,
                     final_status, finish_wrk, fmt, http_get, log, make_workdir, measure_quietly,
                     measure_wrk, memory, proc_tree, ratio, render_template, run_wrk, spawn,
                     start_wrk, stop_peer, tail, taskset, exit_status_text, wait_ready, warn,
                     write_results, wrk_argv, wrk_problems)

# --------------------------------------------------------------------------------------------
# Origin status


def origin_status(port: int) -> dict:
    """nginx stub_status of the origin: accepts, handled, requests, active, ..."""
    st, body = http_get(port, "/__origin_status")
    if st != 200:
        return {}
    t = body.decode()
    m = re.search(r"\s(\d+)\s+(\d+)\s+(\d+)\s", t)
    a = re.search(r"Active connections:\s*(\d+)", t)
    return {"accepts": int(m.group(1)), "requests": int(m.group(3)),
            "active": int(a.group(1)) if a else None} if m else {}

# --------------------------------------------------------------------------------------------
# Idle keep-alive connections


class _Conn:
    __slots__ = ("sock", "state", "buf", "sent")

    def __init__(self, sock):
        self.sock, self.state, self.buf, self.sent = sock, "connect", b"", 0


def _response_complete(buf: bytes) -> tuple[bool, int | None]:
    """(complete, status) for one HTTP/1.1 response in buf."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False, None
    head = buf[:end].decode("latin-1")
    lines = head.split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    body = buf[end + 4:]
    clen, chunked = None, False
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        k = k.strip().lower()
        if k == "content-length":
            clen = int(v.strip())
        elif k == "transfer-encoding" and "chunked" in v.lower():
            chunked = True
    if chunked:
        return body.endswith(b"0\r\n\r\n"), status
    if clen is not None:
        return len(body) >= clen, status
    return False, status  # read-until-close body: not a keep-alive response


def open_idle(port: int, n: int, concurrency: int, timeout: float) -> tuple[list, dict]:
    """Opens n keep-alive connections, one full GET /file on each, and leaves them idle."""
    req = b"GET /file HTTP/1.1\r\nHost: bench\r\n\r\n"
    sel = selectors.DefaultSelector()
    idle: list[socket.socket] = []
    fails: dict[str, int] = {}
    started = inflight = 0
    deadline = time.monotonic() + timeout

    def fail(c: _Conn, why: str) -> None:
        nonlocal inflight
        fails[why] = fails.get(why, 0) + 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        inflight -= 1

    try:
        while len(idle) + sum(fails.values()) < n:
            while inflight < concurrency and started < n:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                started += 1
                err = s.connect_ex(("127.0.0.1", port))
                if err not in (0, errno.EINPROGRESS):
                    fails[f"connect: {os.strerror(err)}"] = fails.get(
                        f"connect: {os.strerror(err)}", 0) + 1
                    s.close()
                    continue
                sel.register(s, selectors.EVENT_WRITE, _Conn(s))
                inflight += 1
            if time.monotonic() > deadline:
                for key in list(sel.get_map().values()):
                    fail(key.data, f"not done after {timeout:g}s ({key.data.state})")
                break
            for key, _ in sel.select(timeout=0.5):
                c: _Conn = key.data
                try:
                    if c.state == "connect":
                        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if err:
                            fail(c, f"connect: {os.strerror(err)}")
                            continue
                        c.state = "send"
                    if c.state == "send":
                        c.sent += c.sock.send(req[c.sent:])
                        if c.sent == len(req):
                            c.state = "read"
                            sel.modify(c.sock, selectors.EVENT_READ, c)
                        continue
                    data = c.sock.recv(65536)
                    if not data:
                        fail(c, "closed by proxy before the response was complete")
                        continue
                    c.buf += data
                    done, status = _response_complete(c.buf)
                    if done:
                        if status != 200:
                            fail(c, f"status {status}")
                            continue
                        sel.unregister(c.sock)
                        inflight -= 1
                        idle.append(c.sock)
                except BlockingIOError:
                    pass
                except OSError as e:
                    fail(c, f"{c.state}: {e.strerror or e}")
                except (ValueError, IndexError):
                    fail(c, "malformed response")
    finally:
        sel.close()
    return idle, fails


def count_open(socks: list[socket.socket]) -> tuple[int, int]:
    """(still open, closed or reset by the proxy) without consuming data."""
    open_, closed = 0, 0
    for s in socks:
        try:
            data = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            if data:
                open_ += 1  # unexpected data, but the connection is open
            else:
                closed += 1
        except BlockingIOError:
            open_ += 1
        except OSError:
            closed += 1
    return open_, closed


def close_all(socks: list[socket.socket]) -> None:
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# One peer


def measured_run(args, peer: Peer, origin_pid: int, res: dict) -> dict:
    """The wrk run with --latency, with CPU accounting around it. Fills res; returns wrk's."""
    os0 = origin_status(args.origin_port)
    w = measure_wrk(args, peer.port, "/file", peer.pids(), proc_tree(origin_pid),
                    peer.dir / "wrk.log", res)
    os1 = origin_status(args.origin_port)
    if os0 and os1:
        # Connections the proxy opened to the origin (a proxy that keeps its upstream
        # connections opens few; churn here costs both the proxy and the origin CPU).
        # The two status requests themselves are subtracted.
        res["origin_connections_opened"] = os1["accepts"] - os0["accepts"] - 1
        res["origin_requests"] = os1["requests"] - os0["requests"] - 1
        res["origin_active_connections_after"] = os1["active"] - 1
    return w


def bench_peer(args, peer: Peer, workdir: Path, origin_port: int, origin_pid: int,
               expect: bytes, idle: bool = True) -> dict:
    res: dict = {"name": peer.name, "errors": [], "suspect": []}
    log(f"{peer.name}: starting (pinned to CPU {args.proxy_cpu})")

    check_alive = alive_check(peer, res)

    def body() -> None:
        peer.start(workdir, origin_port, args.proxy_cpu)
        res["port"] = peer.port
        res["start_command"] = " ".join(peer.proc.args)
        wait_ready(peer.proc, peer.port, "/file", expect, peer.name, peer.log_path)
        res["pids"] = peer.pids()
        res["memory_start"] = memory(res["pids"])

        def attempt(n: int, of: int) -> dict:
            log(f"{peer.name}: warm-up {args.warmup:g}s")
            run_wrk(args, peer.port, args.warmup, False, peer.dir / "wrk-warmup.log")
            check_alive("warm-up")
            log(f"{peer.name}: measured run: wrk -t{args.threads} -c{args.connections} "
                f"-d{args.duration:g}s on CPU {args.client_cpu}"
                + (f" (attempt {n}/{of})" if n > 1 else ""))
            w = measured_run(args, peer, origin_pid, res)
            check_alive("the measured run")
            return w

        w = measure_quietly(args, peer.name, res, attempt)

        errs = w["socket_errors"]
        if sum(errs.values()) or w["non_2xx_3xx"]:
            msg = (f"{peer.name}: wrk reported ERRORS in the measured run: socket errors "
                   f"connect {errs['connect']}, read {errs['read']}, write {errs['write']}, "
                   f"timeout {errs['timeout']}; non-2xx/3xx responses {w['non_2xx_3xx']} "
                   f"(of {w.get('requests')})")
            res["errors"].append(msg)
            warn(msg)
        if w.get("requests") and w.get("bytes_read"):
            per = w["bytes_read"] / w["requests"]
            res["bytes_per_response"] = round(per)
            # wrk counts the bytes of responses still in flight when it stops but not those
            # requests, and prints bytes rounded to 2 decimals: allow for both. A complete
            # response is the body plus well under 2 KiB of head.
            rounding = w["bytes_read_rounding"] / w["requests"]
            in_flight = args.connections * (args.size + 2048) / w["requests"]
            if per < args.size - rounding or per > args.size + 2048 + rounding + in_flight:
                msg = (f"{peer.name}: {per:.0f} bytes read per response, for a {args.size}-byte "
                       f"body: truncated or wrong responses")
                res["errors"].append(msg)
                warn(msg)
        # still serving correctly after the load?
        st, body = http_get(peer.port, "/file")
        if st != 200 or body != expect:
            msg = f"{peer.name}: after the run GET /file gave status {st}, {len(body)} bytes"
            res["errors"].append(msg)
            warn(msg)

        time.sleep(1.0)  # let wrk's connections close
        res["pids"] = peer.pids()
        res["memory_after_run"] = memory(res["pids"])

        if idle and args.idle > 0:
            res["idle"] = idle_test(args, peer, res)
            check_alive("the idle-connection test")

    return run_peer(args, peer, res, body)


def idle_test(args, peer: Peer, res: dict) -> dict:
    n = args.idle
    pids = peer.pids()
    before = memory(pids)
    log(f"{peer.name}: idle test: opening {n} keep-alive connections (one GET each)")
    t0 = time.monotonic()
    socks, fails = open_idle(peer.port, n, args.idle_concurrency, args.idle_timeout)
    took = time.monotonic() - t0
    try:
        time.sleep(args.idle_settle)
        pids = peer.pids()
        after = memory(pids)
        open_, closed = count_open(socks)
        r = {"requested": n, "established": len(socks), "failed": fails,
             "open_s": round(took, 2), "still_open_at_measurement": open_,
             "closed_by_proxy_before_measurement": closed,
             "before": before, "after": after}
        key = "pss" if before["pss"] is not None and after["pss"] is not None else "rss"
        r["metric"] = key
        if open_:
            r["bytes_per_conn"] = (after[key] - before[key]) / open_
            r["rss_bytes_per_conn"] = (after["rss"] - before["rss"]) / open_
        else:
            r["bytes_per_conn"] = None
        log(f"{peer.name}: idle test: {len(socks)}/{n} established in {took:.1f}s, "
            f"{open_} still open; {key} {before[key] / 2**20:.1f} -> "
            f"{after[key] / 2**20:.1f} MiB")
        if fails or closed or open_ < n:
            msg = (f"{peer.name}: idle test: only {open_} of {n} connections idle and open "
                   f"(failures: {fails or 'none'}; closed by the proxy: {closed}); "
                   f"B/conn is per open connection")
            res["errors"].append(msg)
            warn(msg)
    finally:
        close_all(socks)
    return r


# --------------------------------------------------------------------------------------------
# Side by side


def side_by_side(args, workdir: Path, origin_port: int, expect: bytes,
                 names: tuple[str, str] = ("stavka", "nginx")) -> dict:
    """Both proxies on the proxy CPU at the same time, each loaded by its own wrk with half the
    connections (both wrk on the client CPU): each proxy's CPU time per request, measured over
    the same seconds. Run after run the machine's speed drifts by tens of percent; here the
    drift weighs on both proxies alike and their ratio moves far less (an A/A run of one build
    against itself gives 1.00x +- 0.01). Both proxies are saturated here, so this compares
    their work per request, not how they idle. `names`: the pair, the ratio is first/second."""
    a, b = names
    res: dict = {"name": "side-by-side" if names == ("stavka", "nginx") else f"{a}-vs-{b}",
                 "pair": list(names), "errors": [], "runs": []}
    peers = [make_peer(args, n) for n in names]
    d = workdir / res["name"]
    conns = max(1, args.connections // 2)
    what = f"side by side ({a}, {b})"
    try:
        for peer in peers:
            log(f"{what}: starting {peer.name} (pinned to CPU {args.proxy_cpu})")
            peer.start(d, origin_port, args.proxy_cpu)
            wait_ready(peer.proc, peer.port, "/file", expect, peer.name, peer.log_path)

        def together(duration: float, tag: str) -> dict:
            before = {p.name: cpu_ticks(p.pids()) for p in peers}
            running = [(p, start_wrk(wrk_argv(args, p.port, "bench", conns, duration, "/file"),
                                     p.dir / f"wrk-{tag}.log")) for p in peers]
            out = {}
            for p, w in running:
                parsed, _, _ = finish_wrk(w, p.dir / f"wrk-{tag}.log", duration + 60)
                out[p.name] = {"wrk": parsed}
            for p in peers:
                cpu_s = (cpu_ticks(p.pids()) - before[p.name]) / CLK_TCK
                w = out[p.name]["wrk"]
                reqs = w.get("requests")
                out[p.name]["cpu_us_per_req"] = 1e6 * cpu_s / reqs if reqs else None
                for problem in wrk_problems(f"{what}, {p.name}", w, args.size, True):
                    res["errors"].append(problem)
                    warn(problem)
            return out

        log(f"{what}: warm-up {args.warmup:g}s")
        together(args.warmup, "warmup")
        for n in range(1, args.side_by_side_runs + 1):
            log(f"{what}: run {n} of {args.side_by_side_runs}: wrk -c{conns} on each, "
                f"{args.duration:g}s")
            r = together(args.duration, f"run{n}")
            r["ratio"] = ratio(r[a]["cpu_us_per_req"], r[b]["cpu_us_per_req"])
            res["runs"].append(r)
            for p in peers:
                if not p.alive():
                    raise BenchError(f"{p.name} exited during the side-by-side runs")
    except BenchError as e:
        res["errors"].append(str(e))
        warn(str(e))
    finally:
        for peer in peers:
            if peer.proc is not None:
                stop_peer(args, peer, {"errors": res["errors"]})
    return res


NAMES = {"stavka": "Stavka", "nginx": "nginx", "relay": "floor relay"}


def side_by_side_lines(sbs: dict) -> list[str]:
    runs = sbs.get("runs") or []
    if not runs:
        return []
    a, b = sbs.get("pair", ["stavka", "nginx"])
    lines = ["", f"side by side, {NAMES[a]} and {NAMES[b]} (both on the proxy CPU at once, half "
             f"the connections each):"]
    for n, r in enumerate(runs, 1):
        lines.append(f"  run {n}: CPU µs/req {a} {fmt(r[a]['cpu_us_per_req'], '.2f')}, "
                     f"{b} {fmt(r[b]['cpu_us_per_req'], '.2f')}  ->  {fmt(r['ratio'], '.3f')}x")
    lines.append(f"{NAMES[a]}/{NAMES[b]} CPU/req side by side, median of {len(runs)}: "
                 f"{fmt(median_of([r['ratio'] for r in runs]), '.3f')}x (lower is better)")
    return lines


def floor_lines(results: list[dict]) -> list[str]:
    """Where Stavka stands between the floor and nginx, from the two side-by-side medians."""
    medians = {}
    for r in results:
        if r.get("pair") and r.get("runs"):
            medians[tuple(r["pair"])] = median_of([x["ratio"] for x in r["runs"]])
    stavka, relay = medians.get(("stavka", "nginx")), medians.get(("relay", "nginx"))
    if not stavka or not relay:
        return []
    return [f"floor: a byte relay with no HTTP work costs {relay:.3f}x nginx per request; "
            f"Stavka costs {stavka / relay:.3f}x the relay "
            f"(Stavka/nginx {stavka:.3f}x = relay/nginx x Stavka/relay)"]


# --------------------------------------------------------------------------------------------
# Origin


def start_origin(args, workdir: Path, body: bytes) -> tuple[subprocess.Popen, int, Path]:
    d = workdir / "origin"
    (d / "tmp").mkdir(parents=True)
    (d / "www").mkdir()
    (d / "www" / "file").write_bytes(body)
    # sendfile costs more CPU than a plain write for small files (measured: ~10% of the
    # origin's CPU at 1 KiB), and the origin's CPU is the scarce one (it shares it with wrk).
    sendfile = "on" if args.size >= 64 * 1024 else "off"
    text, ports = render_template((PEERS_DIR / "origin.conf").read_text(),
                                  {"DIR": str(d), "SENDFILE": sendfile})
    (d / "origin.conf").write_text(text)
    port = ports["PORT_MAIN"]
    logp = d / "stdout.log"
    p = spawn(taskset(args.client_cpu, ["nginx", "-p", str(d), "-e", str(d / "error.log"),
                                        "-c", str(d / "origin.conf"), "-g", "daemon off;"]),
              logp)
    wait_ready(p, port, "/file", body, "origin", d / "error.log")
    return p, port, d


# --------------------------------------------------------------------------------------------
# Report


def row_values(r: dict) -> dict:
    w = r.get("wrk") or {}
    idle = r.get("idle") or {}
    mem = r.get("memory_after_run") or {}
    return {
        "req_s": w.get("requests_per_s"),
        "p99_ms": (w.get("latency_ms") or {}).get("p99"),
        "cpu_us": r.get("cpu_us_per_req"),
        "rss_mib": mem["rss"] / 2**20 if mem else None,
        "pss_mib": mem["pss"] / 2**20 if mem and mem.get("pss") is not None else None,
        "idle_b": idle.get("bytes_per_conn"),
        "cpu0": r.get("proxy_cpu_util_pct"),
        "cpu1": r.get("client_cpu_util_pct"),
    }


def median_of(values: list) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def label(r: dict) -> str:
    return f"{r['name']} #{r['round']}" if r.get("rounds", 1) > 1 else r["name"]


def print_report(args, results: list[dict]) -> list[str]:
    p, c = args.proxy_cpu, args.client_cpu
    hdr = (f"{'proxy':<10} {'req/s':>10} {'p99':>9} {'CPU µs/req':>11} {'RSS MiB':>8} "
           f"{'PSS MiB':>8} {'idle B/conn':>12} {f'CPU{p}%':>6} {f'CPU{c}%':>6}  status")
    lines = ["", hdr, "-" * len(hdr)]
    for r in results:
        v = row_values(r)
        status = "ERRORS" if r["errors"] else "SUSPECT (load)" if r.get("suspect") else "ok"
        lines.append(
            f"{label(r):<10} {fmt(v['req_s'], ',.0f'):>10} "
            f"{fmt(v['p99_ms'], '.2f') + 'ms' if v['p99_ms'] is not None else '-':>9} "
            f"{fmt(v['cpu_us'], '.2f'):>11} {fmt(v['rss_mib'], '.1f'):>8} "
            f"{fmt(v['pss_mib'], '.1f'):>8} {fmt(v['idle_b'], ',.0f'):>12} "
            f"{fmt(v['cpu0'], '.0f'):>6} {fmt(v['cpu1'], '.0f'):>6}  {status}")
    rounds = sorted({r.get("round", 1) for r in results})
    def of(name: str, key: str, rnd: int | None = None) -> list:
        return [row_values(r)[key] for r in results
                if r["name"] == name and (rnd is None or r.get("round", 1) == rnd)]
    if {"stavka", "nginx"} <= {r["name"] for r in results}:
        lines.append("")
        def rx(s, n):
            q = ratio(s, n)
            return fmt(q, ".2f") + "x" if q is not None else "-"
        def ratios(pick) -> str:
            return (f"req/s {rx(pick('stavka', 'req_s'), pick('nginx', 'req_s'))} (higher is "
                    f"better)   p99 {rx(pick('stavka', 'p99_ms'), pick('nginx', 'p99_ms'))}   "
                    f"CPU/req {rx(pick('stavka', 'cpu_us'), pick('nginx', 'cpu_us'))}   idle B/conn "
                    f"{rx(median_of(of('stavka', 'idle_b')), median_of(of('nginx', 'idle_b')))} "
                    f"(lower is better)")
        if len(rounds) > 1:
            for rnd in rounds:
                lines.append(f"round {rnd}: " + ratios(lambda n, k: median_of(of(n, k, rnd))))
            lines.append(f"Stavka/nginx, medians of {len(rounds)} rounds:  "
                         + ratios(lambda n, k: median_of(of(n, k))))
        else:
            lines.append("Stavka/nginx:  " + ratios(lambda n, k: median_of(of(n, k))))
    if {"relay", "nginx"} <= {r["name"] for r in results}:
        floor = ratio(median_of(of("relay", "cpu_us")), median_of(of("nginx", "cpu_us")))
        lines.append(f"floor relay/nginx, medians of {len(rounds)} rounds: CPU/req "
                     f"{fmt(floor, '.2f')}x (the lowest Stavka/nginx can be; see step 8)")
    lines.append("")
    for r in results:
        if r.get("origin_connections_opened") is not None and (r.get("wrk") or {}).get("requests"):
            oc = r["origin_connections_opened"]
            lines.append(f"{label(r)}: opened {oc:,} connections to the origin during the run "
                         f"({1000.0 * oc / r['wrk']['requests']:.1f} per 1000 requests)")
    for r in results:
        v = row_values(r)
        if v["cpu0"] is None:
            continue
        sat = []
        if v["cpu0"] >= 95:
            sat.append(f"CPU{p} (proxy) saturated")
        if v["cpu1"] is not None and v["cpu1"] >= 95:
            sat.append(f"CPU{c} (wrk + origin) saturated")
        if sat:
            bound = ("the proxy is the bottleneck" if v["cpu0"] >= 95 and v["cpu1"] < 95 else
                     "the client side is the bottleneck: req/s understates the proxy; "
                     "compare CPU µs/req" if v["cpu1"] >= 95 and v["cpu0"] < 95 else
                     "both CPUs saturated")
            lines.append(f"{label(r)}: {', '.join(sat)} -> {bound}")
        else:
            lines.append(f"{label(r)}: neither CPU saturated (latency-bound; "
                         f"try more --connections)")
    print("\n".join(lines))
    return lines


# --------------------------------------------------------------------------------------------


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Stavka vs nginx reverse-proxy benchmark "
                                 "(see docs/bench.md)")
    ap.add_argument("--duration", type=float, default=10, help="measured wrk run, s (10)")
    ap.add_argument("--warmup", type=float, default=2, help="warm-up wrk run, s (2)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    ap.add_argument("--wrk-timeout", type=float, default=2, help="wrk --timeout, s (2)")
    ap.add_argument("--size", type=int, default=1024, help="response body bytes (1024)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="run the proxies this many times, alternating which goes first; the "
                         "ratios use the medians; the idle test runs in the last round (3)")
    ap.add_argument("--side-by-side-runs", type=int, default=3,
                    help="then run both proxies at the same time this many times, each with "
                         "half the connections, and compare their CPU per request; 0 skips "
                         "(3)")
    ap.add_argument("--no-floor", dest="floor", action="store_false",
                    help="skip the side-by-side runs of a byte relay (bench/floor_relay.c: no "
                         "HTTP work, the kernel's share alone) against nginx")
    ap.add_argument("--only", default="stavka,nginx",
                    help="comma-separated proxies to run, in order (stavka,nginx); add relay "
                         "for the floor relay in the rounds too")
    ap.add_argument("--idle", type=int, default=10000,
                    help="idle keep-alive connections to open; 0 skips the test (10000)")
    ap.add_argument("--idle-concurrency", type=int, default=256,
                    help="connections being opened at once in the idle test (256)")
    ap.add_argument("--idle-timeout", type=float, default=60,
                    help="give up opening idle connections after this many s (60)")
    ap.add_argument("--idle-settle", type=float, default=1.0,
                    help="wait this long before measuring memory in the idle test (1)")
    ap.add_argument("--stavka", default=str(REPO / "build" / "stavka"), help="Stavka binary")
    ap.add_argument("--stavka-conf", default=str(PEERS_DIR / "stavka.toml"),
                    help="Stavka config template")
    ap.add_argument("--nginx-conf", default=str(PEERS_DIR / "nginx-proxy.conf"),
                    help="nginx config template (e.g. "
                         "/work/shared/bench-peers/nginx/nginx.conf for the caching peer)")
    ap.add_argument("--nginx-listener", default="PORT_MAIN",
                    help="placeholder of the nginx listener to benchmark (PORT_MAIN)")
    ap.add_argument("--nginx-upstream-keepalive", type=int, metavar="N",
                    help="override the template's upstream 'keepalive 64;' (idle origin "
                         "connections nginx keeps; below --connections it reconnects a lot)")
    add_machine_args(ap, "CPU for wrk + origin (1)")
    ap.add_argument("--out", help="JSON result path (default bench/results/<timestamp>.json)")
    args = ap.parse_args(argv)
    args.only = [x.strip() for x in args.only.split(",") if x.strip()]
    for x in args.only:
        if x not in ("stavka", "nginx", "relay"):
            ap.error(f"--only: unknown proxy {x!r} (stavka, nginx, relay)")
    return args


class RelayPeer(Peer):
    """bench/floor_relay.c, compiled into the work dir on first use."""

    def start(self, workdir: Path, origin_port: int, cpu: int) -> None:
        self.dir = workdir / self.name
        self.dir.mkdir(parents=True)
        binary = self.dir / "floor_relay"
        cc = subprocess.run(["cc", "-O2", "-o", str(binary), str(REPO / "bench" / "floor_relay.c"),
                             "-luring"], capture_output=True, text=True)
        if cc.returncode != 0:
            raise BenchError(f"cannot build bench/floor_relay.c (scripts/setup.sh installs "
                             f"liburing-dev): {cc.stderr.strip()}")
        self.port = free_ports(1)[0]
        self.log_path = self.dir / "relay.log"
        self.proc = spawn(taskset(cpu, [str(binary), str(self.port), str(origin_port)]),
                          self.log_path)


def make_peer(args, name: str) -> Peer:
    if name == "stavka":
        return stavka_peer(args, "nginx")
    if name == "relay":
        return RelayPeer("relay")
    return NginxPeer("nginx", Path(args.nginx_conf), args.nginx_listener,
                     args.nginx_upstream_keepalive)


def preflight(args) -> None:
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found: run scripts/setup.sh")
    check_cpus(args)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if args.idle + 64 > soft:
        raise BenchError(f"--idle {args.idle} needs more than RLIMIT_NOFILE {soft} descriptors")


def main(argv=None) -> int:
    args = parse_args(argv)

    workdir = None
    results: list[dict] = []
    with BenchRun(args, results) as run:
        preflight(args)
        peers = [make_peer(args, n) for n in args.only]
        workdir = make_workdir(args.client_cpu)  # the harness itself moves off the proxy CPU
        run.workdir = workdir
        body = (b"stavka-bench " * (args.size // 13 + 1))[:args.size]
        log(f"work dir {workdir}")
        origin, origin_port, origin_dir = start_origin(args, workdir, body)
        args.origin_port = origin_port
        log(f"origin: nginx on 127.0.0.1:{origin_port} (CPU {args.client_cpu}), "
            f"/file = {args.size} bytes")
        rounds = max(1, args.rounds)
        for round_no in range(rounds):
            if rounds > 1:
                log(f"round {round_no + 1} of {rounds}")
                # Each round starts the proxies afresh; the order alternates, so that a drift
                # in the machine's speed during the run weighs on both alike.
                peers = [make_peer(args, n) for n in args.only]
                if round_no % 2:
                    peers.reverse()
            for peer in peers:
                res = bench_peer(args, peer, workdir / f"round{round_no}", origin_port,
                                 origin.pid, body,
                                 # the relay opens an origin connection per client connection
                                 idle=round_no == rounds - 1 and peer.name != "relay")
                res["round"], res["rounds"] = round_no + 1, rounds
                results.append(res)
                if origin.poll() is not None:
                    raise BenchError(f"origin died ({exit_status_text(origin.returncode)}): "
                                     f"{tail(origin_dir / 'error.log')}")
        if args.side_by_side_runs > 0 and {"stavka", "nginx"} <= set(args.only):
            results.append(side_by_side(args, workdir, origin_port, body))
            if args.floor:
                results.append(side_by_side(args, workdir, origin_port, body,
                                            ("relay", "nginx")))
        origin_log = tail(origin_dir / "error.log", 20)
        if "[alert]" in origin_log or "[crit]" in origin_log or "[emerg]" in origin_log:
            warn(f"origin error log has alerts:\n{origin_log}")
    rc = run.rc

    if results:
        peers_only = [r for r in results if "pair" not in r]
        table = print_report(args, peers_only)
        extra = [line for r in results if "pair" in r for line in side_by_side_lines(r)]
        extra += floor_lines(results)
        print("\n".join(extra))
        table += extra
        write_results(args, run.started, results, table, workdir)
    return final_status(rc)


if __name__ == "__main__":
    sys.exit(main())
