"""Zero-copy hits (cache.zero_copy): stored blocks of 16 KiB and more are spliced from the block
arena to the client socket. Asserted on the bytes clients receive and on the splice counter;
the last test checks the one hazard of splicing: pages still in socket buffers when their block
is freed and its space reused must keep the bytes that were sent."""

import socket
import threading

from harness import RawConn, build_request, http_get, pattern, wait_until

CC = "hdr=Cache-Control:max-age=3600"


def scrape(p) -> dict[str, float]:
    body = http_get(p.admin_port, "/metrics").body.decode()
    return {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1])
            for l in body.splitlines() if l and not l.startswith("#")}


def start(stavka, origin, zero_copy=True, block_size="64KiB"):
    return stavka(origins=[origin], workers=1, admin=True,
                  config={"log": {"access": "off"},
                          "cache": {"block_size": block_size, "zero_copy": zero_copy}})


def test_large_hits_are_spliced_and_small_ones_copied(stavka, origin):
    p = start(stavka, origin)
    big, small = 300_000, 4_000
    for n in (big, small):
        assert p.get(f"/size/{n}?{CC}").body == pattern(n)
    assert wait_until(lambda: scrape(p)['stavka_cache_objects{tier="memory"}'] == 2, 5)
    before = scrape(p)["stavka_client_bytes_spliced_total"]
    r = p.get(f"/size/{big}?{CC}")
    assert r.body == pattern(big) and r.header("cache-status").startswith("stavka; hit")
    after = scrape(p)
    assert big < after["stavka_client_bytes_spliced_total"] - before < big + 1024, \
        "the head and the whole body go out by splice"
    assert after["stavka_block_arena_bytes"] >= big
    r = p.get(f"/size/{small}?{CC}")
    assert r.body == pattern(small) and r.header("cache-status").startswith("stavka; hit")
    assert scrape(p)["stavka_client_bytes_spliced_total"] == after["stavka_client_bytes_spliced_total"]
    assert origin.request_count == 2


def test_with_zero_copy_off_hits_are_copied(stavka, origin):
    p = start(stavka, origin, zero_copy=False)
    n = 300_000
    assert p.get(f"/size/{n}?{CC}").body == pattern(n)
    r = p.get(f"/size/{n}?{CC}")
    assert r.body == pattern(n) and r.header("cache-status").startswith("stavka; hit")
    m = scrape(p)
    assert m["stavka_client_bytes_spliced_total"] == 0
    assert "stavka_block_arena_bytes" not in m
    assert origin.request_count == 1


def test_a_slow_client_gets_a_large_hit_whole(stavka, origin):
    """The socket fills up again and again: the spliced send waits for it (io_uring poll)."""
    p = start(stavka, origin, block_size="1MiB")
    n = 24 * 1024 * 1024
    assert p.get(f"/size/{n}?{CC}").body == pattern(n)
    with RawConn(p.port) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        c.send(build_request("GET", f"/size/{n}?{CC}"))
        h = c.read_head()
        assert h.status == 200 and h.header("cache-status").startswith("stavka; hit")
        got = bytearray()
        c.stream_body(h, got.extend)
    assert bytes(got) == pattern(n)
    assert origin.request_count == 1


def versioned(origin, path: str, n: int, first: str = "A") -> list[int]:
    """A cacheable object of n bytes whose every response is a new version: all bytes of
    version k are the letter chr(ord(first) + k). Returns the list of versions served."""
    served: list[int] = []

    def handle(o, s, reader, req):
        o._read_body(s, reader, req)
        version = len(served)
        served.append(version)
        o._send_head(s, 200, o._common_headers(req) + [("Cache-Control", "max-age=3600"),
                                                       ("Content-Length", str(n))])
        o._send(s, req, bytes([ord(first) + version]) * n)
        return True

    origin.handlers[path] = handle
    return served


def test_bytes_in_flight_survive_their_blocks_being_freed_and_reused(stavka, origin):
    """A client that stops reading holds spliced arena pages in its socket buffers. The object
    is then replaced (its blocks freed) and another object is stored (taking the freed space):
    the slow client must still receive the old version's bytes, every one of them."""
    p = start(stavka, origin)
    n = 512 * 1024  # eight 64 KiB blocks
    served = versioned(origin, "/v", n)
    assert http_get(p.port, "/v").body == b"A" * n
    spliced = scrape(p)["stavka_client_bytes_spliced_total"]

    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    slow.connect(("127.0.0.1", p.port))
    slow.sendall(build_request("GET", "/v"))
    # Every byte of the hit handed to the kernel, none read by the client yet: the response is
    # complete on Stavka's side and no longer holds the object.
    assert wait_until(lambda: scrape(p)["stavka_client_bytes_spliced_total"] - spliced > n, 5), \
        "the client's socket buffers did not take the whole object"

    # Version B replaces A (A's blocks are freed and punched); X, of another URL, takes their
    # space.
    r = http_get(p.port, "/v", headers=[("Cache-Control", "no-cache")])
    assert r.body == b"B" * n
    served_w = versioned(origin, "/w", n, first="X")
    assert http_get(p.port, "/w").body == b"X" * n and served_w == [0]
    assert http_get(p.port, "/w").header("cache-status").startswith("stavka; hit")

    got = bytearray()
    slow.settimeout(10)
    while b"\r\n\r\n" not in got or len(got) < got.index(b"\r\n\r\n") + 4 + n:
        chunk = slow.recv(1 << 20)
        if not chunk:
            break
        got.extend(chunk)
    slow.close()
    body = bytes(got[got.index(b"\r\n\r\n") + 4:])
    assert len(body) == n
    assert body == b"A" * n, "bytes already sent changed after their blocks were reused"
    assert served == [0, 1]
