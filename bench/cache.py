#!/usr/bin/env python3
"""Side-by-side benchmark of Stavka, Apache Traffic Server, Varnish and nginx as CACHING
reverse proxies.

One run: start the origin (bench/origin.py, pinned to the client CPU), measure it directly as
the baseline of the timing tests, then for each proxy (pinned to the proxy CPU, one worker or
thread pool, rendered from its template into a private temp dir):
  1. cache hits of 1 KiB, 64 KiB and 1 MiB objects: warm the cache, then wrk; req/s, MiB/s,
     latency, the proxy's CPU time per request; the origin must see no request during the run;
  2. collapsed forwarding: 50 clients ask at once for an uncached 10 MiB object whose origin
     waits 1 s before its response head; how many requests reach the origin, and how late each
     client's first byte is after the origin sent its head; every body is checked byte for byte;
  3. time to first byte of a miss: sequential requests for new URLs (64 KiB), first byte at the
     client minus the origin's head-send time.
Prints a table per test with Stavka's ratios to each peer and its targets (pass/FAIL), and
writes JSON to bench/results/cache-<timestamp>.json.

Python 3 standard library only; the machinery shared with bench/run.py is in bench/harness.py.
See docs/bench.md.
"""
from __future__ import annotations

import argparse
import math
import resource
import selectors
import shutil
import socket
import sys
import json
import time
import urllib.parse
from pathlib import Path

from harness import (AtsPeer, BenchError, BenchRun, CpuWindow, NginxPeer, Peer, PEERS_DIR, REPO,
                     SHARED_PEERS_DIR, VarnishPeer, _dechunk, add_machine_args,
                     alive_check, check_cpus, exit_status_text, final_status, fmt, http_get,
                     http_request, log, measure_quietly,
                     measure_wrk, memory, pin_threads, proc_tree, ratio, run_peer, run_wrk,
                     start_bench_origin, stavka_peer, tail, warn, warn_system_instances,
                     write_results)
from origin import body_for

# (What a module costs a hit is bench/module_cost.py's: within one Stavka process.)
PEER_NAMES = ("stavka", "ats", "varnish", "nginx")
KiB, MiB = 1024, 1024 * 1024

# --------------------------------------------------------------------------------------------
# The origin (bench/origin.py): counts requests per path and logs when it sent each head.


def origin_stats(port: int, prefix: str) -> dict[str, dict]:
    """{path: {"count", "received", "heads"}} for the origin's paths under prefix."""
    st, body = http_get(port, "/__stats?prefix=" + urllib.parse.quote(prefix), timeout=10)
    if st != 200:
        raise BenchError(f"origin /__stats answered {st}")
    return json.loads(body)["paths"]


def origin_count(port: int, path: str) -> int:
    return origin_stats(port, path).get(path, {}).get("count", 0)


# --------------------------------------------------------------------------------------------
# HTTP/1.1 client pieces for the timing tests


class Response:
    """One HTTP/1.1 response read incrementally: feed() the bytes as they arrive; done is set
    when it is complete (Content-Length, chunked, or close-delimited at feed_eof())."""

    def __init__(self) -> None:
        self.head = b""
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.parts: list[bytes] = []      # raw body bytes (still chunk-framed if chunked)
        self.raw_len = 0
        self.clen: int | None = None
        self.chunked = False
        self.done = False
        self._left = 0                    # bytes left in the current chunk
        self._line = b""                  # partial chunk-size line
        self._trailer = False

    def feed(self, data: bytes) -> bool:
        if self.status is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return False
            lines = self.head[:end].decode("latin-1").split("\r\n")
            self.status = int(lines[0].split(" ", 2)[1])
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                self.headers[k.strip().lower()] = v.strip()
            self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
            if "content-length" in self.headers and not self.chunked:
                self.clen = int(self.headers["content-length"])
            data, self.head = self.head[end + 4:], self.head[:end + 4]
            if self.clen == 0:
                self.done = True
        if data:
            self.parts.append(data)
            self.raw_len += len(data)
            if self.chunked:
                self._scan_chunks(data)
            elif self.clen is not None and self.raw_len >= self.clen:
                self.done = True
        return self.done

    def _scan_chunks(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n and not self.done:
            if self._left:
                take = min(self._left, n - i)
                self._left -= take
                i += take
                continue
            j = data.find(b"\n", i)
            if j < 0:
                self._line += data[i:]
                return
            line, self._line, i = (self._line + data[i:j]).strip(), b"", j + 1
            if self._trailer:
                self.done = line == b""
            elif line:            # a chunk-size line (empty lines end chunk data)
                size = int(line.split(b";")[0], 16)
                self._trailer = size == 0
                self._left = size

    def feed_eof(self) -> None:
        if self.status is not None and self.clen is None and not self.chunked:
            self.done = True      # close-delimited body

    def body(self) -> bytes:
        raw = b"".join(self.parts)
        return _dechunk(raw) if self.chunked else raw


def request_bytes(path: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: stavka-bench\r\n\r\n".encode()


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of values."""
    if not values:
        return None
    v = sorted(values)
    return v[max(0, math.ceil(q / 100.0 * len(v)) - 1)]


def concurrent_fetch(port: int, host: str, paths: list[str], timeout: float) -> list[dict]:
    """One client per path, all connected first and then started together (their requests are
    written in one tight loop). A single epoll loop reads them all; a client's first-byte time
    is the moment the loop woke up with its socket readable (taken once per wake-up, before
    any data is read, so clients served at the same moment get the same time whatever order
    the loop handles them in). Bodies are kept and checked after the loop, so the loop does
    little besides recv()."""
    sel = selectors.DefaultSelector()
    clients = []
    try:
        for p in paths:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            clients.append({"path": p, "sock": s, "resp": Response(), "t_send": None,
                            "t_first": None, "t_done": None, "error": None})
        for c in clients:
            c["sock"].setblocking(False)
            sel.register(c["sock"], selectors.EVENT_READ, c)
        for c in clients:
            c["t_send"] = time.monotonic()
            c["sock"].sendall(request_bytes(c["path"], host))
        pending = len(clients)
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            events = sel.select(timeout=min(left, 1.0))
            t = time.monotonic()
            for key, _ in events:
                c = key.data
                try:
                    data = c["sock"].recv(1 << 18)
                except BlockingIOError:
                    continue
                except OSError as e:
                    data, c["error"] = b"", f"recv: {e}"
                if data:
                    if c["t_first"] is None:
                        c["t_first"] = t
                    c["resp"].feed(data)
                else:
                    c["resp"].feed_eof()
                    if not c["resp"].done and c["error"] is None:
                        c["error"] = "connection closed before the response was complete"
                if c["resp"].done or not data:
                    c["t_done"] = t
                    sel.unregister(c["sock"])
                    pending -= 1
        for c in clients:
            if c["t_done"] is None and c["error"] is None:
                c["error"] = f"not complete after {timeout:g}s"
    finally:
        sel.close()
        for c in clients:
            c["sock"].close()
    return clients


def check_bodies(clients: list[dict], expected: bytes) -> None:
    """Sets ok / status / bytes on each client; frees the body."""
    for c in clients:
        r = c.pop("resp")
        body = r.body() if r.status is not None else b""
        c["status"] = r.status
        c["bytes"] = len(body)
        c["headers"] = r.headers
        c["ok"] = c["error"] is None and r.status == 200 and r.done and body == expected
        if c["error"] is None and not c["ok"]:
            c["error"] = (f"status {r.status}, {len(body)} body bytes"
                          + ("" if len(body) != len(expected) else ", wrong content"))


def sequential_fetch(port: int, host: str, paths: list[str], timeout: float,
                     expected: bytes) -> list[dict]:
    """The paths one after the other on one keep-alive connection (a new one if the server
    closes it); first-byte time = when the first recv() of the response returned."""
    out = []
    sock = None
    try:
        for p in paths:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = {"path": p, "t_first": None, "error": None}
            r = Response()
            c["t_send"] = time.monotonic()
            try:
                sock.sendall(request_bytes(p, host))
                while not r.done:
                    data = sock.recv(1 << 18)
                    if c["t_first"] is None and data:
                        c["t_first"] = time.monotonic()
                    if not data:
                        r.feed_eof()
                        if not r.done:
                            c["error"] = "connection closed before the response was complete"
                        break
                    r.feed(data)
            except OSError as e:
                c["error"] = f"{type(e).__name__}: {e}"
            c["t_done"] = time.monotonic()
            body = r.body() if r.status is not None else b""
            c["status"], c["bytes"] = r.status, len(body)
            c["ok"] = c["error"] is None and r.status == 200 and body == expected
            if c["error"] is None and not c["ok"]:
                c["error"] = f"status {r.status}, {len(body)} body bytes"
            if c["error"] or "close" in r.headers.get("connection", "").lower():
                sock.close()
                sock = None
            out.append(c)
    finally:
        if sock is not None:
            sock.close()
    return out


def self_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def ms(v: float | None) -> float | None:
    return None if v is None else v * 1000.0


# --------------------------------------------------------------------------------------------
# Test 1: cache hits


def hit_test(args, peer: Peer, size: int, origin_port: int, origin_pid: int,
             check_alive) -> dict:
    port = peer.port_for("hits")
    host = f"127.0.0.1:{port}"
    path = f"/o/{size}/0/hit-{peer.name}-{size}"
    expected = body_for(size)
    r: dict = {"size": size, "path": path, "errors": [], "suspect": []}
    # Warm the cache: the first request is a miss, the next ones must be hits. (With --rounds
    # the origin has seen this path in earlier rounds: count from now.)
    seen_before = origin_count(origin_port, path)
    for i in range(3):
        st, headers, body = http_request(port, path, timeout=30, host=host)
        if st != 200 or body != expected:
            raise BenchError(f"{peer.name}: warming {path}: status {st}, {len(body)} bytes "
                             f"(expected 200, {size})")
    r["hit_headers"] = {k: v for k, v in headers.items()
                        if k in ("x-cache", "cache-status", "age", "x-varnish", "via")}
    r["origin_requests_warming"] = origin_count(origin_port, path) - seen_before
    if r["origin_requests_warming"] != 1:
        log(f"{peer.name}: {size} B: {r['origin_requests_warming']} origin requests for 3 "
            f"warming requests (1 expected)")

    def attempt(n: int, of: int) -> dict:
        run_wrk(args, port, args.warmup, False, peer.dir / f"wrk-warmup-{size}.log", path=path)
        check_alive("the hit warm-up")
        log(f"{peer.name}: hits {size} B: wrk -t{args.threads} -c{args.connections} "
            f"-d{args.duration:g}s" + (f" (attempt {n}/{of})" if n > 1 else ""))
        before = origin_count(origin_port, path)
        w = measure_wrk(args, port, path, peer.pids(), proc_tree(origin_pid),
                        peer.dir / f"wrk-{size}.log", r)
        r["origin_requests_during_run"] = origin_count(origin_port, path) - before
        check_alive("the hit run")
        return w

    w = measure_quietly(args, f"{peer.name} hits {size} B", r, attempt)
    errs = w["socket_errors"]
    if sum(errs.values()) or w["non_2xx_3xx"]:
        r["errors"].append(f"{peer.name}: hits {size} B: wrk socket errors {errs}, non-2xx/3xx "
                           f"{w['non_2xx_3xx']} (of {w.get('requests')})")
    if w.get("requests") and w.get("bytes_read"):
        per = w["bytes_read"] / w["requests"]
        r["bytes_per_response"] = round(per)
        rounding = w["bytes_read_rounding"] / w["requests"]
        in_flight = args.connections * (size + 2048) / w["requests"]
        if per < size - rounding or per > size + 2048 + rounding + in_flight:
            r["errors"].append(f"{peer.name}: hits {size} B: {per:.0f} bytes read per response: "
                               f"truncated or wrong responses")
        r["mib_per_s"] = w["bytes_read"] / w["duration_s"] / MiB
    if r["origin_requests_during_run"]:
        r["errors"].append(f"{peer.name}: hits {size} B: NOT SERVED FROM CACHE: the origin got "
                           f"{r['origin_requests_during_run']} requests during the measured run")
    st, body = http_get_checked(port, path, host)
    if st != 200 or body != expected:
        r["errors"].append(f"{peer.name}: after the {size} B run GET {path} gave status {st}, "
                           f"{len(body)} bytes")
    for e in r["errors"]:
        warn(e)
    return r


def http_get_checked(port: int, path: str, host: str) -> tuple[int, bytes]:
    try:
        st, _, body = http_request(port, path, timeout=30, host=host)
        return st, body
    except (OSError, ValueError, IndexError) as e:
        return -1, repr(e).encode()


# --------------------------------------------------------------------------------------------
# Test 2: collapsed forwarding


def collapse_test(args, name: str, port: int | None, origin_port: int, proxy_pids: list[int],
                  origin_pid: int, direct: bool = False) -> dict:
    """args.cf_rounds rounds; each: args.cf_clients clients at once for a new URL of an
    args.cf_size object whose origin response head comes args.cf_delay s after the request.
    Through a proxy all clients ask for one URL; directly (the baseline) each asks its own,
    so each is matched with its own origin response."""
    expected = body_for(args.cf_size)
    delay_ms = round(args.cf_delay * 1000)
    r: dict = {"rounds": [], "errors": [], "suspect": []}
    target_port = origin_port if direct else port

    def attempt(n: int, of: int) -> None:
        r["rounds"] = []
        lateness, complete = [], []
        window = CpuWindow(args, proxy_pids, proc_tree(origin_pid))
        cpu0 = self_cpu_s()
        for k in range(args.cf_rounds):
            tag = f"cf-{name}-{time.monotonic_ns()}-{k}"
            base = f"/o/{args.cf_size}/{delay_ms}/{tag}"
            paths = ([f"{base}-{i}" for i in range(args.cf_clients)] if direct
                     else [base] * args.cf_clients)
            clients = concurrent_fetch(target_port, f"127.0.0.1:{target_port}", paths,
                                       args.cf_timeout)
            check_bodies(clients, expected)
            stats = origin_stats(origin_port, base)
            rnd = {"path": base, "origin_requests": sum(s["count"] for s in stats.values()),
                   "clients": len(clients), "ok": sum(c["ok"] for c in clients),
                   "errors": sorted({c["error"] for c in clients if c["error"]})}
            for c in clients:
                heads = stats.get(c["path"], {}).get("heads") or []
                # the first head the origin sent for this object (through a proxy that sends
                # several requests, the clients may be served by any of them)
                h = min(heads) if heads else None
                c["late_s"] = c["t_first"] - h if h is not None and c["t_first"] else None
                c["complete_s"] = c["t_done"] - h if h is not None and c["ok"] else None
                if c["ok"] and c["late_s"] is not None:
                    lateness.append(c["late_s"])
                    complete.append(c["complete_s"])
            rnd["lateness_ms"] = [round(ms(c["late_s"]), 3) if c["late_s"] is not None else None
                                  for c in clients]
            rnd["complete_ms"] = [round(ms(c["complete_s"]), 3)
                                  if c["complete_s"] is not None else None for c in clients]
            rnd["statuses"] = sorted({str(c["status"]) for c in clients})
            rnd["sample_headers"] = next((c["headers"] for c in clients if c["headers"]), {})
            r["rounds"].append(rnd)
            log(f"{name}: collapsed forwarding round {k + 1}/{args.cf_rounds}: "
                f"{rnd['origin_requests']} origin request(s), {rnd['ok']}/{len(clients)} "
                f"complete and correct, first byte +{fmt(ms(percentile(lateness, 50)), '.1f')} "
                f"ms median so far")
        window.stop()
        window.fill(r, None, self_cpu_s() - cpu0, client="harness")
        r["lateness_ms"] = summary(lateness)
        r["complete_ms"] = summary(complete)

    measure_quietly(args, f"{name} collapsed forwarding", r, attempt)
    r["origin_requests_per_round"] = [x["origin_requests"] for x in r["rounds"]]
    r["clients_ok"] = sum(x["ok"] for x in r["rounds"])
    r["clients_total"] = sum(x["clients"] for x in r["rounds"])
    if r["clients_ok"] != r["clients_total"]:
        errs = sorted({e for x in r["rounds"] for e in x["errors"]})
        r["errors"].append(f"{name}: collapsed forwarding: only {r['clients_ok']} of "
                           f"{r['clients_total']} clients got the complete, correct "
                           f"{args.cf_size}-byte body ({'; '.join(errs)[:300]})")
    if name == "stavka" and any(n != 1 for n in r["origin_requests_per_round"]):
        r["errors"].append(f"stavka: collapsed forwarding: origin requests per round "
                           f"{r['origin_requests_per_round']} (exactly 1 expected)")
    for e in r["errors"]:
        warn(e)
    return r


def summary(values_s: list[float]) -> dict:
    return {"n": len(values_s),
            **{k: (round(ms(percentile(values_s, q)), 3) if values_s else None)
               for k, q in (("min", 0), ("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))}}


# --------------------------------------------------------------------------------------------
# Test 3: time to first byte of a miss


def miss_test(args, name: str, port: int, origin_port: int, proxy_pids: list[int],
              origin_pid: int) -> dict:
    expected = body_for(args.miss_size)
    r: dict = {"errors": [], "suspect": []}

    def attempt(n: int, of: int) -> None:
        base = f"/o/{args.miss_size}/0/miss-{name}-{time.monotonic_ns()}"
        paths = [f"{base}-{i}" for i in range(args.miss_count)]
        window = CpuWindow(args, proxy_pids, proc_tree(origin_pid))
        cpu0 = self_cpu_s()
        clients = sequential_fetch(port, f"127.0.0.1:{port}", paths, 30, expected)
        window.stop()
        window.fill(r, len(clients), self_cpu_s() - cpu0, client="harness")
        stats = origin_stats(origin_port, base)
        ttfb, fwd, counts = [], [], []
        for c in clients:
            s = stats.get(c["path"], {})
            counts.append(s.get("count", 0))
            if c["ok"] and s.get("heads") and c["t_first"]:
                ttfb.append(c["t_first"] - s["heads"][0])
                fwd.append(s["received"][0] - c["t_send"])
        r["path_prefix"] = base
        r["requests"] = len(clients)
        r["ok"] = sum(c["ok"] for c in clients)
        r["origin_requests"] = sum(counts)
        r["paths_not_exactly_once"] = sum(1 for x in counts if x != 1)
        r["ttfb_ms"] = summary(ttfb)
        r["forward_ms"] = summary(fwd)      # client sent the request -> origin read it
        r["first_errors"] = sorted({c["error"] for c in clients if c["error"]})[:5]

    log(f"{name}: misses: {args.miss_count} sequential requests for new "
        f"{args.miss_size}-byte objects")
    measure_quietly(args, f"{name} misses", r, attempt)
    if r["ok"] != r["requests"]:
        r["errors"].append(f"{name}: misses: only {r['ok']} of {r['requests']} responses "
                           f"complete and correct ({'; '.join(r['first_errors'])[:300]})")
    if r["paths_not_exactly_once"]:
        r["errors"].append(f"{name}: misses: {r['paths_not_exactly_once']} of {r['requests']} "
                           f"new URLs did not reach the origin exactly once")
    for e in r["errors"]:
        warn(e)
    return r


# --------------------------------------------------------------------------------------------
# One proxy


def bench_peer(args, peer: Peer, workdir: Path, origin_port: int, origin_pid: int) -> dict:
    res: dict = {"name": peer.name, "errors": [], "hits": {}}
    log(f"{peer.name}: starting (pinned to CPU {args.proxy_cpu})")

    check_alive = alive_check(peer, res)

    def run_test(what: str, fn) -> dict | None:
        """Runs one test; its failure is recorded and the next test still runs."""
        try:
            return fn()
        except BenchError as e:
            if str(e) not in res["errors"]:
                res["errors"].append(str(e))
                warn(str(e))
            if not peer.alive():
                raise
        except Exception as e:
            msg = f"{peer.name}: {what}: harness error: {type(e).__name__}: {e}"
            res["errors"].append(msg)
            warn(msg)
        return None

    def body() -> None:
        peer.start(workdir, origin_port, args.proxy_cpu)
        if peer.name == "nginx":
            # The shared nginx template's listener with proxy_cache_lock on is nginx's
            # collapsed forwarding; the main one (lock off) serves the other tests.
            peer.test_ports["collapse"] = peer.extra["ports"]["PORT_LOCK"]
        res["port"] = peer.port
        res["test_ports"] = dict(peer.test_ports)
        res["start_command"] = " ".join(peer.proc.args)
        peer.ready("/o/1024/0/ready", body_for(1024), host=f"127.0.0.1:{peer.port}",
                   timeout=args.start_timeout)
        moved = pin_threads(peer.pids(), args.proxy_cpu)
        if moved:
            log(f"{peer.name}: re-pinned {len(moved)} thread(s) to CPU {args.proxy_cpu}: "
                f"{', '.join(moved[:6])}{' ...' if len(moved) > 6 else ''}")
        res["threads_repinned"] = moved
        res["pids"] = peer.pids()
        res["memory_start"] = memory(res["pids"])
        if "hits" in args.tests:
            for size in args.sizes:
                h = run_test(f"hits {size} B", lambda: hit_test(args, peer, size, origin_port,
                                                                origin_pid, check_alive))
                if h is not None:
                    res["hits"][str(size)] = h
                    res["errors"] += h["errors"]
        if "collapse" in args.tests:
            c = run_test("collapsed forwarding", lambda: collapse_test(
                args, peer.name, peer.port_for("collapse"), origin_port, peer.pids(),
                origin_pid))
            if c is not None:
                res["collapse"] = c
                res["errors"] += c["errors"]
            check_alive("the collapsed-forwarding test")
        if "miss" in args.tests:
            m = run_test("misses", lambda: miss_test(args, peer.name, peer.port_for("miss"),
                                                     origin_port, peer.pids(), origin_pid))
            if m is not None:
                res["miss"] = m
                res["errors"] += m["errors"]
            check_alive("the miss test")
        res["pids"] = peer.pids()
        res["memory_after"] = memory(res["pids"])

    return run_peer(args, peer, res, body)


def baseline(args, origin_port: int, origin_pid: int) -> dict:
    """The timing tests straight against the origin: what the Python client and origin add
    to every lateness and first-byte figure (scheduling on the shared CPU, wake-ups, the
    interpreter), with no proxy in between."""
    res: dict = {"name": "origin (direct)", "errors": []}
    log("baseline: the timing tests straight against the origin (no proxy)")
    try:
        if "collapse" in args.tests:
            res["collapse"] = collapse_test(args, "direct", None, origin_port, [], origin_pid,
                                            direct=True)
        if "miss" in args.tests:
            res["miss"] = miss_test(args, "direct", origin_port, origin_port, [], origin_pid)
    except BenchError as e:
        res["errors"].append(str(e))
        warn(str(e))
    for k in ("collapse", "miss"):
        res["errors"] += (res.get(k) or {}).get("errors", [])
    return res


# --------------------------------------------------------------------------------------------
# Report


def mark(ok: bool | None) -> str:
    return "-" if ok is None else "pass" if ok else "FAIL"


def xr(a, b, spec: str = ".2f") -> str:
    q = ratio(a, b)
    return "-" if q is None else format(q, spec) + "x"


def print_report(args, results: list[dict], base: dict | None) -> tuple[list[str], list[dict]]:
    """Prints the three tables, Stavka's ratios to each peer and its targets. Returns (lines,
    targets) where targets is a list of {what, value, target, ok}."""
    by = {r["name"]: r for r in results}
    peers = list(dict.fromkeys(r["name"] for r in results if r["name"] != "stavka"))  # once each
    st = by.get("stavka")
    lines: list[str] = []
    targets: list[dict] = []
    P, C = args.proxy_cpu, args.client_cpu

    def target(what: str, value, spec: str, cmp: str, limit, unit: str = "") -> None:
        ok = None if value is None else (value >= limit if cmp == ">=" else value <= limit)
        targets.append({"what": what, "value": value, "target": f"{cmp} {limit}{unit}",
                        "ok": ok})
        lines.append(f"  {what:<46} {fmt(value, spec) + unit if value is not None else '-':>12}"
                     f"   target {cmp} {limit:g}{unit:<3}  {mark(ok)}")

    def throughput_or_cpu(what: str, mine: dict, theirs: dict, value, need: float) -> None:
        """A throughput target met by the ratio, or, when the load generator's CPU saturated
        before the proxy's (wrk >= 95%), by the proxy CPU time per request: at most 1/need of
        the peer's (the rule the hit figures are judged by)."""
        ok = thr_ok = None if value is None else value >= need
        cpu = ratio(mine.get("cpu_us_per_req"), theirs.get("cpu_us_per_req"))
        saturated = (mine.get("client_cpu_util_pct") or 0) >= 95
        cpu_limit = round(1 / need, 2)
        cpu_ok = cpu <= cpu_limit if saturated and cpu is not None else None
        if not ok and cpu_ok is not None:
            ok = cpu_ok
        targets.append({"what": what, "value": value, "target": f">= {need}x", "ok": ok,
                        "cpu_per_request_ratio": cpu, "load_generator_saturated": saturated,
                        "cpu_target": f"<= {cpu_limit}x" if saturated else None})
        lines.append(f"  {what:<46} {fmt(value, '.2f') + 'x' if value is not None else '-':>12}"
                     f"   target >= {need:g}x    "
                     f"{'met by CPU per request, below' if ok and not thr_ok else mark(thr_ok)}")
        if saturated:
            lines.append(f"    wrk saturated first: Stavka's CPU per request "
                         f"{fmt(cpu, '.2f') + 'x' if cpu is not None else '-'} the peer's, "
                         f"target <= {cpu_limit:g}x  {mark(cpu_ok)}")

    def status(x: dict) -> str:
        return "ERRORS" if x.get("errors") else "SUSPECT (load)" if x.get("suspect") else "ok"

    # -- 1. hits
    if "hits" in args.tests:
        hdr = (f"{'proxy':<9} {'size':>8} {'req/s':>9} {'MiB/s':>8} {'p50':>8} {'p99':>8} "
               f"{'CPU µs/req':>10} {f'CPU{P}%':>6} {f'CPU{C}%':>6} {'origin req':>10}  status")
        lines += ["", f"1. CACHE HITS: wrk -t{args.threads} -c{args.connections} "
                  f"-d{args.duration:g}s per object size", hdr, "-" * len(hdr)]
        for size in args.sizes:
            for r in results:
                h = r["hits"].get(str(size))
                if not h or not h.get("wrk"):
                    lines.append(f"{r['name']:<9} {size_text(size):>8}  (no result)")
                    continue
                w, lat = h["wrk"], h["wrk"]["latency_ms"]
                lines.append(
                    f"{r['name']:<9} {size_text(size):>8} {w['requests_per_s']:>9,.0f} "
                    f"{fmt(h.get('mib_per_s'), ',.0f'):>8} {fmt(lat.get('p50'), '.2f') + 'ms':>8} "
                    f"{fmt(lat.get('p99'), '.2f') + 'ms':>8} "
                    f"{fmt(h.get('cpu_us_per_req'), '.2f'):>10} "
                    f"{fmt(h.get('proxy_cpu_util_pct'), '.0f'):>6} "
                    f"{fmt(h.get('client_cpu_util_pct'), '.0f'):>6} "
                    f"{h.get('origin_requests_during_run', '-'):>10}  {status(h)}")
        if st:
            lines.append("")
            for size in args.sizes:
                s = st["hits"].get(str(size))
                if not s or not s.get("wrk"):
                    continue
                for p in peers:
                    o = by[p]["hits"].get(str(size))
                    if not o or not o.get("wrk"):
                        continue
                    sw, ow = s["wrk"], o["wrk"]
                    lines.append(
                        f"Stavka/{p:<8} {size_text(size):>8}:  req/s "
                        f"{xr(sw['requests_per_s'], ow['requests_per_s'])}  "
                        f"MiB/s {xr(s.get('mib_per_s'), o.get('mib_per_s'))} (higher is better)"
                        f"   p99 {xr(sw['latency_ms'].get('p99'), ow['latency_ms'].get('p99'))}"
                        f"  CPU/req {xr(s.get('cpu_us_per_req'), o.get('cpu_us_per_req'))}"
                        f" (lower is better)")
        lines.append("")
        for r in results:
            for size in args.sizes:
                h = r["hits"].get(str(size)) or {}
                if h.get("client_cpu_util_pct") is not None and h["client_cpu_util_pct"] >= 95:
                    lines.append(f"{r['name']} {size_text(size)}: CPU{C} (wrk) saturated -> "
                                 f"req/s understates the proxy; compare CPU µs/req")

    # -- 2. collapsed forwarding
    rows = ([base] if base else []) + results
    if "collapse" in args.tests:
        hdr = (f"{'proxy':<16} {'origin reqs':>12} {'bodies ok':>10} {'late p50':>9} "
               f"{'p90':>8} {'max':>8} {'done p50':>9} {'max':>8} {'proxy CPU':>9}  status")
        lines += ["", f"2. COLLAPSED FORWARDING: {args.cf_clients} clients at once, "
                  f"{size_text(args.cf_size)} object, origin head after {args.cf_delay:g}s, "
                  f"{args.cf_rounds} round(s); 'late' = client's first byte minus the origin's "
                  f"head-send time, 'done' = last byte (ms)", hdr, "-" * len(hdr)]
        for r in rows:
            c = r.get("collapse")
            if not c or not c.get("lateness_ms"):
                lines.append(f"{r['name']:<16}  (no result)")
                continue
            la, co = c["lateness_ms"], c["complete_ms"]
            orq = ",".join(map(str, c["origin_requests_per_round"]))
            lines.append(
                f"{r['name']:<16} {orq:>12} {c['clients_ok']:>4}/{c['clients_total']:<5} "
                f"{fmt(la['p50'], '.1f'):>9} {fmt(la['p90'], '.1f'):>8} {fmt(la['max'], '.1f'):>8} "
                f"{fmt(co['p50'], '.1f'):>9} {fmt(co['max'], '.1f'):>8} "
                f"{fmt(c.get('proxy_cpu_s'), '.2f') + 's' if r is not base else '-':>9}  "
                f"{status(c)}")
        if st and st.get("collapse"):
            lines.append("")
            for p in peers:
                o = by[p].get("collapse")
                if o and o.get("lateness_ms") and st["collapse"].get("lateness_ms"):
                    a, b = st["collapse"]["lateness_ms"], o["lateness_ms"]
                    lines.append(f"Stavka/{p:<8} first-byte lateness: p50 {xr(a['p50'], b['p50'])}"
                                 f"  p90 {xr(a['p90'], b['p90'])}  max {xr(a['max'], b['max'])}"
                                 f" (lower is better)")

    # -- 3. misses
    if "miss" in args.tests:
        b0 = (base or {}).get("miss", {}).get("ttfb_ms", {})
        hdr = (f"{'proxy':<16} {'ttfb p50':>9} {'p99':>8} {'max':>8} {'net p50':>8} "
               f"{'net p99':>8} {'fwd p50':>8} {'origin reqs':>11} {'ok':>5}  status")
        lines += ["", f"3. MISS TIME TO FIRST BYTE: {args.miss_count} sequential requests for "
                  f"new {size_text(args.miss_size)} objects; ttfb = client's first byte minus "
                  f"the origin's head-send time, net = minus the direct baseline's, "
                  f"fwd = client send to origin receive (ms)", hdr, "-" * len(hdr)]
        for r in rows:
            m = r.get("miss")
            if not m or not m.get("ttfb_ms"):
                lines.append(f"{r['name']:<16}  (no result)")
                continue
            t = m["ttfb_ms"]
            net50 = t["p50"] - b0["p50"] if r is not base and b0.get("p50") is not None else None
            net99 = t["p99"] - b0["p99"] if r is not base and b0.get("p99") is not None else None
            lines.append(
                f"{r['name']:<16} {fmt(t['p50'], '.3f'):>9} {fmt(t['p99'], '.3f'):>8} "
                f"{fmt(t['max'], '.3f'):>8} {fmt(net50, '.3f'):>8} {fmt(net99, '.3f'):>8} "
                f"{fmt(m['forward_ms']['p50'], '.3f'):>8} {m['origin_requests']:>11} "
                f"{m['ok']:>5}  {status(m)}")
        if st and st.get("miss"):
            lines.append("")
            for p in peers:
                o = by[p].get("miss")
                if o and o.get("ttfb_ms") and st["miss"].get("ttfb_ms"):
                    a, b = st["miss"]["ttfb_ms"], o["ttfb_ms"]
                    lines.append(f"Stavka/{p:<8} miss TTFB: p50 {xr(a['p50'], b['p50'])}  "
                                 f"p99 {xr(a['p99'], b['p99'])} (raw; lower is better)")

    # -- targets
    if st:
        lines += ["", "STAVKA TARGETS"]
        h1 = st["hits"].get("1024") or {}
        h64 = st["hits"].get(str(64 * KiB)) or {}
        h1m = st["hits"].get(str(MiB)) or {}

        def peer_hit(p, size):
            return (by.get(p) or {"hits": {}})["hits"].get(str(size)) or {}

        def rps(h):
            return (h.get("wrk") or {}).get("requests_per_s")

        if "hits" in args.tests:
            target("hits 1 KiB: Stavka/ATS req/s", ratio(rps(h1), rps(peer_hit("ats", 1024))),
                   ".2f", ">=", 1.5, "x")
            throughput_or_cpu("hits 64 KiB: Stavka/ATS req/s", h64, peer_hit("ats", 64 * KiB),
                              ratio(rps(h64), rps(peer_hit("ats", 64 * KiB))), 1.3)
            throughput_or_cpu("hits 1 MiB: Stavka/Varnish MiB/s", h1m, peer_hit("varnish", MiB),
                              ratio(h1m.get("mib_per_s"),
                                    peer_hit("varnish", MiB).get("mib_per_s")), 1.2)
            target("hits 1 KiB: Stavka p99 latency",
                   ((h1.get("wrk") or {}).get("latency_ms") or {}).get("p99"), ".2f", "<=", 1,
                   "ms")
            target("hits 1 KiB: Stavka/ATS CPU per request",
                   ratio(h1.get("cpu_us_per_req"), peer_hit("ats", 1024).get("cpu_us_per_req")),
                   ".2f", "<=", 0.67, "x")
        c = st.get("collapse")
        if "collapse" in args.tests:
            target("collapsed: origin requests per object (max)",
                   max(c["origin_requests_per_round"]) if c and c["rounds"] else None, "d",
                   "<=", 1)
            target("collapsed: bodies complete and correct (%)",
                   100.0 * c["clients_ok"] / c["clients_total"] if c and c["clients_total"]
                   else None, ".0f", ">=", 100, "%")
            target("collapsed: every client's lateness (max)",
                   (c or {}).get("lateness_ms", {}).get("max"), ".1f", "<=", 20, "ms")
        m = st.get("miss")
        if "miss" in args.tests:
            t = (m or {}).get("ttfb_ms", {})
            b0 = (base or {}).get("miss", {}).get("ttfb_ms", {})
            target("miss TTFB p50 (raw, harness overhead included)", t.get("p50"), ".3f", "<=",
                   0.3, "ms")
            target("miss TTFB p50 net of the direct baseline",
                   t["p50"] - b0["p50"] if t.get("p50") is not None and b0.get("p50") is not None
                   else None, ".3f", "<=", 0.3, "ms")
        failed = [t for t in targets if t["ok"] is False]
        lines.append(f"  {len(targets) - len(failed)} of {len(targets)} targets met"
                     + (f"; MISSED: {', '.join(t['what'] for t in failed)}" if failed else ""))
    print("\n".join(lines))
    return lines, targets


def size_text(n: int) -> str:
    return (f"{n // MiB} MiB" if n % MiB == 0 else f"{n // KiB} KiB" if n % KiB == 0
            else f"{n} B")


# --------------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    t = text.strip().upper().replace("IB", "").replace("B", "")
    mult = {"K": KiB, "M": MiB, "G": 1024 * MiB}.get(t[-1:], 1)
    return int(float(t.rstrip("KMG")) * mult)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Stavka vs ATS vs Varnish vs nginx caching-proxy "
                                 "benchmark (see docs/bench.md)")
    ap.add_argument("--only", default=",".join(PEER_NAMES),
                    help=f"comma-separated proxies to run, in order ({','.join(PEER_NAMES)})")
    ap.add_argument("--tests", default="hits,collapse,miss",
                    help="comma-separated tests to run (hits,collapse,miss)")
    # 1. hits
    ap.add_argument("--sizes", default="1KiB,64KiB,1MiB", help="hit object sizes")
    ap.add_argument("--duration", type=float, default=10, help="measured wrk run, s (10)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the proxies this many times in turn; the tables list every round, "
                         "the targets use the last (1)")
    ap.add_argument("--warmup", type=float, default=2, help="warm-up wrk run, s (2)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    ap.add_argument("--wrk-timeout", type=float, default=2, help="wrk --timeout, s (2)")
    # 2. collapsed forwarding
    ap.add_argument("--cf-clients", type=int, default=50, help="concurrent clients (50)")
    ap.add_argument("--cf-size", default="10MiB", help="object size (10MiB)")
    ap.add_argument("--cf-delay", type=float, default=1.0,
                    help="origin delay before the response head, s (1)")
    ap.add_argument("--cf-rounds", type=int, default=3,
                    help="rounds, each with a new URL; the figures pool all clients (3)")
    ap.add_argument("--cf-timeout", type=float, default=60, help="per round, s (60)")
    # 3. misses
    ap.add_argument("--miss-count", type=int, default=200, help="sequential misses (200)")
    ap.add_argument("--miss-size", default="64KiB", help="object size (64KiB)")
    # peers
    ap.add_argument("--stavka", default=str(REPO / "build" / "stavka"), help="Stavka binary")
    ap.add_argument("--stavka-conf", default=str(PEERS_DIR / "stavka-cache.toml"),
                    help="Stavka config template")
    ap.add_argument("--peers-dir", default=str(SHARED_PEERS_DIR),
                    help="the shared peer templates (nginx/, varnish/, ats/)")
    ap.add_argument("--ats-extra", default="records.extra.cf",
                    help="file in <peers-dir>/ats rendered as @EXTRA@ of records.config "
                         "(collapsed-forwarding mode); 'none' for none")
    ap.add_argument("--start-timeout", type=float, default=60,
                    help="seconds a proxy gets to start answering (60)")
    # machine
    add_machine_args(ap, "CPU for wrk, the origin and the harness (1)")
    ap.add_argument("--strict", action="store_true",
                    help="exit with status 3 when a Stavka target is missed (otherwise "
                         "targets are reported only)")
    ap.add_argument("--out", help="JSON result path (default bench/results/cache-<timestamp>"
                                  ".json)")
    args = ap.parse_args(argv)
    args.only = [x.strip() for x in args.only.split(",") if x.strip()]
    for x in args.only:
        if x not in PEER_NAMES:
            ap.error(f"--only: unknown proxy {x!r} ({', '.join(PEER_NAMES)})")
    args.tests = [x.strip() for x in args.tests.split(",") if x.strip()]
    for x in args.tests:
        if x not in ("hits", "collapse", "miss"):
            ap.error(f"--tests: unknown test {x!r} (hits, collapse, miss)")
    try:
        args.sizes = [parse_size(x) for x in args.sizes.split(",") if x.strip()]
        args.cf_size = parse_size(args.cf_size)
        args.miss_size = parse_size(args.miss_size)
    except ValueError as e:
        ap.error(f"bad size: {e}")
    return args


def make_peer(args, name: str) -> Peer:
    d = Path(args.peers_dir)
    if name == "stavka":
        return stavka_peer(args, "ats,varnish,nginx")
    if name == "ats":
        extra = None if args.ats_extra == "none" else d / "ats" / args.ats_extra
        return AtsPeer("ats", d / "ats", extra)
    if name == "varnish":
        return VarnishPeer("varnish", d / "varnish")
    return NginxPeer("nginx", d / "nginx" / "nginx.conf", "PORT_MAIN")


TOOLS = {"nginx": "nginx", "varnish": "varnishd", "ats": "traffic_server"}


def preflight(args) -> None:
    for tool in ["wrk", "taskset"] + [TOOLS[n] for n in args.only if n in TOOLS]:
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found: run scripts/setup.sh "
                             f"(apt-get install -y varnish trafficserver nginx-extras wrk)")
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
        workdir = run.make_workdir("stavka-cache-bench-")
        origin, origin_port, origin_dir = start_bench_origin(
            args, workdir, set(args.sizes) | {args.cf_size, args.miss_size, 1024})
        log(f"origin: bench/origin.py on 127.0.0.1:{origin_port} (CPU {args.client_cpu})")
        if "collapse" in args.tests or "miss" in args.tests:
            base = baseline(args, origin_port, origin.pid)
        for round_no in range(max(1, args.rounds)):
            if args.rounds > 1:
                log(f"round {round_no + 1} of {args.rounds}")
                peers = [make_peer(args, n) for n in args.only]
            this_round: list[dict] = []
            for peer in peers:
                this_round.append(bench_peer(args, peer, workdir / f"round{round_no}", origin_port,
                                             origin.pid))
                if origin.poll() is not None:
                    raise BenchError(f"origin died ({exit_status_text(origin.returncode)}): "
                                     f"{tail(origin_dir / 'origin.log')}")
            results.extend(this_round)  # the tables list every round; the targets use the last
    rc = run.rc

    targets: list[dict] = []
    if results or base:
        table, targets = print_report(args, results, base)
        write_results(args, run.started, results, table, workdir, prefix="cache-",
                      tools={"varnishd": ["varnishd", "-V"],
                             "traffic_server": ["traffic_server", "--version"]},
                      baseline=base, targets=targets)
    rc = final_status(rc)
    if rc == 0 and args.strict and any(t["ok"] is False for t in targets):
        rc = 3
    return rc


if __name__ == "__main__":
    sys.exit(main())
