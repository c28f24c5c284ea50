"""Block-aligned range caching: a range of an object not stored whole is fetched from the block
boundary before it, up to the block after its end plus the read-ahead, stored block by block, and
served from storage for the blocks present and from range fills for the others. Every test
asserts the Range the origin was asked for, how many requests and body bytes reached it, and the
bytes the client got.

Block size 64 KiB and read-ahead 128 KiB unless a test says otherwise. The test origin's
/ranged/N path honours one range (harness.Origin)."""

import signal
import socket
import threading
import time

import pytest

from harness import IncompleteResponse, RawConn, build_request, http_get, pattern, wait_until

KiB = 1024
BLOCK = 64 * KiB
READAHEAD = 128 * KiB
CC = "hdr=Cache-Control:max-age=3600"


def start(stavka, origin, cache=None, site=None):
    s = {"name": "s", "hosts": ["*"], "origins": [origin.url], **(site or {})}
    return stavka(sites=[s], workers=1, admin=True,
                  config={"log": {"access": "off"},
                          "cache": {"block_size": "64KiB", "readahead": "128KiB",
                                    **(cache or {})}})


def scrape(p) -> dict[str, float]:
    body = http_get(p.admin_port, "/metrics").body.decode()
    return {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1])
            for l in body.splitlines() if l and not l.startswith("#")}


def target(n: int, extra: str = "") -> str:
    return f"/ranged/{n}?{CC}{extra}"


def ranged(p, t: str, spec: str, *extra):
    return p.get(t, headers=[("Range", spec), *extra])


def asked(origin) -> list:
    return [q.header("range") for q in origin.requests]


def settled(origin) -> int:
    """Body bytes the origin sent, once fills have stopped sending."""
    last = -1
    while True:
        total = sum(q.body_sent for q in origin.requests)
        if total == last:
            return total
        last = total
        time.sleep(0.15)


def check_206(r, n: int, first: int, last: int):
    assert r.status == 206, r.status
    assert r.header("content-range") == f"bytes {first}-{last}/{n}"
    assert r.header("content-length") == str(last - first + 1)
    assert r.body == pattern(last - first + 1, first)


def status_of(r) -> str:
    return r.header("cache-status")


def test_a_cold_range_is_fetched_from_the_block_boundary_with_read_ahead(stavka, origin):
    p = start(stavka, origin)
    n = 1_000_000
    r = ranged(p, target(n), "bytes=200000-209999")
    check_206(r, n, 200_000, 209_999)
    assert "fwd=uri-miss" in status_of(r) and "stored" in status_of(r)
    # 200000 floored to 196608 (block 3); 209999 rounded up to 262144, plus 128 KiB
    assert asked(origin) == ["bytes=196608-393215"]
    assert settled(origin) == 393_216 - 196_608
    # The fill may still be storing its read-ahead blocks (a sanitizer build is slow): a range
    # read from the fill is a partial hit, not a hit. Wait for it to end.
    assert wait_until(lambda: scrape(p)["stavka_cache_fills_in_progress"] == 0)
    # The same range, and any other inside what was fetched: no origin request.
    for first, last in [(200_000, 209_999), (196_608, 393_215), (300_000, 300_000)]:
        r = ranged(p, target(n), f"bytes={first}-{last}")
        check_206(r, n, first, last)
        assert status_of(r).startswith("stavka; hit")
    assert origin.request_count == 1
    m = scrape(p)
    assert m["stavka_cache_range_fill_bytes_total"] == 196_608
    assert m["stavka_cache_readahead_bytes_total"] == 393_216 - 210_000
    assert m["stavka_cache_range_fills_total"] == 1


def test_read_ahead_is_capped_at_the_object_and_can_be_off(stavka, origin):
    p = start(stavka, origin, cache={"readahead": 0})
    n = 300_000
    check_206(ranged(p, target(n), "bytes=70000-70009"), n, 70_000, 70_009)
    assert asked(origin) == ["bytes=65536-131071"]
    check_206(ranged(p, target(n), "bytes=290000-"), n, 290_000, n - 1)
    assert asked(origin)[1] == "bytes=262144-"
    assert settled(origin) == 65_536 + (n - 262_144)


def test_the_site_sets_block_size_and_read_ahead(stavka, origin):
    p = start(stavka, origin, site={"block_size": "16KiB", "readahead": "32KiB"})
    n = 500_000
    check_206(ranged(p, target(n), "bytes=40000-40099"), n, 40_000, 40_099)
    # 40000 floored to 32768; 40099 rounded up to 49152, plus 32 KiB
    assert asked(origin) == ["bytes=32768-81919"]


def test_the_first_byte_leaves_before_its_block_is_complete(stavka, origin):
    """The client's first byte is sent when it arrives, not when its block does: at a slow
    origin, the first byte reaches the client long before the block it is in is complete."""
    p = start(stavka, origin)
    n = 1_000_000
    rate = 64 * KiB  # bytes/s: one block takes a second
    with RawConn(p.port) as c:
        c.send(build_request("GET", target(n, f"&rate={rate}"),
                             [("Host", "stavka.test"), ("Range", "bytes=70000-70099")]))
        head = c.read_head()
        assert head.status == 206
        sent_at_head = sum(q.body_sent for q in origin.requests)
        body = c.read_body(head)
    assert body.body == pattern(100, 70_000)
    assert asked(origin) == ["bytes=65536-262143"]
    # 70000 - 65536 = 4464 bytes had to come first (the origin sends 16 KiB pieces, one per
    # quarter second here); the block is 65536 bytes
    assert 4_464 <= sent_at_head < 40_000


def test_an_open_ended_range_and_then_the_whole_object(stavka, origin):
    p = start(stavka, origin)
    n = 700_000
    check_206(ranged(p, target(n), "bytes=500000-"), n, 500_000, n - 1)
    assert asked(origin) == ["bytes=458752-"]
    settled(origin)
    # A whole GET: the blocks before 458752 are fetched, the others come from storage.
    r = p.get(target(n))
    assert r.status == 200 and r.body == pattern(n)
    assert "fwd=partial" in status_of(r)
    assert asked(origin)[1] == "bytes=0-458751"
    settled(origin)
    r = p.get(target(n))
    assert r.status == 200 and r.body == pattern(n) and status_of(r).startswith("stavka; hit")
    assert origin.request_count == 2
    assert settled(origin) == n
    assert scrape(p)["stavka_cache_partial_hits_total"] == 1


def test_only_the_missing_blocks_between_stored_ones_are_fetched(stavka, origin):
    p = start(stavka, origin, cache={"readahead": 0})
    n = 1_000_000
    check_206(ranged(p, target(n), "bytes=0-100"), n, 0, 100)             # block 0
    check_206(ranged(p, target(n), "bytes=327680-327700"), n, 327_680, 327_700)  # block 5
    settled(origin)  # both stored
    r = ranged(p, target(n), "bytes=1000-400000")
    check_206(r, n, 1_000, 400_000)
    assert "fwd=partial" in status_of(r)
    # blocks 1-4 (one fill, ending where block 5 begins), then block 6
    assert asked(origin) == ["bytes=0-65535", "bytes=327680-393215", "bytes=65536-327679",
                             "bytes=393216-458751"]


def test_several_ranges_of_a_cold_object_are_multipart(stavka, origin):
    p = start(stavka, origin, cache={"readahead": 0})
    n = 1_000_000
    r = ranged(p, target(n), "bytes=10-19,600000-600009")
    assert r.status == 206
    ctype = r.header("content-type")
    assert ctype.startswith("multipart/byteranges; boundary=")
    boundary = ctype.split("boundary=", 1)[1].encode()
    parts = r.body.split(b"--" + boundary)[1:-1]
    got = []
    for part in parts:
        head, body = part.split(b"\r\n\r\n", 1)
        fields = dict(line.split(b": ", 1) for line in head.strip().split(b"\r\n"))
        assert fields[b"Content-Type"] == b"video/mp4"
        got.append((fields[b"Content-Range"].decode(), body[:-2]))
    assert got == [(f"bytes 10-19/{n}", pattern(10, 10)),
                   (f"bytes 600000-600009/{n}", pattern(10, 600_000))]
    assert int(r.header("content-length")) == len(r.body)
    assert asked(origin) == ["bytes=0-65535", "bytes=589824-655359"]
    settled(origin)  # a block is stored just after its last byte went out
    r = ranged(p, target(n), "bytes=10-19,600000-600009")
    assert r.status == 206 and status_of(r).startswith("stavka; hit")
    assert origin.request_count == 2


def test_unsatisfiable_ranges_are_416(stavka, origin):
    p = start(stavka, origin)
    n = 100_000
    r = ranged(p, target(n), "bytes=200000-")  # cold: the origin's 416 passes through
    assert r.status == 416 and r.header("content-range") == f"bytes */{n}"
    check_206(ranged(p, target(n), "bytes=0-9"), n, 0, 9)
    requests = origin.request_count
    r = ranged(p, target(n), "bytes=100000-")  # known length: answered from the blocks
    assert r.status == 416 and r.header("content-range") == f"bytes */{n}"
    assert origin.request_count == requests


def test_if_range_decides_between_the_range_and_the_whole_object(stavka, origin):
    p = start(stavka, origin)
    n = 150_000
    t = target(n, '&etag="v1"')
    check_206(ranged(p, t, "bytes=0-9"), n, 0, 9)
    check_206(ranged(p, t, "bytes=0-9", ("If-Range", '"v1"')), n, 0, 9)
    r = ranged(p, t, "bytes=0-9", ("If-Range", '"v0"'))
    assert r.status == 200 and r.body == pattern(n)
    # Every block was fetched by the first range. (Once, under a sanitizer build, the origin
    # saw a second request here; the Cache-Status says how the whole response was served.)
    assert origin.request_count == 1, f"Cache-Status: {status_of(r)}; origin asked {asked(origin)}"


def test_a_whole_request_joins_a_range_fill_that_has_stored_nothing_yet(stavka, origin):
    p = start(stavka, origin)
    n = 150_000
    t = target(n, "&rate=100000")  # paced: block 0 is whole only after about 0.65 s
    check_206(ranged(p, t, "bytes=0-9"), n, 0, 9)
    r = p.get(t)  # no block stored yet, but the range fill will fetch them all
    assert r.status == 200 and r.body == pattern(n)
    assert asked(origin) == ["bytes=0-196607"], f"Cache-Status: {status_of(r)}"
    assert settled(origin) == n


def test_an_origin_that_ignores_range_is_skipped_and_stopped(stavka, origin):
    p = start(stavka, origin)
    n = 4_000_000
    rate = 4_000_000  # paced, so the bytes in flight when Stavka stops stay few
    t = target(n, f"&ignore=1&rate={rate}")
    check_206(ranged(p, t, "bytes=100000-100099"), n, 100_000, 100_099)
    # Blocks 0 to 3 hold the range and the read-ahead; then Stavka closes that connection.
    assert wait_until(lambda: origin.requests[0].peer_closed.is_set(), 5)
    assert settled(origin) < 1_000_000
    for first, last in [(0, 99), (150_000, 262_143)]:
        check_206(ranged(p, t, f"bytes={first}-{last}"), n, first, last)
    assert origin.request_count == 1


def test_a_site_can_fill_whole_objects_when_the_origin_ignores_range(stavka, origin):
    p = start(stavka, origin, site={"fill_whole_objects": True})
    n = 1_000_000
    t = target(n, "&ignore=1")
    check_206(ranged(p, t, "bytes=100-199"), n, 100, 199)
    assert settled(origin) == n
    check_206(ranged(p, t, f"bytes={n - 100}-"), n, n - 100, n - 1)
    r = p.get(t)
    assert r.status == 200 and r.body == pattern(n)
    assert origin.request_count == 1


def test_a_changed_validator_drops_the_old_blocks(stavka, origin):
    """cache_ignore_query makes ?etag=... the same key: the origin's object 'changes'."""
    p = start(stavka, origin, cache={"readahead": 0}, site={"cache_ignore_query": True})
    n = 1_000_000
    v1, v2 = target(n, '&etag="v1"'), target(n, '&etag="v2"')
    # Each step waits until the fills before it have stored their blocks and left.
    check_206(ranged(p, v1, "bytes=0-9"), n, 0, 9)              # block 0, v1
    settled(origin)
    check_206(ranged(p, v2, "bytes=200000-200009"), n, 200_000, 200_009)  # block 3, v2
    settled(origin)
    assert origin.request_count == 2
    # block 0 of v1 went when v2 arrived: asked again, and answered with v2
    r = ranged(p, v2, "bytes=0-9")
    check_206(r, n, 0, 9)
    assert r.header("etag") == '"v2"' and origin.request_count == 3
    settled(origin)
    # A response that began with stored v2 blocks and meets v1 at the origin is cut.
    with pytest.raises(IncompleteResponse):
        ranged(p, v1, "bytes=0-300000")
    settled(origin)
    r = ranged(p, v1, "bytes=0-9")  # the v2 blocks are gone, v1 is stored now
    check_206(r, n, 0, 9)
    assert r.header("etag") == '"v1"'


def test_overlapping_ranges_share_the_blocks_they_have_in_common(stavka, origin):
    p = start(stavka, origin, cache={"readahead": 0})
    n = 2_000_000
    rate = 256 * KiB  # slow enough that both requests are in flight together
    t = target(n, f"&rate={rate}")
    results = {}

    def get(name, spec):
        results[name] = ranged(p, t, spec)

    a = threading.Thread(target=get, args=("a", "bytes=0-199999"))
    a.start()
    assert wait_until(lambda: origin.request_count == 1, 5)
    b = threading.Thread(target=get, args=("b", "bytes=100000-299999"))
    b.start()
    a.join(10)
    b.join(10)
    check_206(results["a"], n, 0, 199_999)
    check_206(results["b"], n, 100_000, 299_999)
    assert "collapsed" in status_of(results["b"]) or origin.request_count == 2
    # a's fill covers blocks 0-3; b joins it, and only block 4 is fetched for b alone
    assert asked(origin) == ["bytes=0-262143", "bytes=262144-327679"]


def test_uncacheable_ranges_pass_through(stavka, origin):
    p = start(stavka, origin)
    n = 300_000
    t = f"/ranged/{n}?hdr=Cache-Control:private"
    for _ in range(2):
        check_206(ranged(p, t, "bytes=1000-1999"), n, 1_000, 1_999)
    # the first range fill learns it is not storable; the client's range goes as it is
    assert asked(origin) == ["bytes=0-196607", "bytes=1000-1999", "bytes=1000-1999"]


def test_a_response_without_validator_is_not_stored_as_blocks(stavka, origin):
    p = start(stavka, origin)
    n = 100_000
    t = target(n, "&etag=none")
    check_206(ranged(p, t, "bytes=10-19"), n, 10, 19)
    assert asked(origin) == ["bytes=0-100000 ".strip().replace("100000", "196607"),
                             "bytes=10-19"]
    check_206(ranged(p, t, "bytes=10-19"), n, 10, 19)
    assert origin.request_count == 4
    # Last-Modified is a validator too
    t = target(n, "&etag=none&lm=1")
    check_206(ranged(p, t, "bytes=10-19"), n, 10, 19)
    check_206(ranged(p, t, "bytes=10-19"), n, 10, 19)
    assert origin.request_count == 5


def test_an_unsafe_method_drops_the_blocks(stavka, origin):
    p = start(stavka, origin)
    n = 100_000
    check_206(ranged(p, target(n), "bytes=0-9"), n, 0, 9)
    settled(origin)  # the fill has stored its blocks and left
    assert p.request("POST", target(n), body=b"x").status == 200
    check_206(ranged(p, target(n), "bytes=0-9"), n, 0, 9)
    assert [q.method for q in origin.requests] == ["GET", "POST", "GET"]


def test_a_client_that_leaves_stops_the_fill_at_its_read_ahead(stavka, origin):
    p = start(stavka, origin)
    n = 8_000_000
    rate = 2_000_000
    t = target(n, f"&rate={rate}")
    c = socket.create_connection(("127.0.0.1", p.port))
    c.sendall(build_request("GET", t, [("Host", "stavka.test"), ("Range", "bytes=0-")]))
    assert c.recv(1000).startswith(b"HTTP/1.1 206")
    c.close()
    # Open-ended: the fill stays one read-ahead past what was read, and stops without a reader.
    assert wait_until(lambda: origin.requests[0].peer_closed.is_set(), 5)
    assert settled(origin) < 2_000_000


def test_blocks_survive_a_restart_on_the_disk_tier(stavka, origin, tmp_path):
    s = {"name": "s", "hosts": ["*"], "origins": [origin.url]}
    cfg = {"log": {"access": "off"},
           "cache": {"dir": str(tmp_path / "cache"), "max_size": "64MiB", "memory": 0,
                     "block_size": "64KiB", "readahead": 0}}
    p = stavka(sites=[s], workers=1, config=cfg)
    n = 1_000_000
    check_206(ranged(p, target(n), "bytes=100000-200000"), n, 100_000, 200_000)
    settled(origin)
    assert p.stop(signal.SIGTERM) == 0
    p = stavka(sites=[s], workers=1, config=cfg, port=p.port)
    r = ranged(p, target(n), "bytes=131072-196607")  # block 2, read back from disk
    check_206(r, n, 131_072, 196_607)
    assert status_of(r).startswith("stavka; hit")
    r = ranged(p, target(n), "bytes=60000-270000")  # blocks 1-3 stored; 0 and 4 fetched
    check_206(r, n, 60_000, 270_000)
    assert "fwd=partial" in status_of(r)
    assert asked(origin) == ["bytes=65536-262143", "bytes=0-65535", "bytes=262144-327679"]
