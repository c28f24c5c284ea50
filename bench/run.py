#!/usr/bin/env python3
"""Side-by-side benchmark of Stavka and nginx as plain reverse proxies.

One run: start an origin (a private nginx serving one static file, pinned to the client CPU),
then for each proxy (pinned to the proxy CPU, one worker):
  * wrk throughput and latency (warm-up, then the measured run),
  * the proxy's CPU time per request (/proc/PID/stat) and CPU utilisation (/proc/stat),
  * its memory after the run,
  * the memory cost of idle keep-alive connections.
Prints a table with Stavka/nginx ratios and writes JSON to bench/results/<timestamp>.json.

Python 3 standard library only. See docs/bench.md.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import errno
import hashlib
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PEERS_DIR = BENCH_DIR / "peers"
RESULTS_DIR = BENCH_DIR / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --------------------------------------------------------------------------------------------
# Output helpers


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


WARNINGS: list[str] = []


def warn(msg: str, into: list | None = None) -> None:
    """A problem that makes a figure suspect: printed loudly now and repeated at the end."""
    WARNINGS.append(msg)
    if into is not None:
        into.append(msg)
    bar = "!" * 78
    print(f"\n{bar}\n!!! WARNING: {msg}\n{bar}\n", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Child processes: every process we start is in its own session (process group), recorded
# here, and stopped by the cleanup in main() whatever happens.

CHILDREN: list[subprocess.Popen] = []


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def spawn(argv: list[str], log_path: Path, cwd: Path | None = None) -> subprocess.Popen:
    out = open(log_path, "ab")
    try:
        p = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(cwd) if cwd else None,
            preexec_fn=_raise_nofile,
            start_new_session=True,
        )
    finally:
        out.close()
    CHILDREN.append(p)
    return p


def stop(p: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 10.0) -> dict:
    """Stops p and everything in its process group. Returns how it went."""
    info = {"signal": signal.Signals(sig).name, "exited_in_s": None, "killed": False,
            "returncode": p.poll()}
    if p.poll() is None:
        t0 = time.monotonic()
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
            info["exited_in_s"] = round(time.monotonic() - t0, 3)
        except subprocess.TimeoutExpired:
            info["killed"] = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=10)
        info["returncode"] = p.returncode
    # Sweep the group: workers whose master died (or was killed) must not survive us.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if p in CHILDREN:
        CHILDREN.remove(p)
    return info


def stop_all() -> None:
    for p in list(reversed(CHILDREN)):
        try:
            stop(p, grace=5.0)
        except Exception as e:  # keep going: every child must be stopped
            print(f"[bench] could not stop pid {p.pid}: {e}", file=sys.stderr)


def exit_status_text(rc: int | None) -> str:
    if rc is None:
        return "running"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit code {rc}"


def tail(path: Path, n: int = 12) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


# --------------------------------------------------------------------------------------------
# /proc


def _ppid_map() -> dict[int, int]:
    m = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(b")") + 2:].split()
        m[int(d)] = int(rest[1])
    return m


def proc_tree(pid: int) -> list[int]:
    """pid and all its descendants (nginx master + workers; a multi-process Stavka)."""
    m = _ppid_map()
    if pid not in m:
        return []
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(c for c, pp in m.items() if pp == p)
    return sorted(out)


def cpu_ticks(pids: list[int]) -> int:
    """utime+stime (all threads) of the given processes, in clock ticks."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(b")") + 2:].split()
        total += int(rest[11]) + int(rest[12])  # fields 14 and 15 of proc(5)
    return total


def memory(pids: list[int]) -> dict:
    """Sum of VmRSS and of Pss (smaps_rollup) over the processes, in bytes."""
    rss = pss = 0
    have_pss = True
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) * 1024
        except OSError:
            continue
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                    break
        except OSError:
            have_pss = False
    return {"rss": rss, "pss": pss if have_pss else None, "pids": pids}


def cpu_times() -> dict[str, tuple[int, int, int]]:
    """Per-CPU (busy, total, irq+softirq) jiffies from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        parts = line.split()
        v = [int(x) for x in parts[1:9]]  # user nice system idle iowait irq softirq steal
        total = sum(v)
        out[parts[0]] = (total - v[3] - v[4], total, v[5] + v[6])
    return out


def cpu_util(before: dict, after: dict, column: int = 0) -> dict[str, float]:
    """Per-CPU % of time in `column` of cpu_times(): 0 busy, 2 irq+softirq."""
    res = {}
    for cpu, v1 in after.items():
        v0 = before.get(cpu, (0, 0, 0))
        dt = v1[1] - v0[1]
        res[cpu] = round(100.0 * (v1[column] - v0[column]) / dt, 1) if dt > 0 else 0.0
    return res


# --------------------------------------------------------------------------------------------
# Small utilities


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


def render_template(text: str, values: dict[str, str]) -> tuple[str, dict[str, int]]:
    """Replaces @NAME@ placeholders (the convention of /work/shared/bench-peers).

    @PORT@ and every @PORT_*@ that is not in `values` gets its own free port on 127.0.0.1,
    so multi-listener templates work unchanged. Returns (text, {placeholder: port}).
    Unknown placeholders are an error.
    """
    names = sorted(set(PLACEHOLDER.findall(text)))
    port_names = [n for n in names if (n == "PORT" or n.startswith("PORT_")) and n not in values]
    ports = dict(zip(port_names, free_ports(len(port_names))))
    missing = [n for n in names if n not in values and n not in ports]
    if missing:
        raise BenchError(f"template has placeholders the harness cannot fill: {missing}")
    all_values = {**values, **{k: str(v) for k, v in ports.items()}}
    return PLACEHOLDER.sub(lambda m: all_values[m.group(1)], text), ports


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """One GET on a fresh connection; returns (status, body). Minimal HTTP/1.1 client."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return status, body


def _dechunk(b: bytes) -> bytes:
    out, i = b"", 0
    while True:
        j = b.index(b"\r\n", i)
        n = int(b[i:j].split(b";")[0], 16)
        if n == 0:
            return out
        out += b[j + 2:j + 2 + n]
        i = j + 2 + n + 2


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


def wait_ready(p: subprocess.Popen, port: int, path: str, expect: bytes, what: str,
               log_path: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise BenchError(f"{what} exited during start-up ({exit_status_text(p.returncode)})"
                             f"; last lines of {log_path}:\n{tail(log_path)}")
        try:
            status, body = http_get(port, path)
            if status == 200 and body == expect:
                return
            last = f"status {status}, {len(body)} body bytes (expected 200, {len(expect)})"
        except (OSError, ValueError, IndexError) as e:
            last = repr(e)
        time.sleep(0.1)
    raise BenchError(f"{what} not ready on 127.0.0.1:{port} after {timeout:.0f}s: {last}; "
                     f"last lines of {log_path}:\n{tail(log_path)}")


def taskset(cpu: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu)] + argv


def run_cmd_text(argv: list[str]) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip()
    except Exception as e:
        return f"<{e}>"


# --------------------------------------------------------------------------------------------
# Peers. To add another one (Varnish, ATS, Squid from /work/shared/bench-peers), subclass
# Peer: render its template into its private dir, start it pinned, return the port under test.


@dataclass
class Peer:
    name: str
    proc: subprocess.Popen | None = None
    port: int = 0
    dir: Path | None = None
    log_path: Path | None = None
    extra: dict = field(default_factory=dict)

    def start(self, workdir: Path, origin_port: int, cpu: int) -> None:
        raise NotImplementedError

    def pids(self) -> list[int]:
        return proc_tree(self.proc.pid) if self.proc else []

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class NginxPeer(Peer):
    def __init__(self, name: str, template: Path, listener: str,
                 upstream_keepalive: int | None = None):
        super().__init__(name)
        self.template = template
        self.listener = listener
        self.upstream_keepalive = upstream_keepalive

    def start(self, workdir: Path, origin_port: int, cpu: int) -> None:
        self.dir = workdir / self.name
        (self.dir / "tmp").mkdir(parents=True)
        text, ports = render_template(self.template.read_text(),
                                      {"DIR": str(self.dir), "ORIGIN_PORT": str(origin_port)})
        key = self.listener if self.listener in ports else None
        if key is None:
            raise BenchError(f"{self.template}: no @{self.listener}@ listener "
                             f"(has {sorted(ports)}); see --nginx-listener")
        self.port = ports[key]
        self.extra["ports"] = ports
        if self.upstream_keepalive is not None:
            text, n = re.subn(r"(\n\s*keepalive\s+)\d+;", rf"\g<1>{self.upstream_keepalive};",
                              text)
            if not n:
                raise BenchError(f"{self.template}: no upstream 'keepalive N;' to override")
        conf = self.dir / "nginx.conf"
        conf.write_text(text)
        self.log_path = self.dir / "stdout.log"
        self.proc = spawn(taskset(cpu, ["nginx", "-p", str(self.dir), "-e",
                                        str(self.dir / "error.log"), "-c", str(conf),
                                        "-g", "daemon off;"]), self.log_path)

    def error_log(self) -> Path:
        return self.dir / "error.log"


class StavkaPeer(Peer):
    def __init__(self, name: str, binary: Path, template: Path):
        super().__init__(name)
        self.binary = binary
        self.template = template

    def start(self, workdir: Path, origin_port: int, cpu: int) -> None:
        self.dir = workdir / self.name
        self.dir.mkdir(parents=True)
        text, ports = render_template(self.template.read_text(),
                                      {"DIR": str(self.dir), "ORIGIN_PORT": str(origin_port)})
        self.port = ports["PORT_MAIN"]
        conf = self.dir / "stavka.toml"
        conf.write_text(text)
        self.log_path = self.dir / "stavka.log"
        self.proc = spawn(taskset(cpu, [str(self.binary), "run", "--config", str(conf)]),
                          self.log_path, cwd=self.dir)

    def error_log(self) -> Path:
        return self.log_path


# --------------------------------------------------------------------------------------------
# wrk

_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"bad wrk time {text!r}")
    return float(m.group(1)) * _TIME_UNITS[m.group(2)]


def parse_wrk(out: str) -> dict:
    r: dict = {"latency_ms": {}, "socket_errors": {"connect": 0, "read": 0, "write": 0,
                                                      "timeout": 0}, "non_2xx_3xx": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise BenchError(f"wrk output without Requests/sec:\n{out}")
    r["requests_per_s"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read", out)
    if m:
        r["requests"] = int(m.group(1))
        r["duration_s"] = float(m.group(2)) * _TIME_UNITS[m.group(3)] / 1e3
        r["bytes_read"] = float(m.group(4)) * _SIZE_UNITS[m.group(5)]
        r["bytes_read_rounding"] = 0.005 * _SIZE_UNITS[m.group(5)]  # printed with 2 decimals
    in_dist = False
    for line in out.splitlines():
        if "Latency Distribution" in line:
            in_dist = True
            continue
        if in_dist:
            m = re.match(r"\s+(\d+(?:\.\d+)?)%\s+(\S+)", line)
            if not m:
                in_dist = False
                continue
            r["latency_ms"][f"p{float(m.group(1)):g}"] = _ms(m.group(2))
    m = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if m:
        r["latency_ms"]["avg"] = _ms(m.group(1))
        r["latency_ms"]["max"] = _ms(m.group(3))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                      map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["non_2xx_3xx"] = int(m.group(1))
    return r


def run_wrk(args, port: int, duration: float, latency: bool, log_path: Path,
            cpu_out: dict | None = None) -> str:
    cpu_out = {} if cpu_out is None else cpu_out
    argv = taskset(args.client_cpu, ["wrk", f"-t{args.threads}", f"-c{args.connections}",
                                     f"-d{duration:g}s", "--timeout", f"{args.wrk_timeout:g}s"])
    if latency:
        argv.append("--latency")
    argv.append(f"http://127.0.0.1:{port}/file")
    log_path.write_text("$ " + " ".join(argv) + "\n")
    p = spawn(argv, log_path)
    deadline = time.monotonic() + duration + 60
    try:
        while True:  # wait4, not Popen.wait: we want wrk's own CPU time
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                cpu_out["wrk_cpu_s"] = ru.ru_utime + ru.ru_stime
                break
            if time.monotonic() > deadline:
                raise BenchError(f"wrk did not finish within {duration + 60:g}s")
            time.sleep(0.05)
    finally:
        stop(p, grace=2.0)
    out = log_path.read_text(errors="replace").split("\n", 1)[1]
    if p.returncode != 0:
        raise BenchError(f"wrk failed ({exit_status_text(p.returncode)}):\n{out}")
    return out


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


def check_quiet(args, name: str) -> dict:
    """Waits (up to --quiet-timeout) until both CPUs are idle: another job on this 2-core box
    (a compiler, a test run) skews every figure. Returns the last background sample. Whether
    the measured run itself was disturbed is checked afterwards (other_on_*_cpu_pct)."""
    p, c = f"cpu{args.proxy_cpu}", f"cpu{args.client_cpu}"
    deadline = time.monotonic() + args.quiet_timeout
    said = False
    quiet = 0
    while True:
        a = cpu_times()
        time.sleep(1.0)
        u = cpu_util(a, cpu_times())
        busy = u.get(p, 0) > args.max_background or u.get(c, 0) > args.max_background
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:  # three idle seconds in a row
            return u
        if not busy:
            continue
        if time.monotonic() >= deadline:
            log(f"{name}: still busy after {args.quiet_timeout:g}s ({p} {u.get(p)}%, {c} "
                f"{u.get(c)}%, loadavg "
                f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}); measuring anyway")
            return u
        if not said:
            log(f"waiting up to {args.quiet_timeout:g}s for background load to go away "
                f"({p} {u.get(p)}%, {c} {u.get(c)}% busy)")
            said = True


def measured_run(args, peer: Peer, origin_pid: int, res: dict) -> dict:
    """The wrk run with --latency, with CPU accounting around it. Fills res; returns wrk's."""
    pids, opids = peer.pids(), proc_tree(origin_pid)
    wcpu: dict = {}
    os0 = origin_status(args.origin_port)
    t0, c0, o0, s0 = time.monotonic(), cpu_ticks(pids), cpu_ticks(opids), cpu_times()
    out = run_wrk(args, peer.port, args.duration, True, peer.dir / "wrk.log", wcpu)
    t1, c1, o1, s1 = time.monotonic(), cpu_ticks(pids), cpu_ticks(opids), cpu_times()
    os1 = origin_status(args.origin_port)
    res["wrk_output"] = out
    w = parse_wrk(out)
    res["wrk"] = w
    win = t1 - t0
    res["window_s"] = round(win, 3)
    cpu_s = (c1 - c0) / CLK_TCK
    res["proxy_cpu_s"] = cpu_s
    res["proxy_cpu_pct"] = round(100.0 * cpu_s / win, 1)
    reqs = w.get("requests") or w["requests_per_s"] * args.duration
    res["cpu_us_per_req"] = 1e6 * cpu_s / reqs if reqs else None
    util = cpu_util(s0, s1)
    res["cpu_util_pct"] = util
    res["proxy_cpu_util_pct"] = util.get(f"cpu{args.proxy_cpu}")
    res["client_cpu_util_pct"] = util.get(f"cpu{args.client_cpu}")
    res["origin_cpu_pct"] = round(100.0 * (o1 - o0) / CLK_TCK / win, 1)
    if os0 and os1:
        # Connections the proxy opened to the origin (a proxy that keeps its upstream
        # connections opens few; churn here costs both the proxy and the origin CPU).
        # The two status requests themselves are subtracted.
        res["origin_connections_opened"] = os1["accepts"] - os0["accepts"] - 1
        res["origin_requests"] = os1["requests"] - os0["requests"] - 1
        res["origin_active_connections_after"] = os1["active"] - 1
    res["wrk_cpu_pct"] = round(100.0 * wcpu.get("wrk_cpu_s", 0) / win, 1)
    # Interrupt + softirq share of each CPU (for information: on loopback this is mostly the
    # TCP receive path run in the sending task's context, and this kernel charges it to that
    # task's stime too, so it is already inside the proxy's CPU time).
    res["irq_softirq_pct"] = cpu_util(s0, s1, 2)
    # Whatever else ran on each CPU: other processes (a compiler, tests) disturb the run.
    res["other_on_proxy_cpu_pct"] = round(res["proxy_cpu_util_pct"] - res["proxy_cpu_pct"], 1)
    res["other_on_client_cpu_pct"] = round(res["client_cpu_util_pct"] - res["origin_cpu_pct"]
                                           - res["wrk_cpu_pct"], 1)
    return w


def bench_peer(args, peer: Peer, workdir: Path, origin_port: int, origin_pid: int,
               expect: bytes) -> dict:
    res: dict = {"name": peer.name, "errors": [], "suspect": []}
    log(f"{peer.name}: starting (pinned to CPU {args.proxy_cpu})")

    def check_alive(phase: str) -> None:
        if not peer.alive():
            msg = (f"{peer.name} DIED during {phase}: {exit_status_text(peer.proc.returncode)}; "
                   f"last lines of {peer.log_path}:\n{tail(peer.log_path)}")
            res["errors"].append(msg)
            raise BenchError(msg)

    try:
        peer.start(workdir, origin_port, args.proxy_cpu)
        res["port"] = peer.port
        res["start_command"] = " ".join(peer.proc.args)
        wait_ready(peer.proc, peer.port, "/file", expect, peer.name, peer.log_path)
        res["pids"] = peer.pids()
        res["memory_start"] = memory(res["pids"])
        attempts = args.retries + 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            res["suspect"] = []
            res["attempt"] = attempt
            res["background_cpu_pct"] = check_quiet(args, peer.name)
            log(f"{peer.name}: warm-up {args.warmup:g}s")
            run_wrk(args, peer.port, args.warmup, False, peer.dir / "wrk-warmup.log")
            check_alive("warm-up")
            log(f"{peer.name}: measured run: wrk -t{args.threads} -c{args.connections} "
                f"-d{args.duration:g}s on CPU {args.client_cpu}"
                + (f" (attempt {attempt}/{attempts})" if attempt > 1 else ""))
            w = measured_run(args, peer, origin_pid, res)
            check_alive("the measured run")
            others = [(what, res[f"other_on_{what}_cpu_pct"]) for what in ("proxy", "client")
                      if res[f"other_on_{what}_cpu_pct"] > args.max_background]
            for what, v in others:
                msg = (f"{peer.name}: {v}% of the {what} CPU went to something other than "
                       f"the benchmark's processes during the measured run")
                if last:
                    warn(msg + "; figures are suspect", res["suspect"])
                else:
                    log(msg + "; measuring again")
            if not others:
                break

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

        if args.idle > 0:
            res["idle"] = idle_test(args, peer, res)
            check_alive("the idle-connection test")
    except BenchError as e:
        if str(e) not in res["errors"]:
            res["errors"].append(str(e))
        warn(str(e))
    except Exception as e:
        msg = f"{peer.name}: harness error: {type(e).__name__}: {e}"
        res["errors"].append(msg)
        warn(msg)
    finally:
        if peer.proc is not None:
            stop_peer(args, peer, res)
    log(f"{peer.name}: done")
    return res


def stop_peer(args, peer: Peer, res: dict) -> None:
    alive_before_stop = peer.alive()
    s = stop(peer.proc, signal.SIGTERM, args.stop_grace)
    res["stop"] = s
    if alive_before_stop and s["killed"]:
        msg = (f"{peer.name} did not exit within {args.stop_grace:g}s of SIGTERM "
               f"(killed with SIGKILL)")
        res["errors"].append(msg)
        warn(msg)
    elif alive_before_stop and s["returncode"] not in (0, -signal.SIGTERM):
        msg = f"{peer.name} exited with {exit_status_text(s['returncode'])} after SIGTERM"
        res["errors"].append(msg)
        warn(msg)
    res["log_tail"] = tail(peer.error_log(), 40)


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


def fmt(v, spec: str, none: str = "-") -> str:
    return none if v is None else format(v, spec)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


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


def print_report(args, results: list[dict]) -> list[str]:
    p, c = args.proxy_cpu, args.client_cpu
    hdr = (f"{'proxy':<10} {'req/s':>10} {'p99':>9} {'CPU µs/req':>11} {'RSS MiB':>8} "
           f"{'PSS MiB':>8} {'idle B/conn':>12} {f'CPU{p}%':>6} {f'CPU{c}%':>6}  status")
    lines = ["", hdr, "-" * len(hdr)]
    for r in results:
        v = row_values(r)
        status = "ERRORS" if r["errors"] else "SUSPECT (load)" if r.get("suspect") else "ok"
        lines.append(
            f"{r['name']:<10} {fmt(v['req_s'], ',.0f'):>10} "
            f"{fmt(v['p99_ms'], '.2f') + 'ms' if v['p99_ms'] is not None else '-':>9} "
            f"{fmt(v['cpu_us'], '.2f'):>11} {fmt(v['rss_mib'], '.1f'):>8} "
            f"{fmt(v['pss_mib'], '.1f'):>8} {fmt(v['idle_b'], ',.0f'):>12} "
            f"{fmt(v['cpu0'], '.0f'):>6} {fmt(v['cpu1'], '.0f'):>6}  {status}")
    by = {r["name"]: r for r in results}
    if "stavka" in by and "nginx" in by:
        s, n = row_values(by["stavka"]), row_values(by["nginx"])
        lines.append("")
        def rx(k):
            return fmt(ratio(s[k], n[k]), ".2f") + "x" if ratio(s[k], n[k]) is not None else "-"
        lines.append(f"Stavka/nginx:  req/s {rx('req_s')} (higher is better)   "
                     f"p99 {rx('p99_ms')}   CPU/req {rx('cpu_us')}   idle B/conn {rx('idle_b')} "
                     f"(lower is better)")
    lines.append("")
    for r in results:
        if r.get("origin_connections_opened") is not None and (r.get("wrk") or {}).get("requests"):
            oc = r["origin_connections_opened"]
            lines.append(f"{r['name']}: opened {oc:,} connections to the origin during the run "
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
            lines.append(f"{r['name']}: {', '.join(sat)} -> {bound}")
        else:
            lines.append(f"{r['name']}: neither CPU saturated (latency-bound; "
                         f"try more --connections)")
    print("\n".join(lines))
    return lines


def environment(args) -> dict:
    env = {
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
        "nginx": run_cmd_text(["nginx", "-v"]),
        "wrk": run_cmd_text(["wrk", "-v"]).splitlines()[0] if shutil.which("wrk") else None,
        "python": sys.version.split()[0],
        "git_commit": run_cmd_text(["git", "-C", str(REPO), "rev-parse", "HEAD"]),
        "git_dirty": bool(run_cmd_text(["git", "-C", str(REPO), "status", "--porcelain",
                                        "--", "src"])),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                env["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    b = Path(args.stavka)
    if b.exists():
        st = b.stat()
        env["stavka_binary"] = {
            "path": str(b), "size": st.st_size,
            "mtime": _dt.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="seconds"),
            "sha256": hashlib.sha256(b.read_bytes()).hexdigest(),
        }
    return env


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
    ap.add_argument("--only", default="stavka,nginx",
                    help="comma-separated proxies to run, in order (stavka,nginx)")
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
    ap.add_argument("--proxy-cpu", type=int, default=0, help="CPU for the proxy (0)")
    ap.add_argument("--client-cpu", type=int, default=1, help="CPU for wrk + origin (1)")
    ap.add_argument("--max-background", type=float, default=10,
                    help="warn when a CPU is busier than this %% before a run (10)")
    ap.add_argument("--quiet-timeout", type=float, default=120,
                    help="wait up to this many s for other load to stop before a run (120)")
    ap.add_argument("--retries", type=int, default=2,
                    help="measure again (up to this many times) when other processes used "
                         "a CPU during the measured run (2)")
    ap.add_argument("--stop-grace", type=float, default=10,
                    help="seconds a proxy gets to exit after SIGTERM (10)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    ap.add_argument("--out", help="JSON result path (default bench/results/<timestamp>.json)")
    args = ap.parse_args(argv)
    args.only = [x.strip() for x in args.only.split(",") if x.strip()]
    for x in args.only:
        if x not in ("stavka", "nginx"):
            ap.error(f"--only: unknown proxy {x!r} (stavka, nginx)")
    return args


def make_peer(args, name: str) -> Peer:
    if name == "stavka":
        b = Path(args.stavka)
        if not os.access(b, os.X_OK):
            raise BenchError(f"{b} does not exist or is not executable: build Stavka first, "
                             f"or run with --only nginx")
        return StavkaPeer("stavka", b, Path(args.stavka_conf))
    return NginxPeer("nginx", Path(args.nginx_conf), args.nginx_listener,
                     args.nginx_upstream_keepalive)


def preflight(args) -> None:
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found: run scripts/setup.sh")
    cpus = os.sched_getaffinity(0)
    for c in (args.proxy_cpu, args.client_cpu):
        if c not in cpus:
            raise BenchError(f"CPU {c} is not available (have {sorted(cpus)})")
    if args.proxy_cpu == args.client_cpu:
        raise BenchError("--proxy-cpu and --client-cpu must differ")
    _raise_nofile()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if args.idle + 64 > soft:
        raise BenchError(f"--idle {args.idle} needs more than RLIMIT_NOFILE {soft} descriptors")


def main(argv=None) -> int:
    args = parse_args(argv)
    started = _dt.datetime.now()

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    workdir = None
    results: list[dict] = []
    rc = 0
    try:
        preflight(args)
        peers = [make_peer(args, n) for n in args.only]
        # The harness itself stays off the proxy's CPU.
        os.sched_setaffinity(0, {args.client_cpu})
        workdir = Path(tempfile.mkdtemp(prefix="stavka-bench-"))
        # nginx started as root runs its workers as "nobody": they must reach the files.
        workdir.chmod(0o755)
        body = (b"stavka-bench " * (args.size // 13 + 1))[:args.size]
        log(f"work dir {workdir}")
        origin, origin_port, origin_dir = start_origin(args, workdir, body)
        args.origin_port = origin_port
        log(f"origin: nginx on 127.0.0.1:{origin_port} (CPU {args.client_cpu}), "
            f"/file = {args.size} bytes")
        for peer in peers:
            results.append(bench_peer(args, peer, workdir, origin_port, origin.pid, body))
            if origin.poll() is not None:
                raise BenchError(f"origin died ({exit_status_text(origin.returncode)}): "
                                 f"{tail(origin_dir / 'error.log')}")
        origin_log = tail(origin_dir / "error.log", 20)
        if "[alert]" in origin_log or "[crit]" in origin_log or "[emerg]" in origin_log:
            warn(f"origin error log has alerts:\n{origin_log}")
    except KeyboardInterrupt:
        print("\n[bench] interrupted; stopping everything", file=sys.stderr)
        rc = 130
    except BenchError as e:
        warn(str(e))
        rc = 1
    finally:
        stop_all()
        if workdir is not None:
            if args.keep or (rc and rc != 130) or any(r["errors"] for r in results):
                log(f"kept {workdir} (configs and logs)")
            else:
                shutil.rmtree(workdir, ignore_errors=True)

    if results:
        table = print_report(args, results)
        out = Path(args.out) if args.out else \
            RESULTS_DIR / f"{started.strftime('%Y%m%d-%H%M%S')}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "started": started.isoformat(timespec="seconds"),
            "command": " ".join([sys.executable] + sys.argv),
            "params": {k: v for k, v in vars(args).items()},
            "environment": environment(args),
            "results": results,
            "table": table,
            "warnings": WARNINGS,
            "workdir": str(workdir) if workdir and workdir.exists() else None,
        }
        out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
        print(f"\nresults: {out}")
    if WARNINGS:
        print(f"\n{len(WARNINGS)} WARNING(S) — these figures are suspect:", file=sys.stderr)
        for w in WARNINGS:
            print(f"  !!! {w.splitlines()[0]}", file=sys.stderr)
        rc = rc or 2
    return rc


if __name__ == "__main__":
    sys.exit(main())
