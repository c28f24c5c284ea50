"""Large bodies stream through with bounded proxy memory, in both directions.

The slow side is always the receiver (a client reading at RATE, or an origin reading at
RATE) while the sender goes as fast as it can: a proxy that buffered instead of applying
back-pressure would grow by most of the 100 MB. The proxy's RSS is sampled from
/proc/PID/status while the transfer runs; growth over the post-warm-up baseline must stay
under 20 MB."""

import hashlib
import threading
import time

import pytest

from harness import (MiB, RawConn, RssSampler, build_request, iter_pattern, pattern_sha256)

SIZE = 100 * MiB
RATE = 40 * MiB          # bytes/s of the slow receiver: ~2.5 s per transfer
MAX_GROWTH = 20 * MiB


@pytest.fixture
def stream_proxy(stavka, origin):
    p = stavka(origins=[origin], config={"log": {"access": "off"},
                                         "timeouts": {"client_send": "10s", "origin_read": "10s",
                                                      "client_body": "10s"}})
    # Warm up both directions so lazily allocated buffers count in the baseline.
    for _ in range(3):
        with RawConn(p.port) as c:
            c.send(build_request("GET", f"/size/{8 * MiB}"))
            h = c.read_head()
            c.stream_body(h, lambda b: None)
        with RawConn(p.port) as c:
            c.send(build_request("POST", "/echo", headers=[("Content-Length", str(8 * MiB))]))
            for piece in iter_pattern(8 * MiB, MiB):
                c.send(piece)
            assert c.read_final_response().status == 200
    time.sleep(0.3)
    return p


def download(p, target: str) -> tuple[int, str, int, int]:
    baseline = p.rss()
    h = hashlib.sha256()
    with RssSampler(p.pid) as s, RawConn(p.port, timeout=30) as c:
        c.send(build_request("GET", target))
        head = c.read_head()
        assert head.status == 200
        n = c.stream_body(head, h.update, rate=RATE)
    return n, h.hexdigest(), baseline, s.max


def upload(p, target: str, chunked: bool) -> tuple[dict, int, int]:
    baseline = p.rss()
    errors = []
    with RssSampler(p.pid) as s, RawConn(p.port, timeout=60) as c:
        framing = ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(SIZE))
        c.send(build_request("POST", target, headers=[framing]))

        def sender():
            try:
                for piece in iter_pattern(SIZE, MiB):
                    if chunked:
                        c.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    else:
                        c.send(piece)
                if chunked:
                    c.send(b"0\r\n\r\n")
            except OSError as e:
                errors.append(e)

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        r = c.read_final_response("POST")
        t.join(30)
    assert not errors, f"upload failed: {errors}"
    assert r.status == 200
    return r.json(), baseline, s.max


def test_download_100mb_content_length_bounded_memory(stream_proxy):
    n, digest, base, peak = download(stream_proxy, f"/size/{SIZE}")
    assert n == SIZE
    assert digest == pattern_sha256(SIZE)
    growth = peak - base
    print(f"RSS baseline {base / MiB:.1f} MiB, peak {peak / MiB:.1f} MiB, growth {growth / MiB:.1f} MiB")
    assert growth < MAX_GROWTH, f"proxy RSS grew by {growth / MiB:.1f} MiB during a 100 MiB download to a slow reader"


def test_download_100mb_chunked_bounded_memory(stream_proxy):
    n, digest, base, peak = download(stream_proxy, f"/chunked?count={SIZE // 65536}&size=65536")
    assert n == SIZE
    assert digest == pattern_sha256(SIZE)
    growth = peak - base
    print(f"RSS baseline {base / MiB:.1f} MiB, peak {peak / MiB:.1f} MiB, growth {growth / MiB:.1f} MiB")
    assert growth < MAX_GROWTH, f"proxy RSS grew by {growth / MiB:.1f} MiB during a 100 MiB chunked download"


def test_upload_100mb_content_length_bounded_memory(stream_proxy, origin):
    info, base, peak = upload(stream_proxy, f"/slowread?rate={RATE}", chunked=False)
    assert info["body_len"] == SIZE
    assert info["body_sha256"] == pattern_sha256(SIZE)
    growth = peak - base
    print(f"RSS baseline {base / MiB:.1f} MiB, peak {peak / MiB:.1f} MiB, growth {growth / MiB:.1f} MiB")
    assert growth < MAX_GROWTH, f"proxy RSS grew by {growth / MiB:.1f} MiB during a 100 MiB upload to a slow origin"


def test_upload_100mb_chunked_bounded_memory(stream_proxy, origin):
    info, base, peak = upload(stream_proxy, f"/slowread?rate={RATE}", chunked=True)
    assert info["body_len"] == SIZE
    assert info["body_sha256"] == pattern_sha256(SIZE)
    growth = peak - base
    print(f"RSS baseline {base / MiB:.1f} MiB, peak {peak / MiB:.1f} MiB, growth {growth / MiB:.1f} MiB")
    assert growth < MAX_GROWTH, f"proxy RSS grew by {growth / MiB:.1f} MiB during a 100 MiB chunked upload"
