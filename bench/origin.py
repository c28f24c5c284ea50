#!/usr/bin/env python3
"""The origin of the cache benchmark (bench/cache.py): a small HTTP/1.1 server that logs when
it sends each response head.

Objects are named by their path, so every test can ask for exactly what it needs and a fresh
path is always a cache miss:

    GET /o/<size>/<delay_ms>/<tag>

answers 200 with a body of <size> bytes (body_for(size), precomputed once per size), after
waiting <delay_ms> milliseconds from reading the request to sending the response head, then
sends the body at full speed. Every response is cacheable (Cache-Control: public,
max-age=3600, Last-Modified, Content-Length); <tag> only makes the URL unique. HEAD is answered
with the head only. Keep-alive as in HTTP/1.1 (until the client sends Connection: close).

For each path the server counts requests and records, in time.monotonic() seconds
(CLOCK_MONOTONIC, comparable across processes on one machine), when it finished reading each
request and when it started sending each response head. The harness reads them directly (never
through a proxy) from

    GET /__stats?prefix=<path prefix>     JSON {path: {"count", "received": [..], "heads": [..]}}

One thread per connection; the GIL is released while a thread sleeps or sends, so delayed
responses do not hold up the others. Python 3 standard library only.
"""
from __future__ import annotations

import argparse
import email.utils
import json
import socket
import sys
import threading
import time
import urllib.parse

MAX_SIZE = 1 << 30
_LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"


def body_for(size: int) -> bytes:
    """The body of every object of `size` bytes. A 251-byte cycle (prime, so it is not aligned
    with any power-of-two block or buffer size): a duplicated, dropped or misplaced block of a
    cached copy does not compare equal."""
    cycle = bytes(range(251))
    return (cycle * (size // len(cycle) + 1))[:size]


class Origin:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stats: dict[str, dict] = {}
        self.bodies: dict[int, bytes] = {}
        self.total = 0

    def body(self, size: int) -> bytes:
        b = self.bodies.get(size)
        if b is None:
            b = body_for(size)
            with self.lock:
                self.bodies[size] = b
        return b

    def record(self, path: str, key: str, t: float) -> None:
        with self.lock:
            s = self.stats.setdefault(path, {"count": 0, "received": [], "heads": []})
            if key == "received":
                s["count"] += 1
                self.total += 1
            s[key].append(t)

    # -- one connection ---------------------------------------------------------------------

    def serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                    if len(buf) > 65536:
                        return
                head, _, buf = buf.partition(b"\r\n\r\n")
                t_recv = time.monotonic()
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, version = lines[0].split(" ", 2)
                except ValueError:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                    return
                headers = {}
                for ln in lines[1:]:
                    k, _, v = ln.partition(":")
                    headers[k.strip().lower()] = v.strip()
                # a request body (not expected from the benchmark) is read and dropped
                clen = int(headers.get("content-length", "0") or 0)
                while len(buf) < clen:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                buf = buf[clen:]
                close = ("close" in headers.get("connection", "").lower()
                         or version == "HTTP/1.0")
                if not self.respond(conn, method, target, t_recv, close):
                    return
                if close:
                    return
        except OSError:
            return
        finally:
            conn.close()

    def respond(self, conn: socket.socket, method: str, target: str, t_recv: float,
                close: bool) -> bool:
        url = urllib.parse.urlsplit(target)
        path = url.path
        if path == "/__stats":
            prefix = urllib.parse.parse_qs(url.query).get("prefix", [""])[0]
            with self.lock:
                doc = {"total": self.total,
                       "paths": {p: {k: list(v) if isinstance(v, list) else v
                                     for k, v in s.items()}
                                 for p, s in self.stats.items() if p.startswith(prefix)}}
            return self.send(conn, 200, json.dumps(doc).encode(), "application/json",
                             cacheable=False, head_only=False, close=close)
        parts = path.split("/")
        # ["", "o", size, delay, tag...]
        try:
            if len(parts) < 5 or parts[1] != "o":
                raise ValueError
            size, delay_ms = int(parts[2]), int(parts[3])
            if not 0 <= size <= MAX_SIZE or not 0 <= delay_ms <= 600_000:
                raise ValueError
        except ValueError:
            return self.send(conn, 404, b"not found\n", "text/plain", cacheable=False,
                             head_only=False, close=close)
        self.record(path, "received", t_recv)
        if delay_ms:
            time.sleep(max(0.0, t_recv + delay_ms / 1000.0 - time.monotonic()))
        return self.send(conn, 200, self.body(size), "application/octet-stream",
                         cacheable=True, head_only=(method == "HEAD"), close=close,
                         record_path=path)

    def send(self, conn, status: int, body: bytes, ctype: str, cacheable: bool,
             head_only: bool, close: bool, record_path: str | None = None) -> bool:
        reason = {200: "OK", 404: "Not Found"}[status]
        h = [f"HTTP/1.1 {status} {reason}",
             f"Date: {email.utils.formatdate(usegmt=True)}",
             f"Content-Type: {ctype}",
             f"Content-Length: {len(body)}"]
        if cacheable:
            h += ["Cache-Control: public, max-age=3600", f"Last-Modified: {_LAST_MODIFIED}"]
        else:
            h.append("Cache-Control: no-store")
        if close:
            h.append("Connection: close")
        head = ("\r\n".join(h) + "\r\n\r\n").encode("latin-1")
        if record_path is not None:
            self.record(record_path, "heads", time.monotonic())
        conn.sendall(head)  # on its own: the head leaves before the body, as the tests expect
        if not head_only and body:
            conn.sendall(memoryview(body))
        return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--preload", default="",
                    help="comma-separated body sizes to precompute at start")
    args = ap.parse_args(argv)
    origin = Origin()
    for s in filter(None, args.preload.split(",")):
        origin.body(int(s))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.host, args.port))
    ls.listen(4096)
    print(f"origin listening on {args.host}:{args.port}", flush=True)
    try:
        while True:
            conn, _ = ls.accept()
            threading.Thread(target=origin.serve, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
