#!/usr/bin/env python3
"""Side-by-side benchmark of RANGE requests on large cold objects: Stavka, nginx
(plain proxy_cache), nginx with its slice module (`slice 1m`) and Varnish.

One run: start the origin (bench/origin.py, pinned to the client CPU; its /t/ objects are
paced at a given rate), measure it directly as the baseline, then for each proxy (pinned to
the proxy CPU, one worker or thread pool, rendered from its template into a private temp dir):
  1. cold range: bytes=500000000-500999999 of a new 512 MiB object served at 100 MB/s; time
     to the response head, to the first and the last body byte, the bytes checked, what the
     proxy fetched from the origin (requests, body bytes, once the origin's byte count has
     stopped growing); then the same range again (TTFB, origin requests it caused);
  2. seek: three ranges of a new 1 GiB object read one after the other (0-9999999,
     300000000-300999999, 301000000-301999999), each on a new connection; TTFB and origin
     bytes per step;
  3. slow origin: on two new objects served at 10 MB/s, a range starting on a block boundary
     and one starting one byte before the next boundary: TTFB of each against the predicted
     worst case (block_size - 1) / rate.
Prints a table per test, Stavka's ratios to each peer and its targets (ok / MISS), and writes
JSON to bench/results/range-<timestamp>.json.

Python 3 standard library only; the machinery shared with bench/run.py and bench/cache.py is
in bench/harness.py (and the response reader in bench/cache.py). See docs/bench.md.
"""
from __future__ import annotations

import argparse
import shutil
import socket
import sys
import time
import tomllib
from pathlib import Path

from harness import (BenchError, BenchRun, CpuWindow, NginxPeer, Peer, PEERS_DIR, REPO,
                     SHARED_PEERS_DIR, VarnishPeer, add_machine_args, alive_check, check_cpus,
                     exit_status_text, final_status, fmt, log,
                     measure_quietly, memory, pin_threads, proc_tree, ratio,
                     run_peer, start_bench_origin, stavka_peer, tail, warn, warn_system_instances,
                     write_results)
from cache import (Response, origin_stats, parse_size, self_cpu_s, size_text)
from origin import body_for, body_slice

PEER_NAMES = ("stavka", "nginx", "nginx-slice", "varnish")
TEST_NAMES = ("range", "seek", "slow")
MiB = 1024 * 1024
KEEP_LIMIT = 64 * MiB   # bodies larger than this are counted, not kept (a 200 for a range)

# --------------------------------------------------------------------------------------------
# The client: raw sockets, one request per connection, precise times


class _Resp(Response):
    """cache.Response that stops keeping the body past `keep` bytes (it still frames it)."""

    def __init__(self, keep: int) -> None:
        super().__init__()
        self.keep = keep
        self.dropped = False

    def feed(self, data: bytes) -> bool:
        done = super().feed(data)
        if self.raw_len > self.keep and self.parts:
            self.parts = []
            self.dropped = True
        return done


def ms(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round((a - b) * 1000.0, 3)


def fetch(port: int, path: str, first: int, last: int, size: int, timeout: float) -> tuple[
        dict, socket.socket | None]:
    """GET path with Range: bytes=first-last on a new connection. Times, from just before
    the request is written (the connection is already established): `head_ms` (the response
    head complete), `ttfb_ms` (the first BODY byte), `last_ms` (the last byte). Checks the
    answer is a 206 with the right Content-Range and exactly the object's bytes. Returns the
    result and the still-open socket (the caller closes it once the origin has settled, so
    the proxy never sees the client go away while it may still be fetching)."""
    host = f"127.0.0.1:{port}"
    rng = f"bytes={first}-{last}"
    res: dict = {"path": path, "range": rng, "status": None, "error": None}
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        res["error"] = f"connect: {e}"
        res["ok"] = False
        return res, None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    r = _Resp(KEEP_LIMIT)
    t_head = t_body = t_last = None
    deadline = time.monotonic() + timeout
    t_send = time.monotonic()
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: stavka-bench\r\n"
                     f"Range: {rng}\r\n\r\n".encode())
        while not r.done:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = sock.recv(1 << 18)
            t = time.monotonic()
            if not data:
                r.feed_eof()
                if not r.done:
                    res["error"] = "connection closed before the response was complete"
                break
            r.feed(data)
            if t_head is None and r.status is not None:
                t_head = t
            if t_body is None and r.raw_len > 0:
                t_body = t
        t_last = time.monotonic() if r.done else None
    except socket.timeout:
        res["error"] = f"not complete after {timeout:g}s ({r.raw_len} body bytes)"
    except OSError as e:
        res["error"] = f"{type(e).__name__}: {e}"
    if r.done and t_body is None:       # an empty body (416, ...)
        t_body = t_last
    res.update(status=r.status, head_ms=ms(t_head, t_send), ttfb_ms=ms(t_body, t_send),
               last_ms=ms(t_last, t_send), t_send=t_send,
               headers={k: v for k, v in r.headers.items()
                        if k in ("content-range", "content-length", "transfer-encoding",
                                 "x-cache", "cache-status", "age", "x-varnish", "via",
                                 "etag", "connection")})
    body = b"" if r.dropped or r.status is None or not r.done else r.body()
    res["body_bytes"] = r.raw_len if r.dropped else len(body)
    want = f"bytes {first}-{last}/{size}"
    if res["error"] is None:
        if r.status != 206:
            res["error"] = (f"status {r.status} (206 expected), "
                            f"{res['body_bytes']} body bytes")
        elif r.headers.get("content-range") != want:
            res["error"] = (f"Content-Range {r.headers.get('content-range')!r} "
                            f"({want!r} expected)")
        elif r.dropped or len(body) != last - first + 1:
            res["error"] = f"{res['body_bytes']} body bytes ({last - first + 1} expected)"
        elif body != body_slice(first, last - first + 1):
            res["error"] = "wrong body bytes"
    res["ok"] = res["error"] is None
    if res["error"] is not None:
        sock.close()
        sock = None
    return res, sock


# --------------------------------------------------------------------------------------------
# The origin


def path_stats(origin_port: int, path: str) -> dict:
    s = origin_stats(origin_port, path).get(path) or {}
    return {"count": s.get("count", 0), "body_bytes": s.get("body_bytes", 0),
            "ranges": s.get("ranges", []), "active": s.get("active", 0),
            "aborted": s.get("aborted", 0)}


def limits(args, size: int, rate: int) -> tuple[float, float]:
    """(request timeout, settle cap) for a test on an object of `size` bytes paced at `rate`:
    --timeout and --settle-max, or by default enough for a proxy that fetches the whole
    object (1.5 x its transfer time + 10 s; the transfer time + 5 s, at least 12 s)."""
    xfer = size / rate
    return (args.timeout or 1.5 * xfer + 10.0, args.settle_max or max(12.0, xfer + 5.0))


def settle(args, origin_port: int, path: str, settle_max: float) -> dict:
    """Waits until the origin's body_bytes for path have not grown for args.settle s (at
    most settle_max s), so read-ahead and background fills are counted. Returns the path's
    figures then, with how long it took and whether it settled."""
    t0 = time.monotonic()
    last, changed = None, t0
    while True:
        s = path_stats(origin_port, path)
        now = time.monotonic()
        if s["body_bytes"] != last:
            last, changed = s["body_bytes"], now
        elif now - changed >= args.settle:
            s.update(settled=True, settle_s=round(now - t0, 3))
            return s
        if now - t0 >= settle_max:
            s.update(settled=False, settle_s=round(now - t0, 3))
            return s
        time.sleep(0.05)


def floor_ms(args, start: int, rate: float) -> float:
    """Time the origin needs, at `rate`, to send the bytes between the block boundary below
    `start` and `start`: the least a cold block-aligned fill can make the client wait."""
    return 1000.0 * (start % args.block_size) / rate


# --------------------------------------------------------------------------------------------
# Test 1: cold range, then the same range again


def range_test(args, name: str, port: int, origin_port: int, proxy_pids: list[int],
               origin_pid: int) -> dict:
    first, last = args.range
    size, rate = args.range_size, args.range_rate
    timeout, smax = limits(args, size, rate)
    r: dict = {"errors": [], "suspect": [], "timeout_s": timeout, "settle_max_s": smax}

    def attempt(n: int, of: int) -> None:
        path = f"/t/{size}/{rate}/range-{name}-{time.monotonic_ns()}"
        log(f"{name}: cold range bytes={first}-{last} of {path}"
            + (f" (attempt {n}/{of})" if n > 1 else ""))
        window = CpuWindow(args, proxy_pids, proc_tree(origin_pid))
        cpu0 = self_cpu_s()
        cold, sock = fetch(port, path, first, last, size, timeout)
        s1 = settle(args, origin_port, path, smax)
        if sock:
            sock.close()
        rep, sock = fetch(port, path, first, last, size, timeout)
        s2 = settle(args, origin_port, path, smax)
        if sock:
            sock.close()
        window.stop()
        window.fill(r, None, self_cpu_s() - cpu0, client="harness")
        r.update(path=path, object_size=size, rate=rate, range=[first, last],
                 floor_ms=round(floor_ms(args, first, rate), 3), cold=cold,
                 origin_after_cold=s1, repeat=rep, origin_after_repeat=s2,
                 origin_requests=s1["count"], origin_bytes=s1["body_bytes"],
                 repeat_origin_requests=s2["count"] - s1["count"],
                 repeat_origin_bytes=s2["body_bytes"] - s1["body_bytes"])

    measure_quietly(args, f"{name} cold range", r, attempt)
    for what, x in (("cold range", r["cold"]), ("repeated range", r["repeat"])):
        if not x["ok"]:
            r["errors"].append(f"{name}: {what} bytes={first}-{last}: {x['error']}")
    for what, s in (("cold range", r["origin_after_cold"]),
                    ("repeated range", r["origin_after_repeat"])):
        if not s["settled"]:
            warn(f"{name}: {what}: the origin's byte count was still growing "
                 f"after {smax:g}s", r["suspect"])
    for e in r["errors"]:
        warn(e)
    return r


# --------------------------------------------------------------------------------------------
# Test 2: seek


def seek_test(args, name: str, port: int, origin_port: int, proxy_pids: list[int],
              origin_pid: int) -> dict:
    size, rate = args.seek_size, args.seek_rate
    timeout, smax = limits(args, size, rate)
    r: dict = {"errors": [], "suspect": [], "timeout_s": timeout, "settle_max_s": smax}

    def attempt(n: int, of: int) -> None:
        path = f"/t/{size}/{rate}/seek-{name}-{time.monotonic_ns()}"
        log(f"{name}: seek: {len(args.seek_ranges)} ranges of {path}"
            + (f" (attempt {n}/{of})" if n > 1 else ""))
        window = CpuWindow(args, proxy_pids, proc_tree(origin_pid))
        cpu0 = self_cpu_s()
        steps = []
        prev = {"count": 0, "body_bytes": 0, "ranges": []}
        for first, last in args.seek_ranges:
            x, sock = fetch(port, path, first, last, size, timeout)
            s = settle(args, origin_port, path, smax)
            if sock:
                sock.close()
            x.update(floor_ms=round(floor_ms(args, first, rate), 3),
                     origin_requests=s["count"] - prev["count"],
                     origin_bytes=s["body_bytes"] - prev["body_bytes"],
                     origin_ranges=s["ranges"][len(prev["ranges"]):],
                     settled=s["settled"], settle_s=s["settle_s"])
            steps.append(x)
            prev = s
        window.stop()
        window.fill(r, None, self_cpu_s() - cpu0, client="harness")
        r.update(path=path, object_size=size, rate=rate, steps=steps,
                 bytes_read=sum(b - a + 1 for a, b in args.seek_ranges),
                 origin_requests=prev["count"], origin_bytes=prev["body_bytes"],
                 origin_active_at_end=prev.get("active"))

    measure_quietly(args, f"{name} seek", r, attempt)
    for i, x in enumerate(r["steps"], 1):
        if not x["ok"]:
            r["errors"].append(f"{name}: seek step {i} {x['range']}: {x['error']}")
        if not x["settled"]:
            warn(f"{name}: seek step {i}: the origin's byte count was still "
                 f"growing after {smax:g}s", r["suspect"])
    for e in r["errors"]:
        warn(e)
    return r


# --------------------------------------------------------------------------------------------
# Test 3: slow origin, a range on a block boundary and one just before the next


def slow_test(args, name: str, port: int, origin_port: int, proxy_pids: list[int],
              origin_pid: int) -> dict:
    size, rate = args.slow_size, args.slow_rate
    timeout, smax = limits(args, size, rate)
    r: dict = {"errors": [], "suspect": [], "timeout_s": timeout, "settle_max_s": smax}

    def attempt(n: int, of: int) -> None:
        tag = f"slow-{name}-{time.monotonic_ns()}"
        log(f"{name}: slow origin ({rate:,} B/s): {len(args.slow_ranges)} ranges, each of a "
            f"new object" + (f" (attempt {n}/{of})" if n > 1 else ""))
        window = CpuWindow(args, proxy_pids, proc_tree(origin_pid))
        cpu0 = self_cpu_s()
        reqs = []
        for i, (first, last) in enumerate(args.slow_ranges):
            path = f"/t/{size}/{rate}/{tag}-{i}"
            x, sock = fetch(port, path, first, last, size, timeout)
            s = settle(args, origin_port, path, smax)
            if sock:
                sock.close()
            x.update(floor_ms=round(floor_ms(args, first, rate), 3),
                     origin_requests=s["count"], origin_bytes=s["body_bytes"],
                     origin_ranges=s["ranges"], settled=s["settled"])
            reqs.append(x)
        window.stop()
        window.fill(r, None, self_cpu_s() - cpu0, client="harness")
        r.update(object_size=size, rate=rate, requests=reqs,
                 predicted_worst_ms=round(1000.0 * (args.block_size - 1) / rate, 3))

    measure_quietly(args, f"{name} slow origin", r, attempt)
    for x in r["requests"]:
        if not x["ok"]:
            r["errors"].append(f"{name}: slow origin {x['range']}: {x['error']}")
        if not x["settled"]:
            warn(f"{name}: slow origin {x['range']}: the origin's byte count "
                 f"was still growing after {smax:g}s", r["suspect"])
    for e in r["errors"]:
        warn(e)
    return r


# --------------------------------------------------------------------------------------------
# One proxy, and the baseline


def run_tests(args, res: dict, name: str, port: int, origin_port: int, proxy_pids,
              origin_pid: int, check_alive) -> None:
    fns = {"range": range_test, "seek": seek_test, "slow": slow_test}
    for t in args.tests:
        try:
            x = fns[t](args, name, port, origin_port, proxy_pids, origin_pid)
            res[t] = x
            res["errors"] += x["errors"]
        except BenchError as e:
            if str(e) not in res["errors"]:
                res["errors"].append(str(e))
                warn(str(e))
        except Exception as e:
            msg = f"{name}: {t}: harness error: {type(e).__name__}: {e}"
            res["errors"].append(msg)
            warn(msg)
        check_alive(f"the {t} test")


def bench_peer(args, peer: Peer, workdir: Path, origin_port: int, origin_pid: int) -> dict:
    res: dict = {"name": peer.name, "errors": []}
    log(f"{peer.name}: starting (pinned to CPU {args.proxy_cpu})")
    check_alive = alive_check(peer, res)

    def body() -> None:
        peer.start(workdir, origin_port, args.proxy_cpu)
        res["port"] = peer.port
        res["start_command"] = " ".join(peer.proc.args)
        peer.ready("/o/1024/0/ready", body_for(1024), host=f"127.0.0.1:{peer.port}",
                   timeout=args.start_timeout)
        moved = pin_threads(peer.pids(), args.proxy_cpu)
        if moved:
            log(f"{peer.name}: re-pinned {len(moved)} thread(s) to CPU {args.proxy_cpu}")
        res["threads_repinned"] = moved
        res["pids"] = peer.pids()
        res["memory_start"] = memory(res["pids"])
        run_tests(args, res, peer.name, peer.port, origin_port, peer.pids(), origin_pid,
                  check_alive)
        res["memory_after"] = memory(peer.pids())

    return run_peer(args, peer, res, body)


def baseline(args, origin_port: int, origin_pid: int) -> dict:
    """Every test straight against the origin: what the Python client and the paced origin
    add to each figure, with no proxy in between (the origin answers the ranges itself)."""
    res: dict = {"name": "origin (direct)", "errors": []}
    log("baseline: the tests straight against the origin (no proxy)")
    run_tests(args, res, "direct", origin_port, origin_port, [], origin_pid, lambda _: None)
    return res


# --------------------------------------------------------------------------------------------
# Report


def mb(n) -> str:
    return "-" if n is None else f"{n / 1e6:,.3f}"


def xr(a, b) -> str:
    q = ratio(a, b)
    return "-" if q is None else (f"{q:.2g}x" if q < 0.1 else f"{q:.2f}x")


def status(x: dict) -> str:
    return "ERRORS" if x.get("errors") else "SUSPECT" if x.get("suspect") else "ok"


def print_report(args, rows: list[dict]) -> tuple[list[str], list[dict]]:
    """Prints the three tables, Stavka's ratios to each peer and its targets. Returns (lines,
    targets) where targets is a list of {what, value, target, ok}."""
    by = {r["name"]: r for r in rows}
    st = by.get("stavka")
    peers = [r["name"] for r in rows if r["name"] not in ("stavka", "origin (direct)")]
    lines: list[str] = []
    targets: list[dict] = []
    bs, ra = args.block_size, args.readahead

    def target(test: str, what: str, value, spec: str, cmp: str, limit, unit: str = "") -> bool:
        ok = None if value is None else (value >= limit if cmp == ">=" else value <= limit)
        lim = f"{limit:,}" if isinstance(limit, int) else f"{limit:g}"
        targets.append({"test": test, "what": what, "value": value,
                        "target": f"{cmp} {lim}{unit}", "ok": ok})
        return ok

    def marks(test: str) -> str:
        t = [x for x in targets if x["test"] == test]
        if not t:
            return ""
        missed = [x for x in t if not x["ok"]]
        return (f"targets {len(t) - len(missed)}/{len(t)} ok" if not missed
                else f"targets MISS {len(missed)}/{len(t)}")

    # Stavka's targets first, so the tables can show them
    if st:
        x = st.get("range")
        if "range" in args.tests:
            c = (x or {}).get("cold") or {}
            target("range", "cold range: TTFB", c.get("ttfb_ms") if c.get("ok") else None,
                   ".1f", "<=", args.range_ttfb_ms, " ms")
            limit = (args.range[1] - args.range[0] + 1) + 2 * bs + ra
            target("range", "cold range: origin body bytes", (x or {}).get("origin_bytes"),
                   ",d", "<=", limit, " B")
            target("range", "repeated range: origin requests",
                   (x or {}).get("repeat_origin_requests"), "d", "<=", 0)
            target("range", "cold and repeated range: 206, bytes right (1 = yes)",
                   None if x is None else int(c.get("ok", False)
                                             and (x.get("repeat") or {}).get("ok", False)),
                   "d", ">=", 1)
        x = st.get("seek")
        if "seek" in args.tests:
            lim = 1000.0 * bs / args.seek_rate + args.seek_slack_ms
            for i, rng in enumerate(args.seek_ranges, 1):
                s = ((x or {}).get("steps") or [{}] * len(args.seek_ranges))[i - 1]
                target("seek", f"seek step {i} ({rng[0]}-{rng[1]}): TTFB",
                       s.get("ttfb_ms") if s.get("ok") else None, ".1f", "<=", round(lim, 2),
                       " ms")
            limit = (x or {}).get("bytes_read", 0) + 3 * (bs + ra)
            target("seek", "seek: origin body bytes, all steps", (x or {}).get("origin_bytes"),
                   ",d", "<=", limit, " B")
        x = st.get("slow")
        if "slow" in args.tests:
            worst = 1000.0 * (bs - 1) / args.slow_rate
            reqs = (x or {}).get("requests") or []
            ttfbs = [q.get("ttfb_ms") if q.get("ok") else None for q in reqs]
            ok_all = reqs and all(t is not None for t in ttfbs)
            target("slow", "slow origin: worst TTFB", max(ttfbs) if ok_all else None, ".1f",
                   "<=", round(worst + args.slow_slack_ms, 2), " ms")
            aligned = [q for q in reqs if q["floor_ms"] == 0 and q.get("ok")]
            target("slow", "slow origin: TTFB of the block-aligned range",
                   aligned[0]["ttfb_ms"] if aligned else None, ".1f", "<=",
                   round(max(args.slow_slack_ms, worst / 10), 2), " ms")

    # -- 1. cold range
    if "range" in args.tests:
        first, last = args.range
        hdr = (f"{'proxy':<16} {'status':>6} {'head':>9} {'ttfb':>9} {'last':>9} "
               f"{'orig reqs':>9} {'orig MB':>9} {'rep ttfb':>9} {'rep reqs':>8}  status")
        lines += ["", f"1. COLD RANGE: bytes={first}-{last} of a new {size_text(args.range_size)}"
                  f" object, origin paced at {args.range_rate / 1e6:g} MB/s; then the same "
                  f"range again ('rep'). Times in ms from sending the request: head = response "
                  f"head, ttfb = first body byte, last = last byte. Block floor "
                  f"{floor_ms(args, first, args.range_rate):.1f} ms", hdr, "-" * len(hdr)]
        for r in rows:
            x = r.get("range")
            if not x or not x.get("cold"):
                lines.append(f"{r['name']:<16}  (no result)")
                continue
            c, p = x["cold"], x["repeat"]
            lines.append(
                f"{r['name']:<16} {fmt(c['status'], 'd'):>6} {fmt(c['head_ms'], ',.1f'):>9} "
                f"{fmt(c['ttfb_ms'], ',.1f'):>9} {fmt(c['last_ms'], ',.1f'):>9} "
                f"{x['origin_requests']:>9} {mb(x['origin_bytes']):>9} "
                f"{fmt(p['ttfb_ms'], ',.2f'):>9} {x['repeat_origin_requests']:>8}  {status(x)}"
                + (f"  {marks('range')}" if r is st else ""))
        origin_requests_lines(lines, rows, "range",
                              lambda x: [x["origin_after_cold"]["ranges"]])
        if st and (st.get("range") or {}).get("cold"):
            lines.append("")
            a = st["range"]
            for p in peers:
                o = by[p].get("range")
                if o and o.get("cold"):
                    lines.append(f"Stavka/{p:<12} cold range: TTFB "
                                 f"{xr(a['cold']['ttfb_ms'], o['cold']['ttfb_ms'])}  last byte "
                                 f"{xr(a['cold']['last_ms'], o['cold']['last_ms'])}  origin "
                                 f"bytes {xr(a['origin_bytes'], o['origin_bytes'])} "
                                 f"(lower is better)")

    # -- 2. seek
    if "seek" in args.tests:
        hdr = (f"{'proxy':<16} {'step':>4} {'range':>21} {'floor':>6} {'head':>8} {'ttfb':>8} "
               f"{'last':>9} {'orig reqs':>9} {'orig MB':>9}  status")
        lines += ["", f"2. SEEK: ranges of a new {size_text(args.seek_size)} object one after the"
                  f" other (a new connection each), origin paced at {args.seek_rate / 1e6:g} MB/s;"
                  f" times in ms from sending the request; floor = the block-aligned minimum; "
                  f"origin figures per step (after the origin settled)", hdr, "-" * len(hdr)]
        for r in rows:
            x = r.get("seek")
            if not x or not x.get("steps"):
                lines.append(f"{r['name']:<16}  (no result)")
                continue
            for i, s in enumerate(x["steps"], 1):
                lines.append(
                    f"{r['name'] if i == 1 else '':<16} {i:>4} {s['range'][6:]:>21} "
                    f"{s['floor_ms']:>6.1f} {fmt(s['head_ms'], ',.1f'):>8} "
                    f"{fmt(s['ttfb_ms'], ',.1f'):>8} {fmt(s['last_ms'], ',.1f'):>9} "
                    f"{s['origin_requests']:>9} {mb(s['origin_bytes']):>9}"
                    + (f"  {status(x)}" if i == 1 else ""))
            lines.append(f"{'':<16} {'all':>4} {'read ' + mb(x['bytes_read']) + ' MB':>21} "
                         f"{'':>6} {'':>8} {'':>8} {'':>9} {x['origin_requests']:>9} "
                         f"{mb(x['origin_bytes']):>9}"
                         + (f"  {marks('seek')}" if r is st else ""))
        origin_requests_lines(lines, rows, "seek",
                              lambda x: [s["origin_ranges"] for s in x["steps"]])
        if st and (st.get("seek") or {}).get("steps"):
            lines.append("")
            a = st["seek"]
            for p in peers:
                o = by[p].get("seek")
                if o and o.get("steps"):
                    ta = [s["ttfb_ms"] for s in a["steps"] if s["ttfb_ms"] is not None]
                    tb = [s["ttfb_ms"] for s in o["steps"] if s["ttfb_ms"] is not None]
                    lines.append(f"Stavka/{p:<12} seek: worst TTFB "
                                 f"{xr(max(ta) if ta else None, max(tb) if tb else None)}  "
                                 f"origin bytes {xr(a['origin_bytes'], o['origin_bytes'])} "
                                 f"(lower is better)")

    # -- 3. slow origin
    if "slow" in args.tests:
        worst = 1000.0 * (bs - 1) / args.slow_rate
        hdr = (f"{'proxy':<16} {'range':>17} {'floor':>7} {'head':>8} {'ttfb':>8} {'last':>9} "
               f"{'orig reqs':>9} {'orig MB':>9}  status")
        lines += ["", f"3. SLOW ORIGIN: one range on each of two new {size_text(args.slow_size)} "
                  f"objects, origin paced at {args.slow_rate / 1e6:g} MB/s; predicted worst "
                  f"TTFB with {size_text(bs)} blocks (block_size - 1) / rate = {worst:.1f} ms; "
                  f"times in ms", hdr, "-" * len(hdr)]
        for r in rows:
            x = r.get("slow")
            if not x or not x.get("requests"):
                lines.append(f"{r['name']:<16}  (no result)")
                continue
            for i, q in enumerate(x["requests"]):
                lines.append(
                    f"{r['name'] if i == 0 else '':<16} {q['range'][6:]:>17} "
                    f"{q['floor_ms']:>7.1f} {fmt(q['head_ms'], ',.1f'):>8} "
                    f"{fmt(q['ttfb_ms'], ',.1f'):>8} {fmt(q['last_ms'], ',.1f'):>9} "
                    f"{q['origin_requests']:>9} {mb(q['origin_bytes']):>9}"
                    + (f"  {status(x)}" + (f"  {marks('slow')}" if r is st else "")
                       if i == 0 else ""))
        origin_requests_lines(lines, rows, "slow",
                              lambda x: [s["origin_ranges"] for s in x["requests"]])
        if st and (st.get("slow") or {}).get("requests"):
            lines.append("")
            a = st["slow"]["requests"]
            for p in peers:
                o = (by[p].get("slow") or {}).get("requests")
                if o and len(o) == len(a):
                    lines.append(f"Stavka/{p:<12} slow origin: TTFB "
                                 + "  ".join(f"{q['range'][6:]} {xr(q['ttfb_ms'], w['ttfb_ms'])}"
                                             for q, w in zip(a, o)) + " (lower is better)")

    # -- targets
    if st:
        lines += ["", f"STAVKA TARGETS (block_size {size_text(bs)}, readahead "
                      f"{size_text(ra)})"]
        for t in targets:
            v = t["value"]
            spec = ",d" if isinstance(v, int) and abs(v) >= 1000 else (
                "d" if isinstance(v, int) else ".2f")
            lines.append(f"  {t['what']:<52} {fmt(v, spec):>14}   target {t['target']:<16} "
                         f"{'-' if t['ok'] is None else 'ok' if t['ok'] else 'MISS'}")
        failed = [t for t in targets if not t["ok"]]
        lines.append(f"  {len(targets) - len(failed)} of {len(targets)} targets met"
                     + (f"; MISSED: {', '.join(t['what'] for t in failed)}" if failed else ""))
    print("\n".join(lines))
    return lines, targets


def origin_requests_lines(lines: list[str], rows: list[dict], test: str, get) -> None:
    """One line per proxy: the Range fields of the requests it sent the origin, per client
    request (separated by |)."""
    out = []
    for r in rows:
        x = r.get(test)
        if not x or r["name"] == "origin (direct)":
            continue
        try:
            groups = get(x)
        except (KeyError, TypeError):
            continue
        parts = []
        for rs in groups:
            shown = ", ".join("whole" if q is None else q.replace("bytes=", "") for q in rs[:4])
            parts.append((shown or "-") + (f", ... ({len(rs)} in all)" if len(rs) > 4 else ""))
        out.append(f"  {r['name']:<14} " + " | ".join(parts))
    if out:
        lines += ["origin requests' Range fields (per client request, separated by |; "
                  "whole = no Range; - = none):"] + out


# --------------------------------------------------------------------------------------------


def parse_range(text: str) -> tuple[int, int]:
    a, _, b = text.strip().removeprefix("bytes=").partition("-")
    first, last = int(a), int(b)
    if first < 0 or last < first:
        raise ValueError(f"bad range {text!r}")
    return first, last


def parse_rate(text: str) -> int:
    return int(float(text))


def stavka_cache_keys(path: str) -> dict:
    """block_size and readahead (bytes) from the Stavka config template, when it has them."""
    try:
        cache = tomllib.loads(Path(path).read_text()).get("cache", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    out = {}
    for k in ("block_size", "readahead"):
        v = cache.get(k)
        if isinstance(v, int):
            out[k] = v
        elif isinstance(v, str):
            out[k] = parse_size(v)
    return out


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Range requests on large cold objects: Stavka vs "
                                 "nginx (plain and slice) vs Varnish (see docs/bench.md)")
    ap.add_argument("--only", default=",".join(PEER_NAMES),
                    help=f"comma-separated proxies to run, in order ({','.join(PEER_NAMES)})")
    ap.add_argument("--tests", default=",".join(TEST_NAMES),
                    help=f"comma-separated tests to run ({','.join(TEST_NAMES)})")
    # 1. cold range
    ap.add_argument("--range-size", default="536870912", help="object size (512 MiB)")
    ap.add_argument("--range-rate", default="100000000",
                    help="origin pace, bytes/s (100000000)")
    ap.add_argument("--range", default="500000000-500999999", help="the range, FIRST-LAST")
    ap.add_argument("--range-ttfb-ms", type=float, default=15.0,
                    help="Stavka's TTFB target, ms (15)")
    # 2. seek
    ap.add_argument("--seek-size", default="1GiB", help="object size (1 GiB)")
    ap.add_argument("--seek-rate", default="100000000", help="origin pace, bytes/s (100000000)")
    ap.add_argument("--seek-ranges", default="0-9999999,300000000-300999999,301000000-301999999",
                    help="the ranges, in order")
    ap.add_argument("--seek-slack-ms", type=float, default=5.0,
                    help="TTFB target = one block at the origin's pace + this, ms (5)")
    # 3. slow origin
    ap.add_argument("--slow-size", default="16MiB", help="object size (16 MiB)")
    ap.add_argument("--slow-rate", default="10000000", help="origin pace, bytes/s (10000000)")
    ap.add_argument("--slow-ranges", default="4194304-4294303,5242879-5342878",
                    help="the ranges, each on a new object (a block boundary, and one byte "
                         "before the next)")
    ap.add_argument("--slow-slack-ms", type=float, default=10.0,
                    help="worst TTFB target = (block_size - 1) / rate + this, ms (10)")
    # common
    ap.add_argument("--block-size", help="block size for the targets (default: the Stavka "
                                         "config's [cache] block_size, else 1MiB)")
    ap.add_argument("--readahead", help="read-ahead for the targets (default: the Stavka "
                                        "config's [cache] readahead, else 4MiB)")
    ap.add_argument("--timeout", type=float,
                    help="per request, s (default per test: 1.5 x the whole object's transfer "
                         "time at the origin's pace + 10 s)")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="the origin has settled when its body bytes for the object have not "
                         "grown for this long, s (1)")
    ap.add_argument("--settle-max", type=float,
                    help="wait at most this long for the origin to settle, s (default per "
                         "test: the whole object's transfer time + 5 s, at least 12 s)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the tests straight against the origin")
    # peers
    ap.add_argument("--stavka", default=str(REPO / "build" / "stavka"), help="Stavka binary")
    ap.add_argument("--stavka-conf", default=str(PEERS_DIR / "stavka-range.toml"),
                    help="Stavka config template")
    ap.add_argument("--peers-dir", default=str(SHARED_PEERS_DIR),
                    help="the shared peer templates (nginx/, varnish/)")
    ap.add_argument("--start-timeout", type=float, default=60,
                    help="seconds a proxy gets to start answering (60)")
    # machine
    add_machine_args(ap, "CPU for the origin and the client (1)")
    ap.add_argument("--strict", action="store_true",
                    help="exit with status 3 when a Stavka target is missed")
    ap.add_argument("--out", help="JSON result path (default bench/results/range-<timestamp>"
                                  ".json)")
    args = ap.parse_args(argv)
    args.only = [x.strip() for x in args.only.split(",") if x.strip()]
    for x in args.only:
        if x not in PEER_NAMES:
            ap.error(f"--only: unknown proxy {x!r} ({', '.join(PEER_NAMES)})")
    args.tests = [x.strip() for x in args.tests.split(",") if x.strip()]
    for x in args.tests:
        if x not in TEST_NAMES:
            ap.error(f"--tests: unknown test {x!r} ({', '.join(TEST_NAMES)})")
    try:
        for k in ("range_size", "seek_size", "slow_size"):
            setattr(args, k, parse_size(getattr(args, k)))
        for k in ("range_rate", "seek_rate", "slow_rate"):
            setattr(args, k, parse_rate(getattr(args, k)))
            if getattr(args, k) <= 0:
                raise ValueError(f"--{k.replace('_', '-')} must be positive")
        args.range = parse_range(args.range)
        args.seek_ranges = [parse_range(x) for x in args.seek_ranges.split(",") if x.strip()]
        args.slow_ranges = [parse_range(x) for x in args.slow_ranges.split(",") if x.strip()]
        conf = stavka_cache_keys(args.stavka_conf)
        args.block_size = (parse_size(args.block_size) if args.block_size
                           else conf.get("block_size", MiB))
        args.readahead = (parse_size(args.readahead) if args.readahead
                          else conf.get("readahead", 4 * MiB))
    except ValueError as e:
        ap.error(str(e))
    for what, size, rngs in (("--range", args.range_size, [args.range]),
                             ("--seek-ranges", args.seek_size, args.seek_ranges),
                             ("--slow-ranges", args.slow_size, args.slow_ranges)):
        if any(b >= size for _, b in rngs):
            ap.error(f"{what}: a range ends past the object ({size} bytes)")
    return args


def make_peer(args, name: str) -> Peer:
    d = Path(args.peers_dir)
    if name == "stavka":
        return stavka_peer(args, ",".join(n for n in PEER_NAMES if n != "stavka"))
    if name == "varnish":
        return VarnishPeer("varnish", d / "varnish")
    return NginxPeer(name, d / "nginx" / "nginx.conf",
                     "PORT_SLICE" if name == "nginx-slice" else "PORT_MAIN")


def preflight(args) -> None:
    tools = {"nginx": "nginx", "nginx-slice": "nginx", "varnish": "varnishd"}
    for tool in ["taskset"] + sorted({tools[n] for n in args.only if n in tools}):
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found: run scripts/setup.sh "
                             f"(apt-get install -y varnish nginx-extras)")
    check_cpus(args)
    warn_system_instances()


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = None
    results: list[dict] = []
    base = None
    with BenchRun(args, results) as run:
        preflight(args)
        peers = [make_peer(args, n) for n in args.only]
        workdir = run.make_workdir("stavka-range-bench-")
        origin, origin_port, origin_dir = start_bench_origin(args, workdir)
        log(f"origin: bench/origin.py on 127.0.0.1:{origin_port} (CPU {args.client_cpu})")
        if not args.no_baseline:
            base = baseline(args, origin_port, origin.pid)
        for peer in peers:
            results.append(bench_peer(args, peer, workdir, origin_port, origin.pid))
            if origin.poll() is not None:
                raise BenchError(f"origin died ({exit_status_text(origin.returncode)}): "
                                 f"{tail(origin_dir / 'origin.log')}")
    rc = run.rc

    targets: list[dict] = []
    rows = ([base] if base else []) + results
    if rows:
        table, targets = print_report(args, rows)
        write_results(args, run.started, results, table, workdir, prefix="range-",
                      tools={"varnishd": ["varnishd", "-V"]}, baseline=base, targets=targets)
    rc = final_status(rc)
    if rc == 0 and args.strict and any(not t["ok"] for t in targets):
        rc = 3
    return rc


if __name__ == "__main__":
    sys.exit(main())
