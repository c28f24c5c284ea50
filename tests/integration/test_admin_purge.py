"""POST /api/v1/purge on the admin listener: by URL and by tag, seen by every worker at once,
held across a restart, the purge scope, and each kind of bad input (by prefix and of everything:
test_admin_cache.py)."""

from __future__ import annotations

import json
import signal

import pytest

from harness import ADMIN_AUTH, http_request, pattern, wait_until

CC = "hdr=Cache-Control:max-age=3600"


def purge(p, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http_request(p.admin_port, "POST", "/api/v1/purge",
                        (ADMIN_AUTH if headers is None else headers) +
                        [("Content-Type", "application/json")], data, host="admin")


def is_hit(r) -> bool:
    return r.header("cache-status").startswith("stavka; hit")


def url(p, target: str) -> str:
    return f"http://stavka.test{target}"


def test_purge_by_url_removes_every_variant_on_every_worker(stavka, origin):
    p = stavka(origins=[origin], admin=True, workers=2)
    a, b = f"/size/1000?{CC}&n=a", f"/size/1000?{CC}&n=b"
    for t in (a, b):
        p.get(t)
        assert is_hit(p.get(t))
    assert origin.request_count == 2
    r = purge(p, {"urls": [url(p, a)]})
    assert r.status == 200 and r.json() == {"purged": 1}, r
    # Fresh connections land on either worker: the first one fetches it again, once.
    after = [p.get(a) for _ in range(10)]
    assert all(x.body == pattern(1000) for x in after)
    assert origin.request_count == 3
    assert is_hit(p.get(b)), "another URL stays"
    # A purge that matches nothing: 200 with 0.
    r = purge(p, {"urls": [url(p, "/never-stored")]})
    assert r.status == 200 and r.json() == {"purged": 0}


def test_purge_by_tag(stavka, origin):
    p = stavka(origins=[origin], admin=True)
    tagged = [f"/size/500?{CC}&hdr=Surrogate-Key:video-7%20all&n={i}" for i in range(3)]
    other = f"/size/500?{CC}&hdr=Surrogate-Key:video-8&n=x"
    for t in tagged + [other]:
        p.get(t)
    r = purge(p, {"tags": ["video-7", "no-such-tag"]})
    assert r.status == 200 and r.json() == {"purged": 3}, r
    assert is_hit(p.get(other))
    assert not is_hit(p.get(tagged[0]))
    assert origin.request_count == 5


def test_a_purge_holds_across_a_restart(stavka, origin, tmp_path):
    config = {"cache": {"dir": str(tmp_path / "cache"), "max_size": "64MiB"}}
    p = stavka(origins=[origin], admin=True, config=config)
    kept, gone = f"/size/2000?{CC}&n=kept", f"/size/2000?{CC}&n=gone"
    for t in (kept, gone):
        p.get(t)
        wait_until(lambda: is_hit(p.get(t)))  # stored (published) before it is purged
    assert purge(p, {"urls": [url(p, gone)]}).json() == {"purged": 1}
    assert p.stop(signal.SIGTERM) == 0
    p = stavka(origins=[origin], admin=True, config=config, port=p.port)
    assert is_hit(p.get(kept))
    r = p.get(gone)
    assert not is_hit(r) and r.body == pattern(2000)
    assert origin.request_count == 3


def test_purge_needs_the_purge_scope(stavka, stavka_bin, origin):
    from test_admin_auth import bearer, token_create
    reader, read_entry = token_create(stavka_bin, "--scope", "read")
    purger, purge_entry = token_create(stavka_bin, "--scope", "purge", "--name", "ci")
    p = stavka(origins=[origin], admin=True, config={"admin": {"token": [read_entry, purge_entry]}})
    body = {"tags": ["x"]}
    assert purge(p, body, headers=[]).status == 401
    r = purge(p, body, headers=bearer(reader))
    assert r.status == 403 and "lacks the 'purge' scope" in r.json()["message"]
    assert purge(p, body, headers=bearer(purger)).json() == {"purged": 0}
    assert purge(p, body).status == 200  # admin may too


@pytest.mark.parametrize("body,status,error,message", [
    (b"{", 400, "bad_json", "the body is not JSON"),
    (b"[]", 400, "bad_request", "must be a JSON object"),
    ({}, 400, "bad_request", "exactly one of"),
    ({"urls": ["http://a/"], "tags": ["t"]}, 400, "bad_request", "exactly one of"),
    ({"urls": "http://a/"}, 400, "bad_request", "'urls' must be an array of strings"),
    ({"tags": [1]}, 400, "bad_request", "'tags' must be an array of strings"),
    ({"tags": [""]}, 400, "bad_request", "must not be empty"),
    ({"urls": ["/relative"]}, 400, "bad_url", "not an absolute http(s) URL: '/relative'"),
    ({"urls": ["http://a/"], "force": True}, 400, "unknown_field", "unknown field 'force'"),
    ({"urls": ["http://a/"], "soft": 1}, 400, "bad_request", "'soft' must be true or false"),
])
def test_bad_purges_are_refused_with_a_message(stavka, origin, body, status, error, message):
    p = stavka(origins=[origin], admin=True)
    r = purge(p, body)
    assert r.status == status, r
    assert r.json()["error"] == error and message in r.json()["message"], r.json()


def test_purge_method_and_size_limits(stavka, origin):
    p = stavka(origins=[origin], admin=True)
    r = http_request(p.admin_port, "GET", "/api/v1/purge", ADMIN_AUTH, host="admin")
    assert r.status == 405 and r.header("allow") == "POST"
    r = purge(p, b'{"tags": ["' + b"x" * (1 << 20) + b'"]}')
    assert r.status == 413 and r.json()["error"] == "body_too_large"


def test_cli_purges_by_url_and_tag(stavka, stavka_bin, origin):
    import subprocess
    from harness import ADMIN_TOKEN
    p = stavka(origins=[origin], admin=True)
    a = f"/size/300?{CC}&n=a"
    t = f"/size/300?{CC}&hdr=Surrogate-Key:cli-tag&n=t"
    for target in (a, t):
        p.get(target)
    env = {"PATH": "/usr/bin:/bin", "STAVKA_ADMIN": f"127.0.0.1:{p.admin_port}",
           "STAVKA_ADMIN_TOKEN": ADMIN_TOKEN}

    def cli(*args, env=env):
        return subprocess.run([stavka_bin, "purge", *args], capture_output=True, text=True,
                              timeout=30, env=env)

    r = cli(url(p, a))
    assert r.returncode == 0 and r.stdout == "purged 1 objects\n", r.stderr
    r = cli("--tag", "cli-tag", "--tag=other")
    assert r.returncode == 0 and r.stdout == "purged 1 objects\n", r.stderr
    assert origin.request_count == 2
    assert not is_hit(p.get(a)) and not is_hit(p.get(t))
    r = cli("/relative")
    assert r.returncode == 1 and "not an absolute http(s) URL" in r.stderr
    r = cli(url(p, a), env=dict(env, STAVKA_ADMIN_TOKEN="stk_wrong"))
    assert r.returncode == 1 and "401" in r.stderr
    assert cli().returncode == 2
    assert cli(url(p, a), "--tag", "x").returncode == 2


def purge_method(p, target: str):
    return http_request(p.port, "PURGE", target, host="stavka.test")


def test_purge_method_on_the_proxy_listener_only_from_allowed_addresses(stavka, origin):
    target = f"/size/400?{CC}&n=m"
    closed = stavka(origins=[origin])
    closed.get(target)
    r = purge_method(closed, target)
    assert r.status == 403 and "PURGE is not allowed from this address" in r.body.decode()
    assert is_hit(closed.get(target)), "a refused PURGE removes nothing"
    elsewhere = stavka(origins=[origin], config={"admin": {"purge_from": ["10.0.0.0/8"]}})
    assert purge_method(elsewhere, target).status == 403
    assert not any(q.method == "PURGE" for q in origin.requests), "PURGE never reaches the origin"

    p = stavka(origins=[origin], config={"admin": {"purge_from": ["127.0.0.0/8", "::1"]}})
    p.get(target)
    before = origin.request_count
    r = purge_method(p, target)
    assert r.status == 200 and r.json() == {"purged": 1}, r
    assert r.header("content-type") == "application/json"
    assert purge_method(p, target).json() == {"purged": 0}
    assert not is_hit(p.get(target)) and origin.request_count == before + 1


def test_purge_method_keys_the_url_as_the_site_does(stavka, origin):
    sites = [{"name": "s", "hosts": ["*"], "origins": [origin], "cache_ignore_query": True}]
    p = stavka(sites=sites, config={"admin": {"purge_from": ["127.0.0.1"]}})
    p.get(f"/size/300?{CC}")
    assert is_hit(p.get(f"/size/300?{CC}&other=1"))
    r = purge_method(p, "/size/300?anything")
    assert r.json() == {"purged": 1}, r


def test_stats_endpoint_and_cli(stavka, stavka_bin, origin):
    import subprocess
    from harness import ADMIN_TOKEN, http_get
    p = stavka(origins=[origin], admin=True)

    def memory_objects() -> int:
        r = http_get(p.admin_port, "/api/v1/stats", ADMIN_AUTH, host="admin")
        return sum(s["value"] for s in r.json()["metrics"]["stavka_cache_objects"]
                   if s["labels"]["tier"] == "memory")

    p.get(f"/size/100?{CC}")
    # The fill may publish the object just after its client's response ended: wait for it, so
    # that the next two requests are hits.
    assert wait_until(lambda: memory_objects() == 1)
    for _ in range(2):
        p.get(f"/size/100?{CC}")
    r = http_get(p.admin_port, "/api/v1/stats", ADMIN_AUTH, host="admin")
    assert r.status == 200 and r.header("content-type") == "application/json"
    metrics = r.json()["metrics"]
    text = http_get(p.admin_port, "/metrics", host="admin").body.decode()
    # The same figures as /metrics (no proxy request came between the two).
    assert metrics["stavka_requests_total"] == 3
    assert "\nstavka_requests_total 3\n" in text
    tiers = {s["labels"]["tier"]: s["value"] for s in metrics["stavka_cache_objects"]}
    assert tiers["memory"] == 1
    assert http_get(p.admin_port, "/api/v1/stats", host="admin").status == 401
    env = {"PATH": "/usr/bin:/bin", "STAVKA_ADMIN": f"127.0.0.1:{p.admin_port}",
           "STAVKA_ADMIN_TOKEN": ADMIN_TOKEN}
    out = subprocess.run([stavka_bin, "stats"], capture_output=True, text=True, timeout=30,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert 'stavka_cache_objects{tier=memory}' in out.stdout
    lines = {l.split()[0]: l.split()[1] for l in out.stdout.splitlines()}
    assert int(lines["stavka_cache_hits_total"]) >= 2
    js = subprocess.run([stavka_bin, "stats", "--json"], capture_output=True, text=True,
                        timeout=30, env=env)
    assert js.returncode == 0 and json.loads(js.stdout)["metrics"]["stavka_cache_hits_total"] >= 2
