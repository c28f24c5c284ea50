"""Range requests answered from stored objects (RFC 9110 §14): 206 with Content-Range, ranges
across blocks, spliced and copied, multipart/byteranges, 416, If-Range, and what takes
precedence. Every test asserts how many requests reached the origin."""

import email.utils
import time
from urllib.parse import quote

from harness import http_get, pattern

CC = "hdr=Cache-Control:max-age=3600"


def start(stavka, origin):
    return stavka(origins=[origin], workers=1,
                  config={"log": {"access": "off"}, "cache": {"block_size": "64KiB"}})


def url(n: int, *headers: str) -> str:
    extra = "".join(f"&hdr={quote(h)}" for h in headers)
    return f"/size/{n}?{CC}{extra}"


def stored(p, origin, target: str, n: int) -> None:
    before = origin.request_count
    assert p.get(target).body == pattern(n)
    assert origin.request_count == before + 1


def ranged(p, target: str, spec: str, *extra):
    return p.get(target, headers=[("Range", spec), *extra])


def is_hit(r) -> bool:
    return r.header("cache-status").startswith("stavka; hit")


def test_single_ranges_of_a_stored_object(stavka, origin):
    p = start(stavka, origin)
    n = 300_000  # five 64 KiB blocks: ranges inside one block and across boundaries
    target = url(n)
    stored(p, origin, target, n)
    for spec, first, last in [("bytes=0-99", 0, 99), ("bytes=-100", n - 100, n - 1),
                              ("bytes=299000-", 299_000, n - 1),
                              ("bytes=65000-200000", 65_000, 200_000),
                              ("bytes=65536-65536", 65_536, 65_536),
                              ("bytes=0-999999999", 0, n - 1)]:
        r = ranged(p, target, spec)
        assert r.status == 206, spec
        assert r.header("content-range") == f"bytes {first}-{last}/{n}", spec
        assert r.header("content-length") == str(last - first + 1)
        assert r.body == pattern(n)[first:last + 1], spec
        assert is_hit(r) and r.has("age")
    assert origin.request_count == 1


def test_a_range_of_a_small_object_is_copied_not_spliced(stavka, origin):
    p = start(stavka, origin)
    n = 5_000  # one block under the arena's 16 KiB: on the heap
    stored(p, origin, url(n), n)
    r = ranged(p, url(n), "bytes=4000-4999")
    assert r.status == 206 and r.body == pattern(n)[4000:]
    assert origin.request_count == 1


def test_several_ranges_come_as_multipart_byteranges(stavka, origin):
    p = start(stavka, origin)
    n = 200_000
    target = url(n, "Content-Type: video/mp4")
    stored(p, origin, target, n)
    r = ranged(p, target, "bytes=0-9, 100000-100009,-5")
    assert r.status == 206 and is_hit(r)
    ctype = r.header("content-type")
    assert ctype.startswith("multipart/byteranges; boundary=")
    assert r.header("content-range") is None
    assert int(r.header("content-length")) == len(r.body)
    boundary = ctype.split("boundary=", 1)[1].encode()
    parts = r.body.split(b"--" + boundary)
    assert parts[0] == b"\r\n" and parts[-1] == b"--\r\n"
    got = []
    for part in parts[1:-1]:
        head, body = part.split(b"\r\n\r\n", 1)
        assert body.endswith(b"\r\n")
        fields = dict(line.split(b": ", 1) for line in head.strip().split(b"\r\n"))
        assert fields[b"Content-Type"] == b"video/mp4"
        got.append((fields[b"Content-Range"].decode(), body[:-2]))
    assert got == [(f"bytes 0-9/{n}", pattern(n)[0:10]),
                   (f"bytes 100000-100009/{n}", pattern(n)[100_000:100_010]),
                   (f"bytes {n - 5}-{n - 1}/{n}", pattern(n)[n - 5:])]
    assert origin.request_count == 1


def test_overlapping_ranges_are_merged_into_one_part(stavka, origin):
    p = start(stavka, origin)
    n = 10_000
    stored(p, origin, url(n), n)
    r = ranged(p, url(n), "bytes=0-99,50-199,150-299")
    assert r.status == 206 and r.header("content-range") == f"bytes 0-299/{n}"
    assert r.body == pattern(n)[:300]
    assert origin.request_count == 1


def test_unsatisfiable_range_is_416_with_the_length(stavka, origin):
    p = start(stavka, origin)
    n = 1_000
    stored(p, origin, url(n), n)
    r = ranged(p, url(n), "bytes=1000-")
    assert r.status == 416 and r.header("content-range") == f"bytes */{n}"
    assert r.body == b"" and r.header("cache-status").startswith("stavka; hit")
    r = p.get(url(n))  # the connection and the object are fine afterwards
    assert r.status == 200 and r.body == pattern(n)
    assert origin.request_count == 1


def test_malformed_or_foreign_ranges_get_the_whole_object(stavka, origin):
    p = start(stavka, origin)
    n = 1_000
    stored(p, origin, url(n), n)
    for spec in ["bytes=5-1", "bytes=abc", "items=0-1", "bytes="]:
        r = ranged(p, url(n), spec)
        assert r.status == 200 and r.body == pattern(n), spec
    r = p.get(url(n), headers=[("Range", "bytes=0-1"), ("Range", "bytes=2-3")])
    assert r.status == 200 and r.body == pattern(n)
    assert origin.request_count == 1


def test_if_range_with_an_entity_tag(stavka, origin):
    p = start(stavka, origin)
    n = 1_000
    target = url(n, 'ETag: "v1"')
    stored(p, origin, target, n)
    r = ranged(p, target, "bytes=0-9", ("If-Range", '"v1"'))
    assert r.status == 206 and r.body == pattern(n)[:10]
    for other in ['"v2"', 'W/"v1"', "garbage"]:
        r = ranged(p, target, "bytes=0-9", ("If-Range", other))
        assert r.status == 200 and r.body == pattern(n), other
    weak = url(n, 'ETag: W/"w1"')
    stored(p, origin, weak, n)
    r = ranged(p, weak, "bytes=0-9", ("If-Range", 'W/"w1"'))
    assert r.status == 200, "a weak tag never matches If-Range"
    assert origin.request_count == 2


def test_if_range_with_a_date(stavka, origin):
    p = start(stavka, origin)
    n = 1_000
    now = time.time()
    date = email.utils.formatdate(now, usegmt=True)
    old = email.utils.formatdate(now - 3600, usegmt=True)
    recent = email.utils.formatdate(now - 10, usegmt=True)
    strong = url(n, f"Date: {date}", f"Last-Modified: {old}")
    stored(p, origin, strong, n)
    assert ranged(p, strong, "bytes=0-9", ("If-Range", old)).status == 206
    assert ranged(p, strong, "bytes=0-9", ("If-Range", recent)).status == 200
    # Modified 10 s before the response's Date: a weak validator for a cache (RFC 9110
    # §8.8.2.2 asks for 60 s), so the whole object is sent.
    weak = url(n, f"Date: {date}", f"Last-Modified: {recent}")
    stored(p, origin, weak, n)
    assert ranged(p, weak, "bytes=0-9", ("If-Range", recent)).status == 200
    assert origin.request_count == 2


def test_conditionals_come_before_range_and_head_ignores_it(stavka, origin):
    p = start(stavka, origin)
    n = 1_000
    target = url(n, 'ETag: "v1"')
    stored(p, origin, target, n)
    r = ranged(p, target, "bytes=0-9", ("If-None-Match", '"v1"'))
    assert r.status == 304
    r = p.request("HEAD", target, headers=[("Range", "bytes=0-9")])
    assert r.status == 200 and r.header("content-length") == str(n) and r.body == b""
    assert origin.request_count == 1
