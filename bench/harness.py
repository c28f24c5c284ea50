"""Shared machinery of the side-by-side benchmarks (bench/run.py, bench/cache.py).

Everything a benchmark needs that is not specific to what it measures:
  * child processes, each in its own process group, always stopped (spawn, stop, stop_all),
  * CPU and memory accounting from /proc (proc_tree, cpu_ticks, cpu_times, memory, ...),
  * the peers under test, rendered from templates into a private directory and pinned to the
    proxy CPU (Stavka, nginx, Varnish, Apache Traffic Server),
  * wrk: running it, parsing its output, the CPU accounting around a measured run, and the
    quiet-CPU check and retries around that,
  * a minimal HTTP client, result files and the common exit-status handling.

Python 3 standard library only. See docs/bench.md.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import resource
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
# Production-like peer templates shared by the project's benchmarks (nginx, Varnish, ATS, ...)
SHARED_PEERS_DIR = REPO.parent / "shared" / "bench-peers"
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


def stop(p: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 10.0,
         group: bool = True) -> dict:
    """Stops p and everything in its process group. Returns how it went. The signal goes to
    the whole group, or with group=False to p alone (a manager process that stops its own
    children, like varnishd's); whatever is left of the group is killed afterwards."""
    info = {"signal": signal.Signals(sig).name, "exited_in_s": None, "killed": False,
            "returncode": p.poll()}
    if p.poll() is None:
        t0 = time.monotonic()
        try:
            if group:
                os.killpg(p.pid, sig)
            else:
                os.kill(p.pid, sig)
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


class BenchRun:
    """What every benchmark's main() runs its peers inside, made first (it installs the signal
    handlers and notes the start time): Ctrl-C (rc 130) and a BenchError (warned, rc 1) end the
    run quietly; on the way out every process started is stopped and the
    work dir removed, unless --keep, a failure or a peer's recorded error asks to keep it. Set
    `workdir` once it exists; read `rc` afterwards."""

    def __init__(self, args, results: list[dict]):
        self.args, self.results = args, results
        self.workdir: Path | None = None
        self.rc = 0
        self.started = _dt.datetime.now()  # for write_results
        install_signal_handlers()

    def __enter__(self) -> "BenchRun":
        return self

    def make_workdir(self, prefix: str = "stavka-bench-") -> Path:
        """The run's work dir (make_workdir), removed on the way out as the class says."""
        self.workdir = make_workdir(self.args.client_cpu, prefix=prefix)
        log(f"work dir {self.workdir}")
        return self.workdir

    def __exit__(self, kind, error, trace) -> bool:
        if kind is KeyboardInterrupt:
            print("\n[bench] interrupted; stopping everything", file=sys.stderr)
            self.rc = 130
        elif kind is not None and issubclass(kind, BenchError):
            warn(str(error))
            self.rc = 1
        stop_all()
        cleanup_workdir(self.workdir, self.args.keep or bool(self.rc and self.rc != 130)
                        or any(r["errors"] for r in self.results))
        return self.rc != 0


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


def threads_of(pids: list[int]):
    """(pid, tid) of every thread of the processes still there."""
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            yield pid, int(tid)


def cpu_ns(pids: list[int]) -> int:
    """CPU time (all threads) of the given processes in nanoseconds, from schedstat: exact
    where cpu_ticks counts 10 ms ticks, for windows of a few seconds."""
    total = 0
    for pid, tid in threads_of(pids):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
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


def admin_call(port: int, method: str, path: str, token: str, body: bytes = b"",
               timeout: float = 60) -> tuple[int, dict, float]:
    """One admin API request with a bearer token, on a fresh connection; returns (status, the
    JSON answer (or {"raw": text}), seconds from the first byte sent to the complete answer)."""
    head = (f"{method} {path} HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {token}\r\n"
            + ("Content-Type: application/json\r\n" if body and body[:1] == b"{" else "")
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        t0 = time.monotonic()
        s.sendall(head + body)
        data = b""
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        took = time.monotonic() - t0
    head_bytes, _, payload = data.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1])
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = {"raw": payload.decode("latin-1")}
    return status, answer, took


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


def http_request(port: int, path: str, timeout: float = 2.0, host: str = "bench",
                 method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection (Connection: close); returns (status, headers with
    lower-case names, body). Minimal HTTP/1.1 client."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                  .encode())
        chunks = []
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    return status, headers, body


def http_get(port: int, path: str, timeout: float = 2.0,
             host: str = "bench") -> tuple[int, bytes]:
    """One GET on a fresh connection; returns (status, body)."""
    status, _, body = http_request(port, path, timeout, host)
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


def wait_ready(p: subprocess.Popen, port: int, path: str, expect: bytes, what: str,
               log_path: Path, timeout: float = 15.0, host: str = "bench") -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise BenchError(f"{what} exited during start-up ({exit_status_text(p.returncode)})"
                             f"; last lines of {log_path}:\n{tail(log_path)}")
        try:
            status, body = http_get(port, path, host=host)
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
# Peers. Each one renders its template(s) into its private dir (workdir/<name>), starts the
# proxy pinned to the proxy CPU with spawn(), and sets `port` (the listener under test).
# To add another (Squid from /work/shared/bench-peers), subclass Peer the same way.


@dataclass
class Peer:
    name: str
    proc: subprocess.Popen | None = None
    port: int = 0
    dir: Path | None = None
    log_path: Path | None = None
    extra: dict = field(default_factory=dict)
    # Other listeners for particular tests ({test name: port}); see port_for().
    test_ports: dict = field(default_factory=dict)
    # SIGTERM to the whole process group (False: to the main process only, which stops its
    # children itself)
    signal_group: bool = True

    def start(self, workdir: Path, origin_port: int, cpu: int) -> None:
        raise NotImplementedError

    def ready(self, path: str, expect: bytes, host: str = "bench", timeout: float = 15.0) -> None:
        """Returns once GET path answers 200 with `expect`; BenchError otherwise."""
        wait_ready(self.proc, self.port, path, expect, self.name, self.log_path, timeout, host)

    def port_for(self, test: str) -> int:
        return self.test_ports.get(test, self.port)

    def pids(self) -> list[int]:
        return proc_tree(self.proc.pid) if self.proc else []

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def error_log(self) -> Path:
        return self.log_path


def pin_threads(pids: list[int], cpu: int) -> list[str]:
    """Pins every thread of the processes to `cpu`. taskset at start-up covers threads that
    inherit the affinity; this catches a proxy that sets its threads' affinity itself (ATS binds
    its event threads with hwloc). Returns the threads that had to be moved."""
    moved = []
    for pid, tid in threads_of(pids):
        try:
            if os.sched_getaffinity(tid) != {cpu}:
                comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
                os.sched_setaffinity(tid, {cpu})
                moved.append(f"{pid}/{tid} ({comm})")
        except OSError:
            continue
    return moved


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
    """Stavka from a config template. Placeholders: @DIR@ (its work dir), @ORIGIN_PORT@, @REPO@,
    those of `values`, and ports @PORT_MAIN@ (self.port) and @PORT_ADMIN@ (self.admin_port, 0
    without). Subclasses may write files the config names in prepare()."""

    def __init__(self, name: str, binary: Path, template: Path,
                 values: dict[str, str] | None = None):
        super().__init__(name)
        self.binary = binary
        self.template = template
        self.values = values or {}
        self.admin_port = 0

    def prepare(self) -> None:
        """Called with self.dir made, before the config is rendered."""

    def start(self, workdir: Path, origin_port: int, cpu: int) -> None:
        self.dir = workdir / self.name
        self.dir.mkdir(parents=True)
        self.prepare()
        text, ports = render_template(self.template.read_text(),
                                      {"DIR": str(self.dir), "ORIGIN_PORT": str(origin_port),
                                       "REPO": str(REPO), **self.values})
        self.port = ports["PORT_MAIN"]
        self.admin_port = ports.get("PORT_ADMIN", 0)
        conf = self.dir / "stavka.toml"
        conf.write_text(text)
        self.log_path = self.dir / "stavka.log"
        self.proc = spawn(taskset(cpu, [str(self.binary), "run", "--config", str(conf)]),
                          self.log_path, cwd=self.dir)


class VarnishPeer(Peer):
    """varnishd -F (foreground manager + its cache child process) with the shared template:
    default.vcl and varnishd.args (one argument per whitespace-separated token, '#' comments)."""

    def __init__(self, name: str, template_dir: Path):
        # The manager stops its child on SIGTERM; a child that gets SIGTERM itself "dies" and
        # the manager exits with status 64.
        super().__init__(name, signal_group=False)
        self.template_dir = template_dir

    def start(self, workdir: Path, origin_port: int, cpu: int) -> None:
        self.dir = workdir / self.name
        self.dir.mkdir(parents=True)
        values = {"DIR": str(self.dir), "ORIGIN_PORT": str(origin_port),
                  "ADMIN_PORT": str(free_ports(1)[0])}
        vcl, _ = render_template((self.template_dir / "default.vcl").read_text(), values)
        (self.dir / "default.vcl").write_text(vcl)
        text, ports = render_template((self.template_dir / "varnishd.args").read_text(), values)
        (self.dir / "varnishd.args").write_text(text)
        argv = [tok for line in text.splitlines() for tok in line.split("#", 1)[0].split()]
        self.port = ports["PORT"]
        self.extra["ports"] = ports
        self.log_path = self.dir / "varnishd.log"
        self.proc = spawn(taskset(cpu, ["varnishd"] + argv), self.log_path, cwd=self.dir)

    def ready(self, path: str, expect: bytes, host: str = "bench", timeout: float = 60.0) -> None:
        # varnishd compiles the VCL with cc before its child starts: allow more time
        super().ready(path, expect, host, max(timeout, 60.0))


class AtsPeer(Peer):
    """traffic_server with the shared template: its config files go to DIR/etc (over a copy of
    the package's /etc/trafficserver, for the files the template does not provide), and
    runroot.yaml points every ATS directory into DIR. `extra` is what @EXTRA@ in
    records.config becomes (the shared records.extra.cf: collapsed-forwarding mode)."""

    FILES = ("records.config", "remap.config", "storage.config", "ip_allow.yaml",
             "logging.yaml")

    def __init__(self, name: str, template_dir: Path, extra_file: Path | None):
        super().__init__(name)
        self.template_dir = template_dir
        self.extra_file = extra_file

    def start(self, workdir: Path, origin_port: int, cpu: int) -> None:
        self.dir = workdir / self.name
        etc = self.dir / "etc"
        shutil.copytree("/etc/trafficserver", etc)
        for d in ("var", "log", "run", "cache", "data"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        (port,) = free_ports(1)
        values = {"DIR": str(self.dir), "ORIGIN_PORT": str(origin_port), "PORT": str(port),
                  "EXTRA": self.extra_file.read_text() if self.extra_file else ""}
        for f in self.FILES:
            text, _ = render_template((self.template_dir / f).read_text(), values)
            (etc / f).write_text(text)
        text, _ = render_template((self.template_dir / "runroot.yaml").read_text(), values)
        (self.dir / "runroot.yaml").write_text(text)
        # ATS does not create a cache file named in storage.config ("file not found": cache
        # disabled): create each one, sparse, at its configured size.
        for line in (etc / "storage.config").read_text().splitlines():
            parts = line.split("#", 1)[0].split()
            if len(parts) >= 2 and not Path(parts[0]).is_dir():
                with open(parts[0], "wb") as f:
                    f.truncate(_parse_ats_size(parts[1]))
        # records.config sets admin.user_id: traffic_server started as root switches to that
        # user, which must own its directories.
        m = re.search(r"proxy\.config\.admin\.user_id\s+STRING\s+(\S+)",
                      (etc / "records.config").read_text())
        if m and os.geteuid() == 0:
            for root, dirs, files in os.walk(self.dir):
                for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                    shutil.chown(n, m.group(1), m.group(1))
        self.port = port
        self.log_path = self.dir / "stdout.log"
        self.proc = spawn(taskset(cpu, ["traffic_server",
                                        f"--run-root={self.dir / 'runroot.yaml'}"]),
                          self.log_path, cwd=self.dir)

    def ready(self, path: str, expect: bytes, host: str = "bench", timeout: float = 60.0) -> None:
        # Requests are proxied before the cache is up ("cache enabled" in diags.log): those
        # would not be cached. Wait for the cache, then for a correct answer.
        deadline = time.monotonic() + timeout
        diags = self.error_log()
        while True:
            if not self.alive():
                raise BenchError(f"{self.name} exited during start-up "
                                 f"({exit_status_text(self.proc.returncode)}); last lines of "
                                 f"{diags}:\n{tail(diags)}")
            text = diags.read_text(errors="replace") if diags.exists() else ""
            if "cache enabled" in text:
                break
            if "Cache Disabled" in text or time.monotonic() > deadline:
                raise BenchError(f"{self.name}: cache not enabled; last lines of {diags}:\n"
                                 f"{tail(diags)}")
            time.sleep(0.1)
        super().ready(path, expect, host, max(1.0, deadline - time.monotonic()))

    def error_log(self) -> Path:
        return self.dir / "log" / "diags.log"


def _parse_ats_size(text: str) -> int:
    m = re.fullmatch(r"(\d+)([KMGT]?)", text.upper())
    if not m:
        raise BenchError(f"storage.config: cannot parse size {text!r}")
    return int(m.group(1)) * 1024 ** " KMGT".index(m.group(2) or " ")


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
            cpu_out: dict | None = None, path: str = "/file", script: Path | None = None,
            stop_early=None) -> str:
    """wrk -t{args.threads} -c{args.connections} on the client CPU against 127.0.0.1:port/path
    (with `script`: wrk -s script); returns its output. wrk's own CPU time goes into
    cpu_out["wrk_cpu_s"]. `stop_early` (a threading.Event): once set, wrk gets SIGINT, which
    ends its run before `duration` with the usual report (rates over the time it ran)."""
    cpu_out = {} if cpu_out is None else cpu_out
    argv = taskset(args.client_cpu, ["wrk", f"-t{args.threads}", f"-c{args.connections}",
                                     f"-d{duration:g}s", "--timeout", f"{args.wrk_timeout:g}s"])
    if latency:
        argv.append("--latency")
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(f"http://127.0.0.1:{port}{path}")
    log_path.write_text("$ " + " ".join(argv) + "\n")
    out, cpu_out["wrk_cpu_s"] = wait_wrk(spawn(argv, log_path), log_path, duration + 60,
                                         stop_early)
    return out


def wait_wrk(p, log_path: Path, timeout: float, stop_early=None) -> tuple[str, float]:
    """Waits for a wrk started with its output to log_path (after a "$ argv" line); returns its
    output and its own CPU time (wait4, not Popen.wait). `stop_early` as for run_wrk."""
    deadline = time.monotonic() + timeout
    interrupted = False
    cpu_s = 0.0
    try:
        while True:
            if stop_early is not None and stop_early.is_set() and not interrupted:
                os.kill(p.pid, signal.SIGINT)
                interrupted = True
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                cpu_s = ru.ru_utime + ru.ru_stime
                break
            if time.monotonic() > deadline:
                raise BenchError(f"wrk did not finish within {timeout:g}s")
            time.sleep(0.05)
    finally:
        stop(p, grace=2.0)
    out = log_path.read_text(errors="replace").split("\n", 1)[1]
    if p.returncode != 0:
        raise BenchError(f"wrk failed ({exit_status_text(p.returncode)}):\n{out}")
    return out, cpu_s


# --------------------------------------------------------------------------------------------
# Measured runs: a quiet machine before, CPU accounting during, retries when disturbed


def wrk_argv(args, port: int, host: str, connections: int, duration: float, path: str,
             latency: bool = True) -> list[str]:
    """wrk -t1 on the client CPU with a Host header (to pick a site)."""
    return taskset(args.client_cpu, ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s",
                                     "--timeout", f"{args.wrk_timeout:g}s"]
                   + (["--latency"] if latency else [])
                   + ["-H", f"Host: {host}", f"http://127.0.0.1:{port}{path}"])


def start_wrk(argv: list[str], log_path: Path):
    log_path.write_text("$ " + " ".join(argv) + "\n")
    return spawn(argv, log_path)


def finish_wrk(p, log_path: Path, timeout: float) -> tuple[dict, float, str]:
    """Waits for wrk; returns (parsed output, its CPU s, output)."""
    out, cpu_s = wait_wrk(p, log_path, timeout)
    return parse_wrk(out), cpu_s, out


def start_wrk_and_wait(argv: list[str], log_path: Path) -> None:
    finish_wrk(start_wrk(argv, log_path), log_path, 120)


def wrk_problems(what: str, w: dict, size: int, expect_2xx: bool) -> list[str]:
    """Socket errors, non-2xx/3xx answers (when expect_2xx) and short responses of a wrk run."""
    problems = []
    errs = w["socket_errors"]
    if sum(errs.values()):
        problems.append(f"{what}: wrk socket errors {errs}")
    if expect_2xx and w["non_2xx_3xx"]:
        problems.append(f"{what}: {w['non_2xx_3xx']} non-2xx/3xx responses of {w.get('requests')}")
    if expect_2xx and w.get("requests") and w.get("bytes_read") is not None:
        per = w["bytes_read"] / w["requests"]
        if per < size - w["bytes_read_rounding"] / w["requests"]:
            problems.append(f"{what}: {per:.0f} bytes read per response, fewer than {size}")
    return problems


def start_bench_origin(args, workdir: Path, preload=()) -> tuple[subprocess.Popen, int, Path]:
    """bench/origin.py on the client CPU, with the object sizes in `preload` built up front;
    returns (process, port, its folder) once it serves."""
    from origin import body_for  # bench/origin.py, next to this file
    d = workdir / "origin"
    d.mkdir()
    (port,) = free_ports(1)
    logp = d / "origin.log"
    argv = [sys.executable, str(BENCH_DIR / "origin.py"), "--port", str(port)]
    if preload:
        argv += ["--preload", ",".join(map(str, sorted(set(preload))))]
    p = spawn(taskset(args.client_cpu, argv), logp)
    wait_ready(p, port, "/o/1024/0/origin-ready", body_for(1024), "origin", logp, timeout=30)
    return p, port, d


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


class CpuWindow:
    """CPU accounting around one measured interval: the proxy's process tree, the processes
    on the client CPU that belong to the benchmark (the origin), and per-CPU busy time."""

    def __init__(self, args, proxy_pids: list[int], side_pids: list[int]):
        self.args, self.pids, self.side = args, proxy_pids, side_pids
        self.t0, self.c0, self.o0, self.s0 = (time.monotonic(), cpu_ticks(proxy_pids),
                                              cpu_ticks(side_pids), cpu_times())

    def stop(self) -> None:
        self.t1, self.c1, self.o1, self.s1 = (time.monotonic(), cpu_ticks(self.pids),
                                              cpu_ticks(self.side), cpu_times())

    def fill(self, res: dict, requests: float | None, client_cpu_s: float,
             client: str = "wrk") -> None:
        """Writes the window's figures into res. `client_cpu_s` is the load generator's CPU
        time over the window (its key is f"{client}_cpu_pct")."""
        args = self.args
        win = self.t1 - self.t0
        res["window_s"] = round(win, 3)
        cpu_s = (self.c1 - self.c0) / CLK_TCK
        res["proxy_cpu_s"] = cpu_s
        res["proxy_cpu_pct"] = round(100.0 * cpu_s / win, 1)
        res["cpu_us_per_req"] = 1e6 * cpu_s / requests if requests else None
        util = cpu_util(self.s0, self.s1)
        res["cpu_util_pct"] = util
        res["proxy_cpu_util_pct"] = util.get(f"cpu{args.proxy_cpu}")
        res["client_cpu_util_pct"] = util.get(f"cpu{args.client_cpu}")
        res["origin_cpu_pct"] = round(100.0 * (self.o1 - self.o0) / CLK_TCK / win, 1)
        res[f"{client}_cpu_pct"] = round(100.0 * client_cpu_s / win, 1)
        # Interrupt + softirq share of each CPU (for information: on loopback this is mostly
        # the TCP receive path run in the sending task's context, and this kernel charges it
        # to that task's stime too, so it is already inside the proxy's CPU time).
        res["irq_softirq_pct"] = cpu_util(self.s0, self.s1, 2)
        # Whatever else ran on each CPU: other processes (a compiler, tests) disturb the run.
        res["other_on_proxy_cpu_pct"] = round(res["proxy_cpu_util_pct"] - res["proxy_cpu_pct"],
                                              1)
        res["other_on_client_cpu_pct"] = round(res["client_cpu_util_pct"]
                                               - res["origin_cpu_pct"]
                                               - res[f"{client}_cpu_pct"], 1)
        if win < self.MIN_WINDOW_S:
            # /proc counts in 10 ms ticks: over a short window the difference of two such
            # counts is noise, so it cannot tell whether another process ran.
            res["cpu_window_too_short"] = True

    MIN_WINDOW_S = 2.0


def measure_wrk(args, port: int, path: str, proxy_pids: list[int], side_pids: list[int],
                log_path: Path, res: dict) -> dict:
    """The measured wrk run (--latency, args.duration) with CPU accounting around it. Fills
    res (wrk_output, wrk and the CpuWindow figures); returns the parsed wrk output."""
    wcpu: dict = {}
    window = CpuWindow(args, proxy_pids, side_pids)
    out = run_wrk(args, port, args.duration, True, log_path, wcpu, path)
    window.stop()
    res["wrk_output"] = out
    w = parse_wrk(out)
    res["wrk"] = w
    window.fill(res, w.get("requests") or w["requests_per_s"] * args.duration,
                wcpu.get("wrk_cpu_s", 0))
    return w


def measure_quietly(args, name: str, res: dict, attempt):
    """Runs attempt(n, of) after check_quiet(), and again (up to args.retries times) while
    other processes took more than args.max_background % of a CPU during it (read from the
    other_on_*_cpu_pct figures attempt() leaves in res). The last attempt's disturbance is a
    warning in res["suspect"]. Returns what the last attempt returned."""
    attempts = args.retries + 1
    for n in range(1, attempts + 1):
        last = n == attempts
        res["suspect"] = []
        res["attempt"] = n
        res["background_cpu_pct"] = check_quiet(args, name)
        out = attempt(n, attempts)
        others = [(what, res[f"other_on_{what}_cpu_pct"]) for what in ("proxy", "client")
                  if res.get(f"other_on_{what}_cpu_pct", 0) > args.max_background
                  and not res.get("cpu_window_too_short")]
        for what, v in others:
            msg = (f"{name}: {v}% of the {what} CPU went to something other than "
                   f"the benchmark's processes during the measured run")
            if last:
                warn(msg + "; figures are suspect", res["suspect"])
            else:
                log(msg + "; measuring again")
        if not others:
            break
    return out


def add_machine_args(ap, client_cpu_help: str) -> None:
    """The options every benchmark has: where things run, quiet-CPU checks, stopping, the temp
    dir."""
    ap.add_argument("--proxy-cpu", type=int, default=0, help="CPU for the proxy (0)")
    ap.add_argument("--client-cpu", type=int, default=1, help=client_cpu_help)
    ap.add_argument("--max-background", type=float, default=10,
                    help="warn when a CPU is busier than this %% before a run (10)")
    ap.add_argument("--quiet-timeout", type=float, default=120,
                    help="wait up to this many s for other load to stop before a run (120)")
    ap.add_argument("--retries", type=int, default=2,
                    help="measure again (up to this many times) when other processes used "
                         "a CPU during a measured run (2)")
    ap.add_argument("--stop-grace", type=float, default=10,
                    help="seconds a proxy gets to exit after SIGTERM (10)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")


# process names of system instances that would compete for the CPUs ([TS_MAIN] is how ATS
# renames its main thread; cache-main is Varnish's child process)
SYSTEM_PROCS = ("varnishd", "cache-main", "traffic_server", "[TS_MAIN]", "traffic_manager")


def warn_system_instances() -> None:
    """System instances (a package's service) steal CPU and ports: say so, never stop them."""
    others = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                comm = Path(f"/proc/{d}/comm").read_text().strip()
            except OSError:
                continue
            if comm in SYSTEM_PROCS:
                others.append(f"{d} ({comm})")
    if others:
        warn(f"other varnishd / traffic_server processes are running: {', '.join(others)}; "
             f"stop the system services (systemctl stop varnish trafficserver) so they do not "
             f"take CPU time during the benchmark")


def check_cpus(args) -> None:
    """The proxy and client CPUs exist and differ; the open-file limit is raised."""
    cpus = os.sched_getaffinity(0)
    for c in (args.proxy_cpu, args.client_cpu):
        if c not in cpus:
            raise BenchError(f"CPU {c} is not available (have {sorted(cpus)})")
    if args.proxy_cpu == args.client_cpu:
        raise BenchError("--proxy-cpu and --client-cpu must differ")
    _raise_nofile()


def preflight_stavka(args, tools=("wrk", "taskset"), files=()) -> None:
    """For a benchmark of Stavka alone: the tools on PATH, args.stavka executable, `files` (the
    modules it loads) present, and the CPUs (check_cpus)."""
    for tool in tools:
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found: run scripts/setup.sh")
    if not os.access(args.stavka, os.X_OK):
        raise BenchError(f"{args.stavka} does not exist or is not executable: build Stavka first")
    for f in files:
        if not Path(f).is_file():
            raise BenchError(f"{f} not found: run scripts/modules.sh")
    check_cpus(args)


def stavka_peer(args, without_it: str) -> Peer:
    """Stavka from --stavka and --stavka-conf; without_it: the --only that leaves it out."""
    b = Path(args.stavka)
    if not os.access(b, os.X_OK):
        raise BenchError(f"{b} does not exist or is not executable: build Stavka first, "
                         f"or run with --only {without_it}")
    return StavkaPeer("stavka", b, Path(args.stavka_conf))


def alive_check(peer: Peer, res: dict):
    """check(phase): raises BenchError (recorded in res) if the peer has died by then."""
    def check(phase: str) -> None:
        if not peer.alive():
            msg = (f"{peer.name} DIED during {phase}: {exit_status_text(peer.proc.returncode)}; "
                   f"last lines of {peer.error_log()}:\n{tail(peer.error_log())}")
            res["errors"].append(msg)
            raise BenchError(msg)
    return check


def run_peer(args, peer: Peer, res: dict, body) -> dict:
    """Runs body() (which starts the peer and measures it): any failure is recorded in
    res["errors"] and warned about, and the peer is always stopped. Returns res."""
    try:
        body()
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
    s = stop(peer.proc, signal.SIGTERM, args.stop_grace, group=peer.signal_group)
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


# --------------------------------------------------------------------------------------------
# Report helpers


def fmt(v, spec: str, none: str = "-") -> str:
    return none if v is None else format(v, spec)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def environment(args, tools: dict[str, list[str]] | None = None) -> dict:
    """Kernel, CPU, tool versions (nginx, wrk and `tools`: {name: version command}), the git
    commit and the Stavka binary's SHA-256, for the JSON results."""
    env = {
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
        "nginx": run_cmd_text(["nginx", "-v"]),
        **{name: run_cmd_text(argv).splitlines()[0] if shutil.which(argv[0]) else None
           for name, argv in (tools or {}).items()},
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
# One benchmark session: signals, the work dir, the JSON results and the exit status.


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP raise KeyboardInterrupt, so the cleanup that stops every child runs."""
    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)


def make_workdir(client_cpu: int, prefix: str = "stavka-bench-") -> Path:
    """Moves the harness to the client CPU (it stays off the proxy's) and makes the temp dir
    the peers run in."""
    os.sched_setaffinity(0, {client_cpu})
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    # nginx started as root runs its workers as "nobody" (Varnish and ATS switch to their own
    # users): they must reach the files.
    workdir.chmod(0o755)
    return workdir


def cleanup_workdir(workdir: Path | None, keep: bool) -> None:
    if workdir is None:
        return
    if keep:
        log(f"kept {workdir} (configs and logs)")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def write_results(args, started: _dt.datetime, results: list[dict], table: list[str],
                  workdir: Path | None, prefix: str = "", tools: dict | None = None,
                  **extra) -> Path:
    """Writes the JSON document to args.out or bench/results/<prefix><timestamp>.json."""
    out = Path(args.out) if args.out else \
        RESULTS_DIR / f"{prefix}{started.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join([sys.executable] + sys.argv),
        "params": {k: v for k, v in vars(args).items()},
        "environment": environment(args, tools),
        "results": results,
        **extra,
        "table": table,
        "warnings": WARNINGS,
        "workdir": str(workdir) if workdir and workdir.exists() else None,
    }
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"\nresults: {out}")
    return out


def final_status(rc: int) -> int:
    """Repeats every warning; a run that finished with warnings exits 2."""
    if WARNINGS:
        print(f"\n{len(WARNINGS)} WARNING(S) — these figures are suspect:", file=sys.stderr)
        for w in WARNINGS:
            print(f"  !!! {w.splitlines()[0]}", file=sys.stderr)
        rc = rc or 2
    return rc
