"""Fixtures for Stavka's integration tests.

* ``stavka_bin``: path of the binary (env STAVKA_BIN, else <repo>/build/stavka).
* ``origin_factory`` / ``origin``: recording origin servers (harness.Origin), stopped on teardown.
* ``stavka``: a factory that writes a TOML config into the test's tmp dir, starts
  ``stavka run --config FILE``, waits for the port and returns a harness.StavkaProcess.
  On teardown every process still running gets SIGTERM and must exit 0 (or the test's
  ``expect_exit``); a crash during the test therefore fails it.
* ``proxy``: ``stavka(origins=[origin])`` with the default test config.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Optional

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import (  # noqa: E402
    LOCALHOST, Origin, StavkaProcess, deep_merge, free_port, toml_dumps,
)

REPO = Path(__file__).resolve().parents[2]

# Short timeouts so that timeout tests finish quickly; tests that need others override them.
DEFAULT_TIMEOUTS = {
    "client_header": "5s",
    "client_idle": "10s",
    "client_body": "5s",
    "client_send": "5s",
    "origin_connect": "2s",
    "origin_first_byte": "2s",
    "origin_read": "5s",
    "origin_idle": "10s",
    "shutdown_grace": "5s",
}


def base_config(port: int, sites: list[dict], workers: int = 2) -> dict:
    return {
        "workers": workers,
        "listen": [f"{LOCALHOST}:{port}"],
        "timeouts": dict(DEFAULT_TIMEOUTS),
        "log": {"access": "stdout", "format": "text"},
        "site": sites,
    }


def _origin_urls(origins) -> list[str]:
    return [o.url if isinstance(o, Origin) else str(o) for o in origins]


@pytest.fixture(scope="session")
def stavka_bin() -> str:
    path = os.environ.get("STAVKA_BIN") or str(REPO / "build" / "stavka")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"stavka binary not found at {path} (build it, or set STAVKA_BIN)",
                    pytrace=False)
    return path


@pytest.fixture
def origin_factory():
    made: list[Origin] = []

    def make(name: Optional[str] = None) -> Origin:
        o = Origin(name or f"origin{len(made) + 1}")
        made.append(o)
        return o

    yield make
    for o in made:
        o.stop()
    errors = [f"{o.name}: {e}" for o in made for e in o.errors]
    assert not errors, f"test origin saw protocol errors: {errors}"


@pytest.fixture
def origin(origin_factory) -> Origin:
    return origin_factory("A")


class StavkaFactory:
    def __init__(self, binary: str, tmp_path: Path):
        self.binary = binary
        self.tmp = tmp_path
        self.procs: list[StavkaProcess] = []
        self.n = 0

    def config(self, *, origins=None, sites=None, config: Optional[dict] = None,
               port: Optional[int] = None, workers: int = 2) -> tuple[dict, int]:
        port = port or free_port()
        if sites is None:
            sites = [{"name": "default", "hosts": ["*"], "origins": _origin_urls(origins or [])}]
        else:
            sites = [dict(s, origins=_origin_urls(s["origins"])) if "origins" in s else dict(s)
                     for s in sites]
        cfg = base_config(port, sites, workers)
        if config:
            deep_merge(cfg, config)
        return cfg, port

    def new_config_path(self) -> Path:
        self.n += 1
        return self.tmp / f"stavka-{self.n}.toml"

    def __call__(self, *, origins=None, sites=None, config: Optional[dict] = None,
                 port: Optional[int] = None, workers: int = 2, admin: bool = False,
                 expect_exit: Optional[int] = 0, extra_args: Optional[list[str]] = None,
                 wait: bool = True, env: Optional[dict] = None) -> StavkaProcess:
        cfg, port = self.config(origins=origins, sites=sites, config=config, port=port,
                                workers=workers)
        admin_port = None
        if admin:
            admin_port = free_port()
            cfg["admin_listen"] = f"{LOCALHOST}:{admin_port}"
        path = self.new_config_path()
        path.write_text(toml_dumps(cfg))
        argv = [self.binary, "run", "--config", str(path)] + (extra_args or [])
        p = self.spawn(argv, port=port, admin_port=admin_port, config_path=path,
                       expect_exit=expect_exit, wait=wait, env=env)
        p.config = cfg
        return p

    def spawn(self, argv: list[str], *, port: Optional[int], admin_port: Optional[int] = None,
              config_path: Optional[Path] = None, expect_exit: Optional[int] = 0,
              wait: bool = True, env: Optional[dict] = None) -> StavkaProcess:
        if argv[0] != self.binary:
            argv = [self.binary] + argv
        p = StavkaProcess(argv, port, config_path=config_path, admin_port=admin_port,
                          expect_exit=expect_exit, cwd=str(self.tmp), env=env)
        self.procs.append(p)
        if wait:
            p.wait_ready()
        return p

    def teardown(self) -> list[str]:
        problems = []
        for p in self.procs:
            was_running = p.alive()
            rc = p.stop(signal.SIGTERM, timeout=15)
            if rc is None:
                problems.append(f"{p.argv}: did not exit within 15s of SIGTERM (killed)\n{p.logs()}")
            elif p.expect_exit is not None and rc != p.expect_exit:
                how = "on SIGTERM at teardown" if was_running else "during the test"
                problems.append(f"{p.argv}: exited {how} with {rc}, expected {p.expect_exit}\n{p.logs()}")
        return problems


@pytest.fixture
def stavka(stavka_bin, tmp_path, request):
    f = StavkaFactory(stavka_bin, tmp_path)
    request.node._stavka_factory = f
    yield f
    problems = f.teardown()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def proxy(stavka, origin) -> StavkaProcess:
    return stavka(origins=[origin])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        f = getattr(item, "_stavka_factory", None)
        if f is not None:
            for i, p in enumerate(f.procs):
                rep.sections.append((f"stavka[{i}] {' '.join(p.argv[1:])}", p.logs()))
