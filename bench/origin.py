#!/usr/bin/env python3
"""The origin of the caching benchmarks (bench/cache.py, bench/range.py): a small HTTP/1.1
server that logs when it sends each response head and counts the body bytes it sends.

Objects are named by their path, so every test can ask for exactly what it needs and a fresh
path is always a cache miss:

    GET /o/<size>/<delay_ms>/<tag>   <size> bytes, the head <delay_ms> ms after the request,
                                     then the body at full speed
    GET /t/<size>/<rate>/<tag>       <size> bytes, the head at once, then the body paced at
                                     <rate> bytes per second (0: full speed)

The body of an object of <size> bytes is body_for(size): byte i is i % 251. It is never built
whole: every piece sent is a view into one cached buffer of the 251-byte cycle, so objects of
any size up to MAX_SIZE (1 GiB and more) cost no memory. <tag> (the rest of the path) only
makes the URL unique.

Every object response is cacheable: Cache-Control: public, max-age=3600, Last-Modified, a
strong ETag "<size>-<tag>" (the same for every request of the object, whatever the range or
the delay), Accept-Ranges: bytes, Content-Length, and with a query ?key=K a Surrogate-Key: K
(for purges by tag). HEAD is answered with the head only.
Keep-alive as in HTTP/1.1 (until the client sends Connection: close).

Range (GET and HEAD of objects): a single `bytes=a-b`, `bytes=a-` or `bytes=-n` is answered
206 with `Content-Range: bytes a-b/<size>` and that part of the body (an end past the object
is cut to its last byte; a suffix longer than the object is the whole object). A range that
starts at or past the end (or `-0`, or any range of an empty object) is answered 416 with
`Content-Range: bytes */<size>` and no body. Several ranges, another unit or anything that
does not parse is ignored: 200 with the whole body. An If-Range that is not the object's ETag
or Last-Modified also makes it 200.

Pacing (/t/): the body (the whole object, or the range) is sent in pieces of PACE_PIECE
(16 KiB); a piece is sent only once rate * (now - start of the body) >= the bytes already
sent, so by any time t at most rate * (t - start) + one piece has been written, with no
initial burst. The start of the body is the moment the head has been sent. A connection whose
reader is slower than the rate is simply written to as fast as it reads (blocking sends), and
the schedule catches up afterwards without exceeding the bound.

For each path the server counts requests and records, in time.monotonic() seconds
(CLOCK_MONOTONIC, comparable across processes on one machine), when it finished reading each
request and when it started sending each response head; it also counts the body bytes the
kernel accepted for that path (`body_bytes`, updated after every send, so it can be watched
while responses are in progress), the Range field of each request (`ranges`, None when there
was none), the responses being sent (`active`) and those whose client went away before the
body was complete (`aborted`). A client (a proxy) closing early only ends its connection's
thread. The harness reads the figures directly (never through a proxy) from

    GET /__stats?prefix=<path prefix>
        JSON {"total": N, "paths": {path: {"count", "received": [..], "heads": [..],
                                           "body_bytes", "ranges": [..], "active",
                                           "aborted"}}}

One thread per connection; the GIL is released while a thread sleeps or sends, so delayed and
paced responses do not hold up the others. Python 3 standard library only.
"""
from __future__ import annotations

import argparse
import ctypes
import email.utils
import json
import re
import socket
import sys
import threading
import time
import urllib.parse

MAX_SIZE = 1 << 36
_LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"
CYCLE = bytes(range(251))
FULL_PIECE = 1 << 20     # largest single send at full speed
PACE_PIECE = 16 << 10    # a piece of a paced body
# FULL_PIECE bytes starting at any phase of the cycle: CYCLE_BUF[i % 251:][:n] is bytes i..i+n
CYCLE_BUF = CYCLE * (FULL_PIECE // len(CYCLE) + 2)
_CYCLE_VIEW = memoryview(CYCLE_BUF)


def body_for(size: int) -> bytes:
    """The body of every object of `size` bytes. A 251-byte cycle (prime, so it is not aligned
    with any power-of-two block or buffer size): a duplicated, dropped or misplaced block of a
    cached copy does not compare equal."""
    return body_slice(0, size)


def body_slice(offset: int, length: int) -> bytes:
    """Bytes offset .. offset + length - 1 of any object's body (of any size > offset)."""
    k = offset % len(CYCLE)
    return (CYCLE * ((k + length) // len(CYCLE) + 1))[k:k + length]


def _piece(offset: int, n: int) -> memoryview:
    """A view of body bytes offset .. offset + n - 1, n <= FULL_PIECE (no copy)."""
    k = offset % len(CYCLE)
    return _CYCLE_VIEW[k:k + n]


_RANGE = re.compile(r"bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE)


def parse_range(value: str | None, size: int) -> tuple[int, int] | str | None:
    """(first, last) for a satisfiable single byte range, "unsatisfiable", or None (no Range,
    several ranges, or a field that does not parse: the whole body)."""
    if value is None:
        return None
    m = _RANGE.fullmatch(value.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    a, b = m.group(1), m.group(2)
    if a:
        first = int(a)
        last = int(b) if b else size - 1
        if b and last < first:
            return None                     # invalid range-spec: ignored
        if first >= size:
            return "unsatisfiable"
        return first, min(last, size - 1)
    n = int(b)                              # suffix: the last n bytes
    if n == 0 or size == 0:
        return "unsatisfiable"
    return max(0, size - n), size - 1


def _set_timer_slack(ns: int) -> None:
    """A tighter timer slack for this thread (default 50 us), so paced sleeps end on time."""
    try:
        # prctl(PR_SET_TIMERSLACK, ns)
        ctypes.CDLL(None, use_errno=True).prctl(29, ctypes.c_ulong(ns), 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Origin:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stats: dict[str, dict] = {}
        self.total = 0

    def _entry(self, path: str) -> dict:
        return self.stats.setdefault(path, {"count": 0, "received": [], "heads": [],
                                            "body_bytes": 0, "ranges": [], "active": 0,
                                            "aborted": 0})

    def record(self, path: str, key: str, t: float) -> None:
        with self.lock:
            s = self._entry(path)
            if key == "received":
                s["count"] += 1
                self.total += 1
            s[key].append(t)

    # -- one connection ---------------------------------------------------------------------

    def serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _set_timer_slack(1000)
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
                if not self.respond(conn, method, target, headers, t_recv, close):
                    return
                if close:
                    return
        except OSError:
            return
        finally:
            conn.close()

    def respond(self, conn: socket.socket, method: str, target: str, headers: dict,
                t_recv: float, close: bool) -> bool:
        url = urllib.parse.urlsplit(target)
        path = url.path
        if path == "/__stats":
            prefix = urllib.parse.parse_qs(url.query).get("prefix", [""])[0]
            with self.lock:
                doc = {"total": self.total,
                       "paths": {p: {k: list(v) if isinstance(v, list) else v
                                     for k, v in s.items()}
                                 for p, s in self.stats.items() if p.startswith(prefix)}}
            return self.send_simple(conn, 200, json.dumps(doc).encode(), "application/json",
                                    close)
        parts = path.split("/")
        # ["", "o" | "t", size, delay_ms | rate, tag...]
        try:
            if len(parts) < 5 or parts[1] not in ("o", "t"):
                raise ValueError
            size, arg = int(parts[2]), int(parts[3])
            if not 0 <= size <= MAX_SIZE or arg < 0 or (parts[1] == "o" and arg > 600_000):
                raise ValueError
        except ValueError:
            return self.send_simple(conn, 404, b"not found\n", "text/plain", close)
        delay_ms, rate = (arg, 0) if parts[1] == "o" else (0, arg)
        self.record(path, "received", t_recv)
        rng_field = headers.get("range")
        with self.lock:
            self._entry(path)["ranges"].append(rng_field)
        if delay_ms:
            time.sleep(max(0.0, t_recv + delay_ms / 1000.0 - time.monotonic()))
        tag = re.sub(r"[^A-Za-z0-9._~/-]", "_", "/".join(parts[4:]))
        etag = f'"{size}-{tag}"'
        rng = parse_range(rng_field, size)
        if_range = headers.get("if-range")
        if rng is not None and if_range is not None and if_range not in (etag, _LAST_MODIFIED):
            rng = None                      # the client's copy is another representation
        h = ["Content-Type: application/octet-stream",
             "Cache-Control: public, max-age=3600",
             f"Last-Modified: {_LAST_MODIFIED}",
             f"ETag: {etag}",
             "Accept-Ranges: bytes"]
        keys = urllib.parse.parse_qs(url.query).get("key")
        if keys:  # ?key=K: the object carries surrogate key K (tag purges)
            h.append("Surrogate-Key: " + re.sub(r"[^A-Za-z0-9._~-]", "_", keys[0]))
        if rng == "unsatisfiable":
            return self.send_head(conn, 416, h + [f"Content-Range: bytes */{size}",
                                                  "Content-Length: 0"], close, path)
        first, length, status = 0, size, 200
        if rng is not None:
            first, last = rng
            length, status = last - first + 1, 206
            h.append(f"Content-Range: bytes {first}-{last}/{size}")
        h.append(f"Content-Length: {length}")
        # the head on its own: it leaves before the body, as the tests expect
        self.send_head(conn, status, h, close, path)
        if method == "HEAD" or not length:
            return True
        return self.send_body(conn, path, first, length, rate)

    def send_head(self, conn, status: int, lines: list[str], close: bool,
                  record_path: str | None) -> bool:
        reason = {200: "OK", 206: "Partial Content", 404: "Not Found",
                  416: "Range Not Satisfiable"}[status]
        h = [f"HTTP/1.1 {status} {reason}",
             f"Date: {email.utils.formatdate(usegmt=True)}"] + lines
        if close:
            h.append("Connection: close")
        head = ("\r\n".join(h) + "\r\n\r\n").encode("latin-1")
        if record_path is not None:
            self.record(record_path, "heads", time.monotonic())
        conn.sendall(head)
        return True

    def send_simple(self, conn, status: int, body: bytes, ctype: str, close: bool) -> bool:
        self.send_head(conn, status, [f"Content-Type: {ctype}", f"Content-Length: {len(body)}",
                                      "Cache-Control: no-store"], close, None)
        conn.sendall(body)
        return True

    def send_body(self, conn: socket.socket, path: str, first: int, length: int,
                  rate: int) -> bool:
        """Sends body bytes first .. first + length - 1, paced at `rate` B/s (0: full speed),
        counting what the kernel accepts into the path's body_bytes as it goes. Returns False
        (after counting) when the client went away."""
        piece = PACE_PIECE if rate else FULL_PIECE
        sent = 0
        with self.lock:
            self._entry(path)["active"] += 1
        start = time.monotonic()
        try:
            while sent < length:
                if rate:
                    wait = start + sent / rate - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                mv = _piece(first + sent, min(piece, length - sent))
                while mv:
                    n = conn.send(mv)
                    sent += n
                    mv = mv[n:]
                    with self.lock:
                        self.stats[path]["body_bytes"] += n
            return True
        except OSError:
            with self.lock:
                self.stats[path]["aborted"] += 1
            return False
        finally:
            with self.lock:
                self.stats[path]["active"] -= 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--preload", default="",
                    help="accepted for compatibility; bodies are no longer precomputed")
    args = ap.parse_args(argv)
    origin = Origin()
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
