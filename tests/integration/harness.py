"""Test harness for Stavka's integration tests.

Everything here talks to 127.0.0.1 only:

* ``free_port()``: a currently unused TCP port.
* ``Origin``: a scriptable HTTP/1.1 origin server on raw sockets (one thread per connection)
  that records every request it receives and counts connections. Behaviour is chosen by the
  request path (see ``Origin`` for the list).
* ``RawConn``: a byte-exact HTTP/1.1 client on a raw socket with a strict response parser
  (handles 1xx, HEAD, chunked with trailers, Content-Length and close-delimited bodies).
* ``StavkaProcess``: a running ``stavka`` binary with its stdout/stderr captured line by line.
* TOML emitter, body pattern helpers and a /proc RSS reader.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Optional

LOCALHOST = "127.0.0.1"
_SIGTERM = signal.SIGTERM
KiB = 1024
MiB = 1024 * 1024


# --------------------------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------------------------


_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and that this process has not
    handed out before (the kernel may offer a port again as soon as it is released, so two calls
    for one server's listener and admin listener could otherwise get the same one)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOCALHOST, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOCALHOST, port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, timeout: float = 10.0, proc: Optional[subprocess.Popen] = None) -> None:
    """Waits until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    last_err: Optional[Exception] = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection((LOCALHOST, port), timeout=0.5):
                return
        except OSError as e:
            last_err = e
            time.sleep(0.05)
    raise TimeoutError(f"port {port} not accepting connections after {timeout}s ({last_err})")


def can_connect(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((LOCALHOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(pred: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# Body pattern: byte i of every generated body is PATTERN_BLOCK[i % len(PATTERN_BLOCK)].
# --------------------------------------------------------------------------------------------

PATTERN_BLOCK = bytes((i * 7 + 13) % 251 for i in range(64 * KiB))


def pattern(n: int, offset: int = 0) -> bytes:
    """n pattern bytes starting at body offset `offset`."""
    blk = len(PATTERN_BLOCK)
    start = offset % blk
    out = bytearray()
    while len(out) < n:
        take = min(blk - start, n - len(out))
        out += PATTERN_BLOCK[start:start + take]
        start = 0
    return bytes(out)


def iter_pattern(n: int, chunk: int = 64 * KiB) -> Iterable[memoryview]:
    """The pattern body of n bytes in pieces of `chunk` bytes (chunk must divide 64 KiB or be
    a multiple of it)."""
    assert chunk % len(PATTERN_BLOCK) == 0 or len(PATTERN_BLOCK) % chunk == 0
    big = memoryview(PATTERN_BLOCK * max(1, chunk // len(PATTERN_BLOCK)))
    sent = 0
    while sent < n:
        take = min(chunk, n - sent)
        start = sent % len(big) if chunk < len(PATTERN_BLOCK) else 0
        yield big[start:start + take]
        sent += take


@lru_cache(maxsize=32)
def pattern_sha256(n: int) -> str:
    h = hashlib.sha256()
    for piece in iter_pattern(n, 1 * MiB if n >= MiB else 64 * KiB):
        h.update(piece)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# TOML emitter (enough for Stavka's config: scalars, string lists, tables, arrays of tables)
# --------------------------------------------------------------------------------------------


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Origin):
        return json.dumps(v.url)
    if isinstance(v, dict):  # an inline table, e.g. a [[module]]'s environment or upstreams
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot encode {v!r} as TOML")


def toml_dumps(cfg: dict) -> str:
    lines: list[str] = []
    tables = []
    arrays = []
    for k, v in cfg.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            arrays.append((k, v))
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in tables:
        lines.append("")
        lines.append(f"[{k}]")
        for kk, vv in v.items():
            lines.append(f"{kk} = {_toml_value(vv)}")
    for k, items in arrays:
        for item in items:
            lines.append("")
            lines.append(f"[[{k}]]")
            for kk, vv in item.items():
                lines.append(f"{kk} = {_toml_value(vv)}")
    return "\n".join(lines) + "\n"


def deep_merge(base: dict, over: dict) -> dict:
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        elif v is None:
            base.pop(k, None)
        else:
            base[k] = v
    return base


# --------------------------------------------------------------------------------------------
# Wire helpers
# --------------------------------------------------------------------------------------------


class ProtocolError(Exception):
    pass


class IncompleteResponse(Exception):
    """The connection ended (or timed out) before the response was complete."""

    def __init__(self, msg: str, response: "Optional[Response]" = None, received: bytes = b""):
        super().__init__(msg)
        self.response = response
        self.received = received


def _norm_headers(headers) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)


def build_request(method: str, target: str, headers=None, body: Optional[bytes] = None,
                  host: Optional[str] = "stavka.test", version: str = "HTTP/1.1") -> bytes:
    """Serializes a request. Adds Host (unless host is None or a Host header is given) and
    Content-Length when a body is given and no framing header is present."""
    hdrs = _norm_headers(headers)
    names = {k.lower() for k, _ in hdrs}
    if host is not None and "host" not in names:
        hdrs.insert(0, ("Host", host))
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        hdrs.append(("Content-Length", str(len(body))))
    head = f"{method} {target} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs) + "\r\n"
    return head.encode("latin-1") + (body or b"")


def chunked_body(parts: Iterable[bytes], trailers=None, ext: str = "") -> bytes:
    out = bytearray()
    for p in parts:
        if p:
            out += f"{len(p):x}{ext}\r\n".encode() + p + b"\r\n"
    out += b"0\r\n"
    for k, v in _norm_headers(trailers):
        out += f"{k}: {v}\r\n".encode("latin-1")
    out += b"\r\n"
    return bytes(out)


def parse_header_lines(lines: list[bytes]) -> list[tuple[str, str]]:
    out = []
    for line in lines:
        if b":" not in line:
            raise ProtocolError(f"bad header line {line!r}")
        name, value = line.split(b":", 1)
        if not name or name != name.strip() or b" " in name:
            raise ProtocolError(f"bad header name {line!r}")
        out.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return out


class HeaderMixin:
    headers: list[tuple[str, str]]

    def header(self, name: str) -> Optional[str]:
        """All values of the field joined by ", " (None if absent)."""
        vals = self.header_all(name)
        return ", ".join(vals) if vals else None

    def header_all(self, name: str) -> list[str]:
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def has(self, name: str) -> bool:
        return bool(self.header_all(name))

    def header_names(self) -> set[str]:
        return {k.lower() for k, _ in self.headers}


class Response(HeaderMixin):
    def __init__(self):
        self.version = ""
        self.status = 0
        self.reason = ""
        self.status_line = ""
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.trailers: list[tuple[str, str]] = []
        self.framing = "none"  # none / length / chunked / close
        self.raw_head = b""

    def trailer(self, name: str) -> Optional[str]:
        n = name.lower()
        vals = [v for k, v in self.trailers if k.lower() == n]
        return ", ".join(vals) if vals else None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.headers!r} body={len(self.body)}B>"


class RawConn:
    """One client connection with a byte buffer and a strict response parser."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.port = port
        self.sock = socket.create_connection((LOCALHOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False

    # -- raw I/O ------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def settimeout(self, t: Optional[float]) -> None:
        self.sock.settimeout(t)

    def _fill(self, size: int = 256 * KiB) -> bool:
        if self.eof:
            return False
        try:
            data = self.sock.recv(size)
        except ConnectionResetError:
            self.eof = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def wait_for_bytes(self, needle: bytes, timeout: float = 5.0) -> bool:
        """Fills the buffer until it contains needle (without consuming anything)."""
        old = self.sock.gettimeout()
        deadline = time.monotonic() + timeout
        try:
            while needle not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                try:
                    if not self._fill():
                        return needle in self.buf
                except socket.timeout:
                    return False
            return True
        finally:
            self.sock.settimeout(old)

    def recv_available(self, timeout: float = 0.5) -> bytes:
        """Whatever arrives within timeout (plus what is buffered); consumes it."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            self._fill()
        except socket.timeout:
            pass
        finally:
            self.sock.settimeout(old)
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True when the peer closes (FIN or RST) within timeout. Bytes received meanwhile are
        kept in self.buf."""
        old = self.sock.gettimeout()
        deadline = time.monotonic() + timeout
        try:
            while not self.eof:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                try:
                    self._fill()
                except socket.timeout:
                    return False
                except OSError:
                    self.eof = True
            return True
        finally:
            self.sock.settimeout(old)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # -- parsing ------------------------------------------------------------------------------
    def _read_line(self, partial: Optional[Response] = None) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > 1 * MiB:
                raise ProtocolError("line too long")
            if not self._fill():
                raise IncompleteResponse("connection closed in the middle of a line", partial,
                                         bytes(self.buf))

    def _read_exact(self, n: int, partial: Optional[Response] = None) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise IncompleteResponse(f"connection closed with {len(self.buf)} of {n} bytes",
                                         partial, bytes(self.buf))
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_head(self) -> Response:
        """Reads a status line and header fields. Raises EOFError if the connection closed
        before any byte of it."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                if not self.buf:
                    raise EOFError("connection closed before a response")
                raise IncompleteResponse("connection closed inside a response head", None,
                                         bytes(self.buf))
        i = self.buf.find(b"\r\n\r\n")
        raw = bytes(self.buf[:i + 4])
        del self.buf[:i + 4]
        lines = raw[:-4].split(b"\r\n")
        m = re.fullmatch(rb"HTTP/(\d\.\d) (\d{3})(?: (.*))?", lines[0])
        if not m:
            raise ProtocolError(f"bad status line {lines[0]!r}")
        r = Response()
        r.raw_head = raw
        r.status_line = lines[0].decode("latin-1")
        r.version = "HTTP/" + m.group(1).decode()
        r.status = int(m.group(2))
        r.reason = (m.group(3) or b"").decode("latin-1")
        r.headers = parse_header_lines(lines[1:])
        return r

    def read_body(self, r: Response, method: str = "GET") -> Response:
        if method == "HEAD" or 100 <= r.status < 200 or r.status in (204, 304):
            r.framing = "none"
            return r
        te = [t.strip().lower() for v in r.header_all("transfer-encoding") for t in v.split(",")]
        if te:
            if te[-1] != "chunked":
                raise ProtocolError(f"response with transfer-encoding {te} not ending in chunked")
            r.framing = "chunked"
            body = bytearray()
            while True:
                line = self._read_line(r)
                size_txt = line.split(b";", 1)[0].strip()
                if not re.fullmatch(rb"[0-9a-fA-F]+", size_txt):
                    raise ProtocolError(f"bad chunk size line {line!r}")
                size = int(size_txt, 16)
                if size == 0:
                    break
                body += self._read_exact(size, r)
                if self._read_exact(2, r) != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF")
                r.body = bytes(body)
            r.body = bytes(body)
            tlines = []
            while True:
                line = self._read_line(r)
                if line == b"":
                    break
                tlines.append(line)
            r.trailers = parse_header_lines(tlines)
            return r
        cl = r.header_all("content-length")
        if cl:
            if len(set(cl)) != 1:
                raise ProtocolError(f"response with differing Content-Length {cl}")
            n = int(cl[0])
            r.framing = "length"
            try:
                r.body = self._read_exact(n, r)
            except IncompleteResponse as e:
                r.body = bytes(self.buf)
                raise IncompleteResponse(str(e), r, bytes(self.buf))
            return r
        r.framing = "close"
        while self._fill():
            pass
        r.body = bytes(self.buf)
        self.buf.clear()
        return r

    def stream_body(self, r: Response, sink: Callable[[bytes], None],
                    rate: Optional[float] = None) -> int:
        """Reads the body of response head r without keeping it, passing pieces to sink, at
        most `rate` bytes/s if given. Returns the body length. Trailers go to r.trailers."""
        start = time.monotonic()
        total = 0

        def take(n: int) -> bytes:
            nonlocal total
            if not self.buf and not self._fill(min(n, 256 * KiB)):
                raise IncompleteResponse(f"connection closed after {total} body bytes", r)
            piece = bytes(self.buf[:n])
            del self.buf[:n]
            total += len(piece)
            sink(piece)
            if rate:
                ahead = total / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
            return piece

        te = [t.strip().lower() for v in r.header_all("transfer-encoding") for t in v.split(",")]
        if te:
            r.framing = "chunked"
            while True:
                line = self._read_line(r)
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    break
                while size:
                    size -= len(take(min(size, 64 * KiB)))
                if self._read_exact(2, r) != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF")
            tl = []
            while True:
                line = self._read_line(r)
                if not line:
                    break
                tl.append(line)
            r.trailers = parse_header_lines(tl)
        elif r.has("content-length"):
            r.framing = "length"
            n = int(r.header_all("content-length")[0])
            while n:
                n -= len(take(min(n, 64 * KiB)))
        else:
            r.framing = "close"
            while True:
                if not self.buf and not self._fill():
                    break
                take(64 * KiB)
        return total

    def read_response(self, method: str = "GET") -> Response:
        """The next response, interim (1xx) ones included."""
        r = self.read_head()
        return self.read_body(r, method)

    def read_final_response(self, method: str = "GET") -> Response:
        """The next final response, skipping interim (1xx) responses."""
        while True:
            r = self.read_response(method)
            if r.status >= 200:
                return r

    def request(self, method: str, target: str, headers=None, body: Optional[bytes] = None,
                host: Optional[str] = "stavka.test") -> Response:
        self.send(build_request(method, target, headers, body, host))
        return self.read_final_response(method)


def http_request(port: int, method: str, target: str, headers=None, body: Optional[bytes] = None,
                 host: Optional[str] = "stavka.test", timeout: float = 10.0) -> Response:
    """One request on a fresh connection (which is closed afterwards)."""
    with RawConn(port, timeout=timeout) as c:
        return c.request(method, target, headers, body, host)


# The admin token of every Stavka the tests start (STAVKA_ADMIN_TOKEN), and its header.
ADMIN_TOKEN = "stk_integration-tests-admin-token"
ADMIN_AUTH = [("Authorization", f"Bearer {ADMIN_TOKEN}")]


def http_get(port: int, target: str, headers=None, host: Optional[str] = "stavka.test",
             timeout: float = 10.0) -> Response:
    return http_request(port, "GET", target, headers, None, host, timeout)


# --------------------------------------------------------------------------------------------
# The origin server
# --------------------------------------------------------------------------------------------


REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
    304: "Not Modified", 400: "Bad Request", 404: "Not Found", 418: "I'm a teapot",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
}


class RecordedRequest(HeaderMixin):
    """A request as the origin received it."""

    KEEP_BODY = 4 * MiB  # bodies are hashed in full, kept up to this size

    def __init__(self, origin_name: str, conn_id: int, method: str, target: str, version: str,
                 headers: list[tuple[str, str]], raw_head: bytes):
        self.origin = origin_name
        self.conn_id = conn_id
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.raw_head = raw_head
        self.received_at = time.monotonic()
        u = urllib.parse.urlsplit(target)
        self.path = u.path
        self.query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        self.body = bytearray()
        self.body_len = 0
        self.framing = "none"
        self.trailers: list[tuple[str, str]] = []
        self._sha = hashlib.sha256()
        self.body_sha256: Optional[str] = None
        self.body_complete = threading.Event()
        self.peer_closed = threading.Event()  # the proxy closed the connection while we waited/sent
        self.response_sent = threading.Event()
        self.body_sent = 0  # response body bytes written to the socket (/ranged)

    def q(self, name: str, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    def qint(self, name: str, default: int = 0) -> int:
        return int(self.q(name, default))

    def add_body(self, data: bytes) -> None:
        self.body_len += len(data)
        self._sha.update(data)
        if len(self.body) < self.KEEP_BODY:
            self.body += data[: self.KEEP_BODY - len(self.body)]

    def finish_body(self) -> None:
        self.body_sha256 = self._sha.hexdigest()
        self.body_complete.set()

    def as_json(self) -> dict:
        return {
            "method": self.method, "target": self.target, "version": self.version,
            "headers": [[k, v] for k, v in self.headers],
            "body": self.body.decode("latin-1") if self.body_len <= 64 * KiB else None,
            "body_len": self.body_len, "body_sha256": self.body_sha256,
            "framing": self.framing, "trailers": [[k, v] for k, v in self.trailers],
            "origin": self.origin, "conn": self.conn_id,
        }

    def __repr__(self):
        return f"<{self.origin} {self.method} {self.target} conn={self.conn_id}>"


class _Reader:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()

    def fill(self, size: int = 256 * KiB) -> bool:
        data = self.sock.recv(size)
        if not data:
            return False
        self.buf += data
        return True

    def read_head(self, limit: int = 4 * MiB) -> Optional[bytes]:
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return head
            if len(self.buf) > limit:
                raise ProtocolError("request head too large for the test origin")
            if not self.fill():
                if self.buf.strip():
                    raise ProtocolError(f"connection closed inside a request head: {bytes(self.buf)[:200]!r}")
                return None

    def read_line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if not self.fill():
                raise EOFError("closed inside a line")

    def read_upto(self, n: int) -> bytes:
        if not self.buf:
            if not self.fill(min(max(n, 1), 256 * KiB)):
                raise EOFError("closed inside a body")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data


class Origin:
    """A recording HTTP/1.1 origin on 127.0.0.1. Behaviour by path (query parameters in
    parentheses); every response carries ``X-Origin: <name>``:

    /echo (default for unknown paths)   200 JSON description of the request (RecordedRequest.as_json)
    /size/N                             N pattern bytes with Content-Length
    /chunked (count, size, trailers=1, chunk_delay=ms)
                                        chunked pattern body; with trailers=1 adds
                                        ``Trailer: X-Checksum, X-Trailer-Two`` and those trailers
                                        (X-Checksum = sha256 hex of the body)
    /slow (size, rate=bytes/s, chunk)   Content-Length body sent at a limited rate
    /ranged/N (rate=bytes/s, etag, lm, ignore=1)
                                        N pattern bytes, honouring one `bytes=` Range with a
                                        206 and Content-Range (416 when unsatisfiable; several
                                        ranges: 200). ETag: the `etag` parameter (default
                                        "r<N>"; etag=none: no ETag), Last-Modified with lm=1;
                                        ignore=1 answers 200 whatever the Range; rate paces the
                                        body. RecordedRequest.body_sent counts body bytes sent
    /hang                               reads the request, never answers; records the proxy
                                        closing the connection (RecordedRequest.peer_closed)
    /close-mid-body (size, sent)        head with Content-Length: size, `sent` bytes, then close
    /stall (size, sent)                 like close-mid-body but then waits (never closes)
    /drop                               reads the request and closes without any response
    /garbage                            answers "THIS IS NOT HTTP" and closes
    /early-hints                        "103 Early Hints" first, then the /echo response
    /eof (size)                         body delimited by closing the connection (no length)
    /gate (name)                        chunked: "first-chunk\\n", waits for origin.gates[name],
                                        then "second-chunk\\n"
    /slowread (rate=bytes/s)            reads the request body at a limited rate, then echoes
                                        (without the body)

    Common parameters: delay=ms (before the response head), status=NNN, hdr=Name:Value
    (repeatable, added to the response), close=1 (Connection: close and close),
    close_after=1 (close silently after the response, as if an idle timeout raced).
    A request with Expect: 100-continue gets "HTTP/1.1 100 Continue" before the body is read.
    """

    def __init__(self, name: str = "origin"):
        self.name = name
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((LOCALHOST, 0))
        self.lsock.listen(512)
        self.lsock.settimeout(0.1)
        self.port = self.lsock.getsockname()[1]
        self.url = f"http://{LOCALHOST}:{self.port}"
        self.lock = threading.Condition()
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        self.closed_connections = 0
        self.errors: list[str] = []
        self.gates: dict[str, threading.Event] = defaultdict(threading.Event)
        self.handlers: dict[str, Callable] = {}
        self._stop = threading.Event()
        self._socks: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name=f"origin-{name}")
        self._accept_thread.start()

    def __repr__(self):
        return f"<Origin {self.name} {self.url} conns={self.connections} reqs={len(self.requests)}>"

    # -- observation -------------------------------------------------------------------------
    @property
    def request_count(self) -> int:
        with self.lock:
            return len(self.requests)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
            return True

    def last(self) -> RecordedRequest:
        with self.lock:
            assert self.requests, f"origin {self.name} received no request"
            return self.requests[-1]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.connections = 0
            self.closed_connections = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        for g in list(self.gates.values()):
            g.set()
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._accept_thread.join(2)
        for t in self._threads:
            t.join(2)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
                cid = self.connections
                self._socks.add(s)
                self.lock.notify_all()
            t = threading.Thread(target=self._serve, args=(s, cid), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, s: socket.socket, cid: int) -> None:
        reader = _Reader(s)
        try:
            while not self._stop.is_set():
                head = reader.read_head()
                if head is None:
                    break
                req = self._parse_head(head, cid)
                with self.lock:
                    self.requests.append(req)
                    self.lock.notify_all()
                if not self._dispatch(s, reader, req):
                    break
        except (OSError, EOFError):
            pass
        except ProtocolError as e:
            with self.lock:
                self.errors.append(str(e))
        except Exception as e:  # a bug in the test origin: make it visible
            with self.lock:
                self.errors.append(f"origin handler crashed: {e!r}")
        finally:
            try:
                s.close()
            except OSError:
                pass
            with self.lock:
                self._socks.discard(s)
                self.closed_connections += 1
                self.lock.notify_all()

    def _parse_head(self, head: bytes, cid: int) -> RecordedRequest:
        lines = head[:-4].split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            raise ProtocolError(f"bad request line {lines[0]!r}")
        method, target, version = (p.decode("latin-1") for p in parts)
        headers = parse_header_lines(lines[1:])
        return RecordedRequest(self.name, cid, method, target, version, headers, head)

    # -- request body ------------------------------------------------------------------------
    def _read_body(self, s: socket.socket, reader: _Reader, req: RecordedRequest,
                   rate: Optional[float] = None) -> None:
        if "100-continue" in (req.header("expect") or "").lower():
            s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        start = time.monotonic()

        def throttle():
            if rate:
                ahead = req.body_len / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)

        te = [t.strip().lower() for v in req.header_all("transfer-encoding") for t in v.split(",")]
        if te:
            if te[-1] != "chunked":
                raise ProtocolError(f"origin got transfer-encoding {te}")
            req.framing = "chunked"
            while True:
                line = reader.read_line()
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    break
                while size:
                    data = reader.read_upto(min(size, 64 * KiB if rate else 256 * KiB))
                    size -= len(data)
                    req.add_body(data)
                    throttle()
                if reader.read_line() != b"":
                    raise ProtocolError("chunk data not followed by CRLF")
            tl = []
            while True:
                line = reader.read_line()
                if not line:
                    break
                tl.append(line)
            req.trailers = parse_header_lines(tl)
        elif req.has("content-length"):
            req.framing = "length"
            n = int(req.header_all("content-length")[0])
            while n:
                data = reader.read_upto(min(n, 64 * KiB if rate else 256 * KiB))
                n -= len(data)
                req.add_body(data)
                throttle()
        req.finish_body()

    # -- responses ---------------------------------------------------------------------------
    def _keep_alive(self, req: RecordedRequest) -> bool:
        conn = (req.header("connection") or "").lower()
        if req.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn

    def _common_headers(self, req: RecordedRequest) -> list[tuple[str, str]]:
        hdrs = [("X-Origin", self.name)]
        for h in req.query.get("hdr", []):
            k, v = h.split(":", 1)
            hdrs.append((k.strip(), v.strip()))
        if req.q("close") == "1" or not self._keep_alive(req):
            hdrs.append(("Connection", "close"))
        return hdrs

    def _send_head(self, s: socket.socket, status: int, headers: list[tuple[str, str]]) -> None:
        head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        s.sendall(head.encode("latin-1"))

    def _send(self, s: socket.socket, req: RecordedRequest, data) -> bool:
        try:
            s.sendall(data)
            return True
        except OSError:
            req.peer_closed.set()
            return False

    def _wait_peer_close(self, s: socket.socket, req: RecordedRequest, reader: _Reader) -> None:
        """Waits (until the origin stops) for the proxy to close this connection."""
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([s], [], [], 0.05)
                if r:
                    data = s.recv(65536)
                    if not data:
                        req.peer_closed.set()
                        return
                    reader.buf += data
            except OSError:
                req.peer_closed.set()
                return

    def _ranged(self, s: socket.socket, req: RecordedRequest, n: int, status: int,
                hdrs: list[tuple[str, str]], head_only: bool, keep: bool) -> bool:
        etag = req.q("etag", f'"r{n}"')
        if etag != "none":
            hdrs = hdrs + [("ETag", etag)]
        if req.q("lm") == "1":
            hdrs = hdrs + [("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")]
        hdrs = hdrs + [("Accept-Ranges", "bytes"), ("Content-Type", "video/mp4")]
        first, last = 0, n - 1
        spec = req.header("range")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", spec or "")
        if status == 200 and m and req.q("ignore") != "1" and (m.group(1) or m.group(2)):
            if m.group(1):
                first = int(m.group(1))
                last = min(int(m.group(2)), n - 1) if m.group(2) else n - 1
            else:
                first = max(0, n - int(m.group(2)))
            if first >= n or first > last:
                self._send_head(s, 416, hdrs + [("Content-Range", f"bytes */{n}"),
                                                ("Content-Length", "0")])
                return keep
            status = 206
            hdrs = hdrs + [("Content-Range", f"bytes {first}-{last}/{n}")]
        size = last - first + 1
        self._send_head(s, status, hdrs + [("Content-Length", str(size))])
        if head_only:
            return keep
        rate = float(req.q("rate", 0))
        start = time.monotonic()
        at = first
        while at <= last:
            take = min(16 * KiB, last + 1 - at)
            req.body_sent += take  # counted before the send: a reader never sees it short
            if self._stop.is_set() or not self._send(s, req, pattern(take, at)):
                return False
            at += take
            if rate:
                ahead = (at - first) / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
        req.response_sent.set()
        return keep

    def _dispatch(self, s: socket.socket, reader: _Reader, req: RecordedRequest) -> bool:
        path = req.path
        if path in self.handlers:
            return self.handlers[path](self, s, reader, req)
        rate = float(req.q("rate", 0)) if path == "/slowread" else None
        self._read_body(s, reader, req, rate=rate)
        delay = req.qint("delay", 0)
        if delay:
            time.sleep(delay / 1000)
        keep = self._keep_alive(req) and req.q("close") != "1"
        head_only = req.method == "HEAD"
        status = req.qint("status", 200)
        hdrs = self._common_headers(req)

        if path == "/hang":
            self._wait_peer_close(s, req, reader)
            return False

        if path == "/drop":
            s.shutdown(socket.SHUT_RDWR)
            return False

        if path == "/garbage":
            self._send(s, req, b"THIS IS NOT HTTP\r\n\r\n")
            time.sleep(0.05)
            return False

        if path.startswith("/size/"):
            n = int(path.split("/")[2])
            self._send_head(s, status, hdrs + [("Content-Type", "application/octet-stream"),
                                               ("Content-Length", str(n))])
            if not head_only:
                for piece in iter_pattern(n, 1 * MiB if n >= MiB else 64 * KiB):
                    if not self._send(s, req, piece):
                        return False
            req.response_sent.set()
            return keep and req.q("close_after") != "1"

        if path.startswith("/ranged/"):
            return self._ranged(s, req, int(path.split("/")[2]), status, hdrs, head_only, keep)

        if path == "/slow":
            n = req.qint("size", 1 * MiB)
            rate_out = float(req.q("rate", 1 * MiB))
            chunk = req.qint("chunk", 16 * KiB)
            self._send_head(s, status, hdrs + [("Content-Length", str(n))])
            if head_only:
                return keep
            start = time.monotonic()
            sent = 0
            for piece in iter_pattern(n, chunk):
                if self._stop.is_set() or not self._send(s, req, piece):
                    return False
                sent += len(piece)
                ahead = sent / rate_out - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
            req.response_sent.set()
            return keep

        if path == "/chunked":
            count = req.qint("count", 5)
            size = req.qint("size", 1000)
            cdelay = req.qint("chunk_delay", 0)
            trailers = req.q("trailers") == "1"
            body = pattern(count * size)
            th = [("Transfer-Encoding", "chunked"), ("Content-Type", "application/octet-stream")]
            if trailers:
                th.append(("Trailer", "X-Checksum, X-Trailer-Two"))
            self._send_head(s, status, hdrs + th)
            if head_only:
                return keep
            for i in range(count):
                piece = body[i * size:(i + 1) * size]
                if not self._send(s, req, f"{len(piece):x}\r\n".encode() + piece + b"\r\n"):
                    return False
                if cdelay:
                    time.sleep(cdelay / 1000)
            end = b"0\r\n"
            if trailers:
                end += f"X-Checksum: {hashlib.sha256(body).hexdigest()}\r\nX-Trailer-Two: two\r\n".encode()
            end += b"\r\n"
            if not self._send(s, req, end):
                return False
            req.response_sent.set()
            return keep

        if path in ("/close-mid-body", "/stall"):
            n = req.qint("size", 100000)
            m = req.qint("sent", n // 2)
            self._send_head(s, status, hdrs + [("Content-Length", str(n))])
            self._send(s, req, pattern(m))
            if path == "/stall":
                self._wait_peer_close(s, req, reader)
            else:
                time.sleep(0.05)
            return False

        if path == "/eof":
            n = req.qint("size", 10000)
            self._send_head(s, status, [h for h in hdrs if h[0] != "Connection"] + [("Connection", "close")])
            if not head_only:
                self._send(s, req, pattern(n))
            req.response_sent.set()
            s.shutdown(socket.SHUT_WR)
            time.sleep(0.05)
            return False

        if path == "/gate":
            name = req.q("name", "gate")
            self._send_head(s, status, hdrs + [("Transfer-Encoding", "chunked")])
            if head_only:
                return keep
            if not self._send(s, req, b"c\r\nfirst-chunk\n\r\n"):
                return False
            if not self.gates[name].wait(15):
                with self.lock:
                    self.errors.append(f"gate {name} never opened")
                return False
            if not self._send(s, req, b"d\r\nsecond-chunk\n\r\n0\r\n\r\n"):
                return False
            req.response_sent.set()
            return keep

        if path == "/early-hints":
            self._send(s, req, b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            time.sleep(0.05)

        # /echo, /early-hints, /slowread and anything else
        info = req.as_json()
        if path == "/slowread":
            info["body"] = None
        body = json.dumps(info).encode()
        if status in (204, 304) or 100 <= status < 200:
            self._send_head(s, status, hdrs)
        else:
            self._send_head(s, status, hdrs + [("Content-Type", "application/json"),
                                               ("Content-Length", str(len(body)))])
            if not head_only:
                if not self._send(s, req, body):
                    return False
        req.response_sent.set()
        if req.q("close_after") == "1":
            return False
        return keep


# --------------------------------------------------------------------------------------------
# The proxy process
# --------------------------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """Resident set size of pid plus its descendants, from /proc."""
    total = 0
    todo = [pid]
    seen = set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                try:
                    with open(f"/proc/{p}/task/{task}/children") as f:
                        todo += [int(x) for x in f.read().split()]
                except OSError:
                    pass
        except OSError:
            pass
    return total


class RssSampler:
    """Samples rss_bytes(pid) every `interval` seconds in a thread; .max is the peak."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid = pid
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            v = rss_bytes(self.pid)
            if v:
                self.samples.append(v)
            time.sleep(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join(2)

    @property
    def max(self) -> int:
        return max(self.samples) if self.samples else 0


class StavkaProcess:
    """A running stavka; stdout/stderr are read by threads into .stdout_lines/.stderr_lines."""

    def __init__(self, argv: list[str], port: Optional[int], *, config_path: Optional[Path] = None,
                 admin_port: Optional[int] = None, expect_exit: Optional[int] = 0,
                 cwd: Optional[str] = None, env: Optional[dict] = None):
        self.argv = argv
        self.port = port
        self.admin_port = admin_port
        self.config_path = config_path
        self.expect_exit = expect_exit
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._lines_cv = threading.Condition()
        # Every server gets ADMIN_TOKEN as its admin token unless `env` says otherwise (a value
        # of None removes a variable).
        e = dict(os.environ, STAVKA_ADMIN_TOKEN=ADMIN_TOKEN)
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd, env=e)
        self.pid = self.proc.pid
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout_lines), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr_lines), daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _pump(self, stream, sink: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self._lines_cv:
                sink.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._lines_cv.notify_all()
        stream.close()

    # -- readiness / logs --------------------------------------------------------------------
    def wait_ready(self, timeout: float = 10.0) -> None:
        try:
            if self.port is not None:
                wait_for_port(self.port, timeout, self.proc)
            if self.admin_port is not None:
                wait_for_port(self.admin_port, timeout, self.proc)
        except (RuntimeError, TimeoutError) as e:
            time.sleep(0.2)
            raise RuntimeError(f"stavka did not become ready: {e}\nargv: {self.argv}\n"
                               f"stderr:\n" + "\n".join(self.stderr_lines[-40:])) from None

    def wait_stdout(self, pred: Callable[[str], bool], timeout: float = 5.0, count: int = 1) -> list[str]:
        return self._wait_lines(self.stdout_lines, pred, timeout, count)

    def wait_stderr(self, pred: Callable[[str], bool], timeout: float = 5.0, count: int = 1) -> list[str]:
        return self._wait_lines(self.stderr_lines, pred, timeout, count)

    def _wait_lines(self, sink, pred, timeout, count) -> list[str]:
        deadline = time.monotonic() + timeout
        with self._lines_cv:
            while True:
                found = [l for l in sink if pred(l)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._lines_cv.wait(min(left, 0.1))

    # -- control -----------------------------------------------------------------------------
    def url(self, path: str = "/") -> str:
        return f"http://{LOCALHOST}:{self.port}{path}"

    def connect(self, timeout: float = 10.0) -> RawConn:
        return RawConn(self.port, timeout)

    def get(self, target: str, headers=None, host: Optional[str] = "stavka.test") -> Response:
        return http_get(self.port, target, headers, host)

    def request(self, method: str, target: str, headers=None, body=None,
                host: Optional[str] = "stavka.test") -> Response:
        return http_request(self.port, method, target, headers, body, host)

    def write_config(self, cfg) -> None:
        assert self.config_path is not None
        text = cfg if isinstance(cfg, str) else toml_dumps(cfg)
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config_path)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def reload(self, cfg=None) -> None:
        if cfg is not None:
            self.write_config(cfg)
        self.signal(signal.SIGHUP)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_exit(self, timeout: float = 15.0) -> Optional[int]:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig: int = int(_SIGTERM), timeout: float = 15.0) -> Optional[int]:
        """Signals the process and waits; returns its exit code (None: had to SIGKILL it)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            rc = self.wait_exit(timeout)
            if rc is None:
                self.proc.kill()
                self.proc.wait(5)
                return None
        for t in self._readers:
            t.join(2)
        return self.proc.returncode

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def logs(self) -> str:
        return ("--- stavka stderr ---\n" + "\n".join(self.stderr_lines[-60:]) +
                "\n--- stavka stdout (last 20) ---\n" + "\n".join(self.stdout_lines[-20:]))
