"""The cache listing (GET /api/v1/cache, /api/v1/cache/entry), purge by prefix and of
everything, and the CLI over them (stavka cache ls, stavka purge --prefix / --all)."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.parse

import pytest

from harness import ADMIN_AUTH, ADMIN_TOKEN, http_request, pattern, wait_until
from test_admin_purge import CC, is_hit, purge
from test_modules import MODULES

HOST = "http://stavka.test"


def api(p, target: str, headers=None):
    return http_request(p.admin_port, "GET", target,
                        ADMIN_AUTH if headers is None else headers, host="admin")


def listing(p, **params):
    query = urllib.parse.urlencode(params)
    r = api(p, "/api/v1/cache" + (f"?{query}" if query else ""))
    assert r.status == 200, (r.status, r.body)
    return r.json()


def every_entry(p, **params) -> list[dict]:
    """Pages through the whole listing."""
    out, cursor = [], None
    while True:
        page = listing(p, **params, **({"cursor": cursor} if cursor else {}))
        out += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def store(p, *targets):
    for t in targets:
        p.get(t)
        wait_until(lambda: is_hit(p.get(t)))  # published


def test_listing_shows_each_object_with_its_ttl_hits_and_tags(stavka, origin):
    p = stavka(origins=[origin], admin=True, workers=2)
    a = f"/size/100?{CC}&hdr=Surrogate-Key:red%20blue&n=a"
    b = f"/size/2000?hdr=Cache-Control:max-age=60&hdr=ETag:%22v1%22&n=b"
    store(p, a, b)
    for _ in range(3):
        assert is_hit(p.get(a))
    entries = {e["url"]: e for e in every_entry(p)}
    assert set(entries) == {HOST + a, HOST + b}
    ea, eb = entries[HOST + a], entries[HOST + b]
    assert ea["status"] == 200 and ea["size"] == 100 and ea["stored_bytes"] == 100
    assert ea["host"] == "stavka.test" and ea["partial"] is False and ea["variant"] == ""
    assert ea["tags"] == ["red", "blue"] and eb["tags"] == []
    assert 3590 <= ea["ttl"] <= 3600 and 50 <= eb["ttl"] <= 60
    assert 0 <= ea["age"] <= 10
    assert ea["hits"] >= 4  # the hits above (and the ones that waited for the publish)
    assert eb["size"] == 2000 and eb["etag"] == '"v1"' and ea["etag"] == ""


def test_listing_pages_in_key_order_with_filters(stavka, origin):
    p = stavka(origins=[origin], admin=True)
    targets = [f"/size/{300 + i}?{CC}&n={i}" for i in range(7)]
    tagged = f"/size/500?{CC}&hdr=Cache-Tag:promo&n=t"
    store(p, *targets, tagged)
    first = listing(p, limit=3)
    assert len(first["entries"]) == 3 and first["next_cursor"]
    urls = [e["url"] for e in every_entry(p, limit=3)]
    assert urls == sorted(urls) and len(urls) == 8 and len(set(urls)) == 8
    assert [e["url"] for e in every_entry(p, tag="promo")] == [HOST + tagged]
    assert [e["url"] for e in every_entry(p, prefix=HOST + "/size/30")] == \
        sorted(HOST + t for t in targets[:7] if t.startswith("/size/30"))
    assert every_entry(p, host="elsewhere.test") == []
    assert every_entry(p, prefix="http://nowhere.test/") == []
    last = listing(p, limit=1000)
    assert last["next_cursor"] is None


@pytest.mark.parametrize("query,message", [
    ("limit=0", "limit must be a number from 1 to 1000"),
    ("limit=1001", "limit must be a number"),
    ("limit=x", "limit must be a number"),
    ("cursor=zz", "cursor is not one this API gave"),
    ("prefix=%zz", "malformed %-escape"),
])
def test_bad_listing_parameters(stavka, origin, query, message):
    p = stavka(origins=[origin], admin=True)
    r = api(p, "/api/v1/cache?" + query)
    assert r.status == 400 and message in r.json()["message"], r.body


def test_listing_needs_the_read_scope(stavka, stavka_bin, origin):
    from test_admin_auth import bearer, token_create
    reader, read_entry = token_create(stavka_bin, "--scope", "read")
    purger, purge_entry = token_create(stavka_bin, "--scope", "purge", "--name", "purger")
    p = stavka(origins=[origin], admin=True,
               config={"admin": {"token": [read_entry, purge_entry]}})
    assert api(p, "/api/v1/cache", headers=[]).status == 401
    assert api(p, "/api/v1/cache", headers=bearer(purger)).status == 403
    assert api(p, "/api/v1/cache", headers=bearer(reader)).status == 200
    assert api(p, "/api/v1/cache/entry?url=http://x/", headers=bearer(reader)).status == 404


def test_entry_shows_fields_variants_and_blocks(stavka, origin):
    site = {"name": "s", "hosts": ["*"], "origins": [origin.url]}
    p = stavka(sites=[site], admin=True,
               config={"cache": {"block_size": "64KiB", "readahead": "64KiB"}})
    whole = f"/size/700?{CC}&hdr=X-Kept:yes"
    store(p, whole)
    r = api(p, "/api/v1/cache/entry?url=" + urllib.parse.quote(HOST + whole, safe=""))
    assert r.status == 200, r.body
    e = r.json()
    assert e["url"] == HOST + whole and e["blocks"] is None and len(e["variants"]) == 1
    fields = dict((k.lower(), v) for k, v in e["variants"][0]["fields"])
    assert fields["x-kept"] == "yes" and fields["cache-control"] == "max-age=3600"

    ranged = f"/ranged/1000000?{CC}"
    r = p.get(ranged, headers=[("Range", "bytes=0-99")])
    assert r.status == 206 and r.body == pattern(1000000)[:100]
    wait_until(lambda: api(p, "/api/v1/cache/entry?url=" +
                           urllib.parse.quote(HOST + ranged, safe="")).status == 200)
    e = api(p, "/api/v1/cache/entry?url=" + urllib.parse.quote(HOST + ranged, safe="")).json()
    wait_until(lambda: len(api(p, "/api/v1/cache/entry?url=" + urllib.parse.quote(
        HOST + ranged, safe="")).json()["blocks"]["stored"]) >= 2)
    e = api(p, "/api/v1/cache/entry?url=" + urllib.parse.quote(HOST + ranged, safe="")).json()
    assert e["variants"] == []
    b = e["blocks"]
    assert b["partial"] is True and b["size"] == 1000000 and b["block_size"] == 65536
    assert [s["index"] for s in b["stored"]] == list(range(len(b["stored"])))
    assert all(s["bytes"] == 65536 for s in b["stored"])
    assert b["stored_bytes"] == 65536 * len(b["stored"]) < 1000000
    listed = [x for x in every_entry(p) if x["url"] == HOST + ranged]
    assert len(listed) == 1 and listed[0]["partial"] and listed[0]["blocks"] == len(b["stored"])
    assert api(p, "/api/v1/cache/entry").status == 400
    assert api(p, "/api/v1/cache/entry?url=/relative").status == 400
    assert api(p, "/api/v1/cache/entry?url=" + urllib.parse.quote(HOST + "/none")).status == 404


def test_purge_by_prefix_and_of_everything_on_every_worker(stavka, origin):
    p = stavka(origins=[origin], admin=True, workers=2)
    small = [f"/size/31{i}?{CC}&n={i}" for i in range(3)]
    large = [f"/size/41{i}?{CC}&n={i}" for i in range(2)]
    store(p, *small, *large)
    assert origin.request_count == 5
    r = purge(p, {"prefix": "HTTP://Stavka.Test/size/31"})  # compared once normalised
    assert r.status == 200 and r.json() == {"purged": 3}, r.body
    # Fresh connections land on either worker: each purged URL is fetched again once.
    for t in small:
        for _ in range(4):
            assert p.get(t).body == pattern(int(t[6:9]))
    assert origin.request_count == 8
    assert all(is_hit(p.get(t)) for t in large)
    assert purge(p, {"prefix": HOST + "/nothing/"}).json() == {"purged": 0}
    assert purge(p, {"all": True}).json() == {"purged": 5}
    assert every_entry(p) == []
    assert not is_hit(p.get(large[0]))


def test_a_prefix_purge_holds_across_a_restart(stavka, origin, tmp_path):
    config = {"cache": {"dir": str(tmp_path / "cache"), "max_size": "64MiB"}}
    p = stavka(origins=[origin], admin=True, config=config)
    kept, gone = f"/size/2100?{CC}&n=kept", f"/size/2200?{CC}&n=gone"
    store(p, kept, gone)
    assert purge(p, {"prefix": HOST + "/size/22"}).json() == {"purged": 1}
    assert p.stop(signal.SIGTERM) == 0
    p = stavka(origins=[origin], admin=True, config=config, port=p.port)
    assert [e["url"] for e in every_entry(p)] == [HOST + kept]
    assert is_hit(p.get(kept)) and not is_hit(p.get(gone))


@pytest.mark.parametrize("body,error,message", [
    ({"prefix": 1}, "bad_request", "'prefix' must be a string"),
    ({"prefix": "/relative"}, "bad_url", "must be an absolute http(s) URL"),
    ({"all": False}, "bad_request", "'all' must be true"),
    ({"all": True, "prefix": "http://a/"}, "bad_request", "exactly one of"),
])
def test_bad_prefix_and_all_purges(stavka, origin, body, error, message):
    p = stavka(origins=[origin], admin=True)
    r = purge(p, body)
    assert r.status == 400 and r.json()["error"] == error and message in r.json()["message"], r.body


def test_cli_cache_ls_and_purge_prefix_all(stavka, stavka_bin, origin):
    p = stavka(origins=[origin], admin=True)
    a, b = f"/size/120?{CC}&hdr=Surrogate-Key:cli&n=a", f"/size/130?{CC}&n=b"
    store(p, a, b)
    env = {"PATH": "/usr/bin:/bin", "STAVKA_ADMIN": f"127.0.0.1:{p.admin_port}",
           "STAVKA_ADMIN_TOKEN": ADMIN_TOKEN}

    def cli(*args):
        return subprocess.run([stavka_bin, *args], capture_output=True, text=True, timeout=30,
                              env=env)

    r = cli("cache", "ls")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["URL", "STATUS", "SIZE"] and lines[-1] == "2 entries"
    row = next(line for line in lines if line.startswith(HOST + a))
    assert row.split()[1:4] == ["200", "120", "120"] and row.split()[-1] == "cli"
    r = cli("cache", "ls", "--tag", "cli", "--json")
    assert r.returncode == 0
    pages = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["url"] for e in pages[0]["entries"]] == [HOST + a]
    assert cli("cache", "ls", "--prefix", HOST + "/size/13").stdout.splitlines()[-1] == "1 entries"
    assert cli("cache").returncode == 2 and cli("cache", "ls", "--bogus").returncode == 2

    r = cli("purge", "--soft", HOST + a)
    assert r.returncode == 0 and r.stdout == "marked stale 1 objects\n", r.stderr
    r = cli("purge", "--prefix", HOST + "/size/12")
    assert r.returncode == 0 and r.stdout == "purged 1 objects\n", r.stderr
    r = cli("purge", "--all")
    assert r.returncode == 0 and r.stdout == "purged 1 objects\n", r.stderr
    assert cli("purge", "--all", "--prefix", HOST).returncode == 2
    assert cli("cache", "ls").stdout.splitlines()[-1] == "0 entries"


def prefetch(p, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http_request(p.admin_port, "POST", "/api/v1/prefetch",
                        (ADMIN_AUTH if headers is None else headers) +
                        [("Content-Type", "application/json")], data, host="admin")


def job_done(p, href: str) -> dict:
    state = {}

    def finished():
        state.update(api(p, href).json())
        return state["state"] == "done"
    wait_until(finished, timeout=30)
    return state


def test_prefetch_fills_the_cache_once_per_url_and_reports_progress(stavka, origin):
    p = stavka(origins=[origin], admin=True, workers=2)
    urls = [f"{HOST}/size/{1000 + i}?{CC}&n=pf{i}" for i in range(20)]
    r = prefetch(p, {"urls": urls, "concurrency": 4})
    assert r.status == 202, r.body
    started = r.json()
    assert started["total"] == 20 and started["href"] == f"/api/v1/jobs/{started['job']}"
    job = job_done(p, started["href"])
    assert job["done"] == 20 and job["errors"] == 0 and job["failed"] == []
    assert job["bytes"] == sum(1000 + i for i in range(20))
    assert origin.request_count == 20
    for i, u in enumerate(urls):  # every one is a hit now, on either worker
        r = p.get(u[len(HOST):])
        assert is_hit(r) and r.body == pattern(1000 + i)
    assert origin.request_count == 20
    # Again: all hits, no origin request.
    job = job_done(p, prefetch(p, {"urls": urls}).json()["href"])
    assert job["done"] == 20 and job["errors"] == 0
    assert origin.request_count == 20
    assert len(every_entry(p, prefix=HOST + "/size/10")) == 20


def test_shutdown_lets_prefetch_urls_in_flight_finish_and_takes_no_more(stavka, origin):
    p = stavka(origins=[origin], admin=True, config={"timeouts": {"shutdown_grace": "10s"}})
    urls = [f"{HOST}/size/{2000 + i}?{CC}&delay=400&n=sd{i}" for i in range(20)]
    assert prefetch(p, {"urls": urls, "concurrency": 2}).status == 202
    assert origin.wait_for_requests(2, 5)
    p.signal(signal.SIGTERM)
    assert p.wait_exit(10) == 0
    stopped = p.wait_stderr(lambda l: "prefetch job 1 stopped by the shutdown after" in l, 1)
    assert stopped, p.stderr_lines[-10:]
    # The two URLs in flight were fetched to the end (stored: the log counts them done); the
    # lanes took none of the other 18.
    assert "after 2 of 20 URLs" in stopped[0] or "after 3 of 20 URLs" in stopped[0], stopped
    assert origin.request_count <= 3


def test_shutdown_deadline_ends_a_prefetch_still_fetching(stavka, origin):
    p = stavka(origins=[origin], admin=True, workers=1,
               config={"timeouts": {"shutdown_grace": "1s"}})
    urls = [f"{HOST}/size/3000?{CC}&delay=5000&n=dl", f"{HOST}/size/3001?{CC}&n=dl"]
    assert prefetch(p, {"urls": urls, "concurrency": 1}).status == 202
    assert origin.wait_for_requests(1, 5)
    p.signal(signal.SIGTERM)
    assert p.wait_exit(4) == 0
    assert p.wait_stderr(lambda l: "1 connections and 1 prefetch lanes still open at the drain "
                                   "deadline" in l, 1), p.stderr_lines[-10:]
    assert p.wait_stderr(lambda l: "prefetch job 1 stopped by the shutdown after 1 of 2 URLs"
                         in l, 1), p.stderr_lines[-10:]
    assert origin.request_count == 1


def test_prefetch_counts_failures(stavka, origin):
    p = stavka(origins=[origin], admin=True)
    urls = [f"{HOST}/size/100?{CC}&n=ok", f"{HOST}/size/100?status=404"]
    job = job_done(p, prefetch(p, {"urls": urls}).json()["href"])
    assert job["done"] == 2 and job["errors"] == 1 and job["bytes"] >= 100, job
    assert job["failed"] == [{"url": urls[1], "error": "status 404"}]


@pytest.mark.parametrize("body,error,message", [
    (b"{", "bad_json", "the body is not JSON"),
    ({"urls": []}, "bad_request", "'urls' must be an array of 1 to"),
    ({"urls": "http://a/"}, "bad_request", "'urls' must be an array"),
    ({"urls": ["/relative"]}, "bad_url", "not an absolute http(s) URL: '/relative'"),
    ({"urls": ["http://a/"], "concurrency": 0}, "bad_request", "'concurrency' must be"),
    ({"urls": ["http://a/"], "concurrency": 2.5}, "bad_request", "'concurrency' must be"),
    ({"urls": ["http://a/"], "depth": 1}, "unknown_field", "unknown field 'depth'"),
])
def test_bad_prefetches(stavka, origin, body, error, message):
    p = stavka(origins=[origin], admin=True)
    r = prefetch(p, body)
    assert r.status == 400 and r.json()["error"] == error and message in r.json()["message"], r.body
    assert origin.request_count == 0


def test_prefetch_scopes_and_unknown_jobs(stavka, stavka_bin, origin):
    from test_admin_auth import bearer, token_create
    reader, read_entry = token_create(stavka_bin, "--scope", "read")
    purger, purge_entry = token_create(stavka_bin, "--scope", "purge", "--name", "purger")
    p = stavka(origins=[origin], admin=True,
               config={"admin": {"token": [read_entry, purge_entry]}})
    body = {"urls": [f"{HOST}/size/10?{CC}"]}
    assert prefetch(p, body, headers=bearer(reader)).status == 403
    r = prefetch(p, body, headers=bearer(purger))
    assert r.status == 202
    assert api(p, r.json()["href"], headers=bearer(reader)).status == 200
    assert api(p, "/api/v1/jobs/999", headers=bearer(reader)).status == 404
    assert api(p, "/api/v1/jobs/abc").status == 404


def test_cli_prefetch_from_arguments_and_a_file(stavka, stavka_bin, origin, tmp_path):
    p = stavka(origins=[origin], admin=True)
    env = {"PATH": "/usr/bin:/bin", "STAVKA_ADMIN": f"127.0.0.1:{p.admin_port}",
           "STAVKA_ADMIN_TOKEN": ADMIN_TOKEN}
    a = f"{HOST}/size/210?{CC}&n=cli-a"
    listed = [f"{HOST}/size/220?{CC}&n=cli-{i}" for i in range(5)]
    f = tmp_path / "urls.txt"
    f.write_text("# to warm\n\n" + "\n".join(listed) + "\n")

    def cli(*args):
        return subprocess.run([stavka_bin, "prefetch", *args], capture_output=True, text=True,
                              timeout=60, env=env)

    r = cli(a)
    assert r.returncode == 0 and r.stdout.startswith("prefetched 1 URLs, 210 bytes, 0 errors"), r
    r = cli("--file", str(f), "--concurrency", "2")
    assert r.returncode == 0 and r.stdout.startswith("prefetched 5 URLs, 1100 bytes, 0 errors"), r
    assert origin.request_count == 6
    assert all(is_hit(p.get(u[len(HOST):])) for u in [a] + listed)
    r = cli(f"{HOST}/size/10?status=500")
    assert r.returncode == 1 and "status 500" in r.stderr and "1 errors" in r.stdout, r
    assert cli().returncode == 2 and cli("--concurrency", "0", a).returncode == 2
    r = cli("/relative")
    assert r.returncode == 1 and "not an absolute http(s) URL" in r.stderr


def status_of(r) -> str:
    return r.header("cache-status") or ""


def test_soft_purge_serves_stale_while_one_revalidation_runs(stavka, origin):
    p = stavka(origins=[origin], admin=True, workers=2)
    t = f"/size/300?{CC}&hdr=ETag:%22v1%22&n=soft"
    other = f"/size/310?{CC}&n=other"
    store(p, t, other)
    assert origin.request_count == 2
    r = purge(p, {"urls": [HOST + t], "soft": True})
    assert r.status == 200 and r.json() == {"purged": 1}, r.body
    assert origin.request_count == 2  # nothing is fetched by the purge itself
    r = p.get(t)
    assert r.status == 200 and r.body == pattern(300)
    assert "hit" in status_of(r) and 'detail="soft-purged"' in status_of(r), status_of(r)
    assert "ttl=0" in status_of(r)
    # One revalidation, in the background, conditional on the stored validator.
    wait_until(lambda: origin.request_count == 3)
    assert origin.requests[-1].header("if-none-match") == '"v1"'
    wait_until(lambda: "soft-purged" not in status_of(p.get(t)))
    for _ in range(4):  # refreshed: fresh hits on either worker
        r = p.get(t)
        assert is_hit(r) and "soft-purged" not in status_of(r)
    assert origin.request_count == 3
    assert "soft-purged" not in status_of(p.get(other))


def test_soft_purge_by_tag_prefix_and_all_and_what_forbids_stale(stavka, origin):
    p = stavka(origins=[origin], admin=True)
    tagged = [f"/size/32{i}?{CC}&hdr=Surrogate-Key:soft-tag&n={i}" for i in range(3)]
    strict = f"/size/330?hdr=Cache-Control:max-age=3600,must-revalidate&n=strict"
    store(p, *tagged, strict)
    assert purge(p, {"tags": ["soft-tag"], "soft": True}).json() == {"purged": 3}
    assert len(every_entry(p)) == 4  # marked, not removed
    assert 'detail="soft-purged"' in status_of(p.get(tagged[0]))
    assert purge(p, {"prefix": HOST + "/size/33", "soft": True}).json() == {"purged": 1}
    # must-revalidate forbids serving it stale: this request waits for the origin.
    before = origin.request_count
    r = p.get(strict)
    assert r.body == pattern(330) and origin.request_count == before + 1
    assert 'detail="soft-purged"' not in status_of(r)
    assert purge(p, {"all": True, "soft": True}).json()["purged"] == 4


def test_a_soft_purge_holds_across_a_restart(stavka, origin, tmp_path):
    config = {"cache": {"dir": str(tmp_path / "cache"), "max_size": "64MiB"}}
    p = stavka(origins=[origin], admin=True, config=config)
    t = f"/size/2300?{CC}&hdr=ETag:%22r1%22&n=restart"
    store(p, t)
    assert purge(p, {"urls": [HOST + t], "soft": True}).json() == {"purged": 1}
    assert p.stop(signal.SIGTERM) == 0
    p = stavka(origins=[origin], admin=True, config=config, port=p.port)
    r = p.get(t)
    assert r.body == pattern(2300) and 'detail="soft-purged"' in status_of(r), status_of(r)
    wait_until(lambda: origin.request_count == 2)


def test_config_endpoint_shows_the_effective_config_with_secrets_redacted(stavka, stavka_bin,
                                                                          origin, tmp_path):
    from test_admin_auth import bearer, token_create
    reader, read_entry = token_create(stavka_bin, "--scope", "read")
    module = {"name": "m", "file": str(MODULES / "add_header.wasm"),
              "configuration": "X-Secret: hunter2", "environment": {"API_KEY": "s3cr3t"}}
    site = {"name": "s", "hosts": ["*"], "origins": [origin.url], "modules": ["m"]}
    p = stavka(sites=[site], admin=True, workers=2,
               config={"admin": {"token": [read_entry]}, "module": [module],
                       "timeouts": {"origin_connect": "250ms"}})
    r = api(p, "/api/v1/config", headers=bearer(reader))
    assert r.status == 200, r.body
    c = r.json()
    assert c["workers"] == 2 and c["source"].endswith(".toml")
    assert c["timeouts"]["origin_connect"] == "250ms" and c["timeouts"]["origin_idle"].endswith("s")
    assert c["cache"]["block_size"] == 1048576 and c["cache"]["zero_copy"] is True
    assert c["site"][0]["origins"] == [origin.url] and c["site"][0]["modules"] == ["m"]
    m = c["module"][0]
    assert m["configuration"] == "<redacted>" and m["environment"] == {"API_KEY": "<redacted>"}
    assert m["isolation"] == "worker" and m["cpu_limit"] == "10ms"
    assert c["admin"]["token"][0]["hash"] == "<redacted>"
    assert c["admin"]["token"][0]["scopes"] == ["read"]
    assert "hunter2" not in r.body.decode() and "s3cr3t" not in r.body.decode()
    assert "sha256:" not in r.body.decode()
    assert api(p, "/api/v1/config", headers=[]).status == 401


def test_cli_prefetch_draws_a_progress_bar_on_a_terminal(stavka, stavka_bin, origin):
    import os
    import pty
    p = stavka(origins=[origin], admin=True)
    env = {"PATH": "/usr/bin:/bin", "STAVKA_ADMIN": f"127.0.0.1:{p.admin_port}",
           "STAVKA_ADMIN_TOKEN": ADMIN_TOKEN}
    urls = [f"{HOST}/size/50?{CC}&n=bar{i}" for i in range(3)]
    leader, follower = pty.openpty()  # stderr is a terminal: the bar is drawn there
    proc = subprocess.Popen([stavka_bin, "prefetch", *urls], stdout=subprocess.PIPE,
                            stderr=follower, env=env)
    os.close(follower)
    out, _ = proc.communicate(timeout=60)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert proc.returncode == 0 and out.startswith(b"prefetched 3 URLs"), out
    last = drawn.decode().replace("\r\n", "\n").split("\r")[-1]
    assert last.startswith("[" + "#" * 40 + "] 3/3 URLs, 150 bytes, 0 errors"), drawn
