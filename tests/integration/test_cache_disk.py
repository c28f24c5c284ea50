"""The disk tier through the real binary: objects survive a clean restart and a kill -9, a fill
torn by the kill is fetched again, and a byte flipped on disk is detected and never served.

Each test runs stavka on a cache.dir in its tmp_path; a restart is a new process on the same
directory (and the same port), so the memory tier starts empty and every hit comes from disk."""

import signal
import threading
from pathlib import Path

import pytest

from harness import RawConn, build_request, http_get, pattern, wait_until

CC = "hdr=Cache-Control:max-age=3600"


def disk_config(cache_dir: Path, block_size: str = "64KiB") -> dict:
    return {"log": {"access": "off"},
            "cache": {"dir": str(cache_dir), "max_size": "256MiB", "block_size": block_size}}


def start(stavka, origin, cache_dir, port=None, **kw):
    return stavka(origins=[origin], config=disk_config(cache_dir, **kw), port=port, workers=2,
                  admin=True)


def object_files(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / "objects").rglob("*") if p.is_file())


def flip_byte_in(cache_dir: Path, needle: bytes, from_offset: int = 0) -> Path:
    """Flips one byte of the stored body inside the first copy of `needle` (bytes of that
    body) at or after from_offset in the object's file. The test pattern repeats every 251
    bytes, so any offset a little past block k's start lands in block k."""
    for path in object_files(cache_dir):
        data = bytearray(path.read_bytes())
        at = data.find(needle, from_offset)
        if at >= 0:
            data[at + len(needle) // 2] ^= 0x40
            path.write_bytes(bytes(data))
            return path
    raise AssertionError(f"no object file in {cache_dir} holds those body bytes")


def is_hit(r) -> bool:
    return r.header("cache-status").startswith("stavka; hit")


def without_origin(r) -> bool:
    """A hit, or the tail of the fill that just fetched it (still publishing)."""
    return is_hit(r) or "collapsed" in r.header("cache-status")


def test_objects_survive_a_clean_restart(stavka, origin, tmp_path):
    cache_dir = tmp_path / "cache"
    p = start(stavka, origin, cache_dir)
    sizes = [100, 70_000, 300_000]
    for n in sizes:
        assert p.get(f"/size/{n}?{CC}").body == pattern(n)
    assert p.stop(signal.SIGTERM) == 0
    p = start(stavka, origin, cache_dir, port=p.port)
    for n in sizes:
        r = p.get(f"/size/{n}?{CC}")
        assert r.body == pattern(n) and is_hit(r), r.header("cache-status")
        assert r.header("content-length") == str(n)
    assert origin.request_count == len(sizes)


def torn_then_whole(origin, path: str, n: int, sent: int) -> threading.Event:
    """A cacheable object whose first response stops after `sent` of `n` bytes and holds the
    connection until the returned event is set; later responses are whole."""
    release = threading.Event()
    calls = []

    def handle(o, s, reader, req):
        o._read_body(s, reader, req)
        calls.append(req)
        o._send_head(s, 200, o._common_headers(req) + [("Cache-Control", "max-age=3600"),
                                                       ("Content-Length", str(n))])
        if len(calls) == 1:
            o._send(s, req, pattern(n)[:sent])
            release.wait(30)
            return False
        o._send(s, req, pattern(n))
        return True

    origin.handlers[path] = handle
    return release


def test_kill_9_keeps_complete_objects_and_drops_the_torn_fill(stavka, origin, tmp_path):
    cache_dir = tmp_path / "cache"
    p = start(stavka, origin, cache_dir)
    complete = [5_000, 200_000]
    for n in complete:
        assert p.get(f"/size/{n}?{CC}").body == pattern(n)
    files_of_complete = len(object_files(cache_dir))
    n = 1024 * 1024
    release = torn_then_whole(origin, "/torn", n, sent=300 * 1024)
    with RawConn(p.port) as c:
        c.send(build_request("GET", "/torn"))
        h = c.read_head()
        assert h.status == 200 and h.header("content-length") == str(n)
        assert c.wait_for_bytes(pattern(n)[290 * 1024:290 * 1024 + 64], timeout=5)
        # Sealed blocks of the fill are on disk, in a file that was never published.
        assert wait_until(lambda: len(object_files(cache_dir)) > files_of_complete, 5)
        p.signal(signal.SIGKILL)
        assert p.wait_exit() == -signal.SIGKILL
    p.expect_exit = None
    release.set()
    before = origin.request_count
    p = start(stavka, origin, cache_dir, port=p.port)
    assert len(object_files(cache_dir)) == files_of_complete, "the torn file was not removed"
    for size in complete:
        r = p.get(f"/size/{size}?{CC}")
        assert r.body == pattern(size) and is_hit(r), r.header("cache-status")
    assert origin.request_count == before
    # The torn object was never published: fetched again, whole, then served without the
    # origin (a hit, or the tail of that fill while it publishes).
    r = p.get("/torn")
    assert r.status == 200 and r.body == pattern(n) and not is_hit(r)
    assert origin.request_count == before + 1
    r = p.get("/torn")
    assert r.body == pattern(n) and without_origin(r), r.header("cache-status")
    assert origin.request_count == before + 1


def test_a_flipped_byte_in_the_first_block_is_refetched_not_served(stavka, origin, tmp_path):
    cache_dir = tmp_path / "cache"
    p = start(stavka, origin, cache_dir)
    n = 20_000
    assert p.get(f"/size/{n}?{CC}").body == pattern(n)
    assert p.stop(signal.SIGTERM) == 0
    flip_byte_in(cache_dir, pattern(n)[:64])
    p = start(stavka, origin, cache_dir, port=p.port)
    r = p.get(f"/size/{n}?{CC}")
    assert r.status == 200 and r.body == pattern(n)
    assert not is_hit(r)
    assert origin.request_count == 2
    r = p.get(f"/size/{n}?{CC}")
    assert r.body == pattern(n) and without_origin(r), r.header("cache-status")
    assert origin.request_count == 2


def test_a_flipped_byte_found_before_the_first_byte_is_refetched_whole(stavka, origin, tmp_path):
    """Stored blocks go out in batches of up to 1 MiB (spliced together): a corrupt block in
    the first batch is found before anything was sent, so the client gets the whole body from
    the origin instead of a cut one."""
    cache_dir = tmp_path / "cache"
    p = start(stavka, origin, cache_dir)
    n = 300_000  # five 64 KiB blocks
    assert p.get(f"/size/{n}?{CC}").body == pattern(n)
    assert p.stop(signal.SIGTERM) == 0
    # Past block 3's start (3 blocks of 64 KiB, plus their small record headers).
    flip_byte_in(cache_dir, pattern(n)[:64], from_offset=3 * 65536 + 8192)
    p = start(stavka, origin, cache_dir, port=p.port)
    r = p.get(f"/size/{n}?{CC}")
    assert r.status == 200 and r.body == pattern(n) and not is_hit(r)
    assert origin.request_count == 2
    r = p.get(f"/size/{n}?{CC}")
    assert r.body == pattern(n) and without_origin(r), r.header("cache-status")
    assert origin.request_count == 2


def test_a_flipped_byte_past_the_first_megabyte_truncates_and_drops_the_object(
        stavka, origin, tmp_path):
    cache_dir = tmp_path / "cache"
    p = start(stavka, origin, cache_dir)
    n = 1_600_000  # 25 blocks of 64 KiB; the first 16 (1 MiB) go out before block 20 is read
    assert p.get(f"/size/{n}?{CC}").body == pattern(n)
    assert p.stop(signal.SIGTERM) == 0
    flip_byte_in(cache_dir, pattern(n)[:64], from_offset=20 * 65536 + 8192)
    p = start(stavka, origin, cache_dir, port=p.port)
    with RawConn(p.port) as c:
        c.send(build_request("GET", f"/size/{n}?{CC}"))
        h = c.read_head()
        assert h.status == 200 and h.header("content-length") == str(n)
        got = bytearray()
        with pytest.raises(Exception):
            c.stream_body(h, got.extend)
        assert 1 << 20 <= len(got) < n, "a corrupt block was served as part of a whole body"
        assert bytes(got) == pattern(n)[:len(got)]
    r = p.get(f"/size/{n}?{CC}")
    assert r.body == pattern(n) and not is_hit(r)
    assert origin.request_count == 2


def test_disk_tier_metrics(stavka, origin, tmp_path):
    cache_dir = tmp_path / "cache"
    p = start(stavka, origin, cache_dir)
    assert p.get(f"/size/100000?{CC}").status == 200

    def scrape() -> dict[str, float]:
        body = http_get(p.admin_port, "/metrics").body.decode()
        return {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1])
                for l in body.splitlines() if l and not l.startswith("#")}

    # The client had its body before the object was published.
    assert wait_until(lambda: scrape()['stavka_cache_objects{tier="disk"}'] == 1, 5)
    lines = scrape()
    assert lines['stavka_cache_objects{tier="disk"}'] == 1
    assert lines['stavka_cache_bytes{tier="disk"}'] >= 100_000
    assert lines['stavka_cache_capacity_bytes{tier="disk"}'] == 256 * 1024 * 1024


def test_an_unusable_cache_dir_is_a_precise_start_error(stavka, origin, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    p = stavka(origins=[origin], config=disk_config(blocker), expect_exit=1, wait=False)
    assert p.wait_exit() == 1
    assert p.wait_stderr(lambda line: str(blocker) in line and "error" in line)
