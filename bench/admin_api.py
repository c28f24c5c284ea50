#!/usr/bin/env python3
"""The admin API at scale: the cache listing and purges with many objects cached.

Stavka (one worker, pinned to CPU 0; bench/peers/stavka-admin.toml) is filled through its proxy
listener with --entries small objects (wrk with bench/admin_fill.lua: one request per new URL,
/o/100/0/e<N>?key=t<N mod --tags>, so that every tag is carried by entries/tags objects; the
origin, bench/origin.py, sends Surrogate-Key: t<k>; wrk is stopped once the origin has answered
them all). The harness then checks how many objects the cache holds, and times, from sending
the request to the complete answer, on a fresh connection each:

  1. every page of the whole listing, GET /api/v1/cache?limit=--page (the first, and all the
     pages after it through next_cursor): the median and the slowest page;
  2. a listing page filtered by a prefix that matches one object (a range of the order), and
     one filtered by a host no object has (the filter walks every key);
  3. a listing page filtered by a tag;
  4. POST /api/v1/purge {"tags": ["t0"]}: entries/tags objects (target: 1 s for 10,000), then
     the listing to check none of them is left.

Then Varnish 7.1 with vmod xkey (Debian's varnish-modules; bench/peers/varnish-xkey: the shared
peer's VCL plus xkey on the Surrogate-Key and a PURGE method for xkey.purge()) is filled alike,
and its purge of the same tag is timed the same way: the purge by tag side by side, as a ratio.
No peer has a listing to compare with (nginx, Varnish and ATS offer none).

Targets: a page of the listing in at most 100 ms (the slowest page of the whole listing counts;
the filtered pages are reported), a purge by tag of 10,000 objects in at most 1 s.

Python 3 standard library only; the shared machinery is in bench/harness.py. See docs/bench.md.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import re
import socket
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from harness import (VarnishPeer, ratio, BENCH_DIR, BenchError, BenchRun, PEERS_DIR, REPO, StavkaPeer,
                     add_machine_args, admin_call, alive_check, final_status, fmt, http_get,
                     log, preflight_stavka, run_peer, spawn,
                     start_bench_origin, taskset, wait_wrk, warn, write_results)
from origin import body_for

TARGET_PAGE_MS = 100
TARGET_PURGE_S = 1.0
ADMIN_TOKEN = "stk_" + secrets.token_urlsafe(32)  # the proxy's (STAVKA_ADMIN_TOKEN)


def fill(args, peer, origin_port: int, log_path: Path) -> float:
    """wrk through the proxy until the origin has answered every URL once (then wrk is stopped);
    returns the seconds it took."""
    argv = taskset(args.client_cpu, [
        "wrk", "-t1", f"-c{args.fill_connections}", f"-d{args.fill_timeout:g}s",
        "-s", str(BENCH_DIR / "admin_fill.lua"), f"http://127.0.0.1:{peer.port}/",
        "--", str(args.entries), str(args.tags)])
    log_path.write_text("$ " + " ".join(argv) + "\n")
    t0 = time.monotonic()
    filled = threading.Event()
    base = origin_total(origin_port)

    def watch() -> None:
        while not filled.is_set():
            if origin_total(origin_port) - base >= args.entries:
                filled.set()
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        out, _ = wait_wrk(spawn(argv, log_path), log_path, args.fill_timeout + 60,
                          stop_early=filled)
    finally:
        filled.set()
    if origin_total(origin_port) - base < args.entries:
        raise BenchError(f"the fill did not fetch all {args.entries} URLs within "
                         f"{args.fill_timeout:g}s:\n{out}")
    return time.monotonic() - t0


def cached_objects(peer) -> int:
    """The memory tier's object count, from /metrics."""
    st, body = http_get(peer.admin_port, "/metrics", timeout=10)
    for line in body.decode().splitlines():
        if line.startswith('stavka_cache_objects{tier="memory"}'):
            return int(float(line.split()[-1]))
    raise BenchError(f"/metrics ({st}) has no stavka_cache_objects for the memory tier")


def origin_total(port: int) -> int:
    """Requests the origin has answered (its /__stats, for a prefix no path has)."""
    st, body = http_get(port, "/__stats?prefix=/__none", timeout=10)
    if st != 200:
        raise BenchError(f"origin /__stats answered {st}")
    return json.loads(body)["total"]


def get(peer, path: str) -> tuple[dict, float]:
    status, answer, took = admin_call(peer.admin_port, "GET", path, ADMIN_TOKEN)
    if status != 200:
        raise BenchError(f"GET {path}: {status} {answer}")
    return answer, took


def walk(peer, page: int) -> tuple[int, list[float]]:
    """Pages through the whole listing: (entries, seconds per page)."""
    entries, times, cursor = 0, [], None
    while True:
        path = f"/api/v1/cache?limit={page}" + (f"&cursor={cursor}" if cursor else "")
        answer, took = get(peer, path)
        times.append(took)
        entries += len(answer["entries"])
        cursor = answer["next_cursor"]
        if cursor is None:
            return entries, times


def bench(args, workdir: Path, origin_port: int) -> dict:
    peer = StavkaPeer("stavka", Path(args.stavka), Path(args.stavka_conf))
    res: dict = {"name": peer.name, "errors": [], "suspect": []}
    probe = "/o/100/0/probe"

    def body() -> None:
        peer.start(workdir, origin_port, args.proxy_cpu)
        peer.ready(probe, body_for(100), timeout=args.start_timeout)
        check_alive = alive_check(peer, res)
        log(f"filling the cache with {args.entries:,} objects, {args.tags} tags")
        res["fill_s"] = fill(args, peer, origin_port, peer.dir / "wrk-fill.log")
        log(f"filled in {res['fill_s']:.0f} s")
        # The last answers may still be on their way into the cache when wrk stops.
        deadline = time.monotonic() + 30
        while cached_objects(peer) < args.entries + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        check_alive("the fill")
        entries, times = walk(peer, args.page)
        res["entries_listed"] = entries
        if entries < args.entries:
            raise BenchError(f"the cache lists {entries} objects, not the {args.entries} asked "
                             f"for (evicted? see the cache's memory budget)")
        res["pages"] = len(times)
        res["page_ms"] = [t * 1000 for t in times]
        log(f"listing: {entries:,} entries in {len(times)} pages of {args.page}: median "
            f"{statistics.median(res['page_ms']):.1f} ms, slowest {max(res['page_ms']):.1f} ms")
        one = urllib.parse.quote(f"http://127.0.0.1:{peer.port}/o/100/0/e{args.entries // 2}",
                                 safe="")
        answer, took = get(peer, f"/api/v1/cache?limit={args.page}&prefix={one}")
        res["sparse_prefix_ms"] = took * 1000
        res["sparse_prefix_entries"] = len(answer["entries"])
        answer, took = get(peer, f"/api/v1/cache?limit={args.page}&host=nowhere.test")
        res["rare_host_ms"] = took * 1000  # a filter no key passes: it walks every key
        answer, took = get(peer, f"/api/v1/cache?limit={args.page}&tag=t1")
        res["tag_page_ms"] = took * 1000
        res["tag_page_entries"] = len(answer["entries"])
        per_tag = args.entries // args.tags
        status, answer, took = admin_call(peer.admin_port, "POST", "/api/v1/purge", ADMIN_TOKEN,
                                          json.dumps({"tags": ["t0"]}).encode())
        if status != 200:
            raise BenchError(f"POST /api/v1/purge: {status} {answer}")
        res["tag_purge_s"] = took
        res["tag_purged"] = answer.get("purged")
        if answer.get("purged") != per_tag:
            res["errors"].append(f"the purge by tag removed {answer.get('purged')} objects, "
                                 f"not {per_tag}")
        log(f"purge by tag: {answer.get('purged'):,} objects in {took * 1000:.0f} ms")
        left, _ = get(peer, f"/api/v1/cache?limit={args.page}&tag=t0")
        if left["entries"]:
            res["errors"].append(f"{len(left['entries'])} objects tagged t0 are still listed")
        res["entries_after_purge"], _ = walk(peer, args.page)
        check_alive("the measurements")
        for e in res["errors"]:
            warn(e)

    run_peer(args, peer, res, body)
    return res


def purge_varnish(peer, tag: str) -> tuple[int, int | None, float]:
    """PURGE with xkey-purge: tag; returns (status, objects purged, seconds to the answer)."""
    request = (f"PURGE / HTTP/1.1\r\nHost: bench\r\nxkey-purge: {tag}\r\n"
               f"Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", peer.port), timeout=60) as s:
        t0 = time.monotonic()
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        took = time.monotonic() - t0
    status_line = data.split(b"\r\n", 1)[0].decode("latin-1")
    m = re.match(r"HTTP/1\.1 (\d+) purged (\d+)", status_line)
    return (int(status_line.split()[1]) if len(status_line.split()) > 1 else 0,
            int(m.group(2)) if m else None, took)


def bench_varnish(args, workdir: Path, origin_port: int) -> dict:
    """Varnish with xkey (bench/peers/varnish-xkey), filled alike: its purge by tag."""
    peer = VarnishPeer("varnish", PEERS_DIR / "varnish-xkey")
    res: dict = {"name": peer.name, "errors": [], "suspect": []}

    def body() -> None:
        peer.start(workdir, origin_port, args.proxy_cpu)
        peer.ready("/o/100/0/probe-varnish", body_for(100), timeout=args.start_timeout)
        log(f"varnish: filling with {args.entries:,} objects")
        res["fill_s"] = fill(args, peer, origin_port, peer.dir / "wrk-fill.log")
        time.sleep(1)  # the last answers into the cache
        status, purged, took = purge_varnish(peer, "t0")
        res["tag_purge_s"], res["tag_purged"] = took, purged
        if status != 200 or purged != args.entries // args.tags:
            res["errors"].append(f"varnish: PURGE xkey t0 answered {status}, purged {purged} "
                                 f"(not {args.entries // args.tags})")
        log(f"varnish: purge by tag (xkey): {purged} objects in {took * 1000:.0f} ms")
        for e in res["errors"]:
            warn(e)

    run_peer(args, peer, res, body)
    return res


def print_report(args, r: dict, varnish: dict | None) -> tuple[list[str], list[dict]]:
    pages = r.get("page_ms") or []
    slowest = max(pages) if pages else None
    purge = r.get("tag_purge_s")
    targets = [
        {"what": f"listing page of {args.page} (slowest of {len(pages)})", "value_ms": slowest,
         "target_ms": TARGET_PAGE_MS,
         "ok": slowest is not None and slowest <= TARGET_PAGE_MS},
        {"what": f"purge by tag of {r.get('tag_purged')} objects", "value_s": purge,
         "target_s": TARGET_PURGE_S,
         "ok": purge is not None and purge <= TARGET_PURGE_S and not r["errors"]},
    ]
    lines = ["", f"{r.get('entries_listed', 0):,} objects cached, {args.tags} tags; admin calls "
             f"timed from the request's first byte to the complete answer", "",
             f"  listing, {len(pages)} pages of {args.page}: median "
             f"{fmt(statistics.median(pages) if pages else None, '.1f')} ms, slowest "
             f"{fmt(slowest, '.1f')} ms",
             f"  listing page with a prefix matching one object (a range of the order): "
             f"{fmt(r.get('sparse_prefix_ms'), '.1f')} ms, {r.get('sparse_prefix_entries')} entry",
             f"  listing page with a host no object has (walks every key): "
             f"{fmt(r.get('rare_host_ms'), '.1f')} ms",
             f"  listing page with a tag: {fmt(r.get('tag_page_ms'), '.1f')} ms, "
             f"{r.get('tag_page_entries')} entries",
             f"  purge by tag: {fmt(r.get('tag_purged'), ',')} objects in "
             f"{fmt(purge * 1000 if purge is not None else None, '.0f')} ms; "
             f"{fmt(r.get('entries_after_purge'), ',')} objects listed afterwards"]
    if varnish:
        vp = varnish.get("tag_purge_s")
        lines += [f"  Varnish 7.1 with xkey, filled alike: purge by tag of "
                  f"{fmt(varnish.get('tag_purged'), ',')} objects in "
                  f"{fmt(vp * 1000 if vp is not None else None, '.0f')} ms; Stavka/Varnish time "
                  f"{fmt(ratio(purge, vp), '.2f')}x (lower is better)"]
    lines += ["", "TARGETS",
              f"  listing page (slowest)        {fmt(slowest, '.1f')} ms   target <= "
              f"{TARGET_PAGE_MS} ms   {'pass' if targets[0]['ok'] else 'FAIL'}",
              f"  purge by tag                  {fmt(purge, '.3f')} s   target <= "
              f"{TARGET_PURGE_S:g} s   {'pass' if targets[1]['ok'] else 'FAIL'}"]
    print("\n".join(lines))
    return lines, targets


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="The cache listing and purges with many objects "
                                 "cached (docs/bench.md)")
    ap.add_argument("--entries", type=int, default=100_000, help="objects cached (100000)")
    ap.add_argument("--tags", type=int, default=10,
                    help="tags, each on entries/tags objects (10: 10,000 each)")
    ap.add_argument("--page", type=int, default=1000, help="listing page size (1000, the most)")
    ap.add_argument("--fill-connections", type=int, default=32, help="wrk connections (32)")
    ap.add_argument("--fill-timeout", type=float, default=300,
                    help="s the fill may take (300)")
    ap.add_argument("--no-varnish", action="store_true",
                    help="leave out Varnish (with xkey: the purge by tag side by side)")
    ap.add_argument("--stavka", default=str(REPO / "build" / "stavka"), help="Stavka binary")
    ap.add_argument("--stavka-conf", default=str(PEERS_DIR / "stavka-admin.toml"),
                    help="Stavka config template")
    ap.add_argument("--start-timeout", type=float, default=30, help="s for Stavka to answer (30)")
    add_machine_args(ap, "CPU for wrk, the origin and the harness (1)")
    ap.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    ap.add_argument("--out", help="JSON result path (default bench/results/admin-<timestamp>.json)")
    args = ap.parse_args(argv)
    if args.entries < args.tags or args.tags < 1 or not 1 <= args.page <= 1000:
        ap.error("need --entries >= --tags >= 1 and --page from 1 to 1000")
    args.stavka = str(Path(args.stavka).resolve())
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    results: list[dict] = []
    with BenchRun(args, results) as run:
        preflight_stavka(args, ["wrk", "taskset"] + ([] if args.no_varnish else ["varnishd"]))
        os.environ["STAVKA_ADMIN_TOKEN"] = ADMIN_TOKEN  # the proxy inherits it
        workdir = run.make_workdir("stavka-admin-bench-")
        _, origin_port, _ = start_bench_origin(args, workdir, [100])
        results.append(bench(args, workdir, origin_port))
        if not args.no_varnish:
            results.append(bench_varnish(args, workdir, origin_port))
    rc = run.rc
    targets: list[dict] = []
    if results:
        varnish = next((r for r in results if r["name"] == "varnish"), None)
        table, targets = print_report(args, results[0], varnish)
        write_results(args, run.started, results, table, run.workdir, prefix="admin-",
                      targets=targets)
    rc = final_status(rc)
    if rc == 0 and args.strict and not all(t["ok"] for t in targets):
        return 3
    return rc


if __name__ == "__main__":
    sys.exit(main())
