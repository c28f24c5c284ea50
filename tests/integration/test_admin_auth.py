"""Admin API authentication: bearer tokens with scopes (read, purge, admin) from [[admin.token]]
(hashes), STAVKA_ADMIN_TOKEN, or the one a server without any prints at start; public paths;
401 and 403 with JSON errors; `stavka token create`; the CLI's --token."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from harness import ADMIN_AUTH, ADMIN_TOKEN, http_get, http_request


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def token_create(stavka_bin: str, *args: str) -> tuple[str, dict]:
    """Runs `stavka token create ARGS`; returns the token and the [[admin.token]] it printed."""
    r = subprocess.run([stavka_bin, "token", "create", *args], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    token = re.search(r"^token: (stk_[A-Za-z0-9_-]{43})$", r.stdout, re.M).group(1)
    entry = {
        "name": re.search(r'^name = "(.*)"$', r.stdout, re.M).group(1),
        "hash": re.search(r'^hash = "(sha256:[0-9a-f]{64})"$', r.stdout, re.M).group(1),
        "scopes": re.findall(r'"(read|purge|admin)"', r.stdout.split("scopes = ")[1]),
    }
    return token, entry


def start(stavka, origin, admin_config=None, env=None):
    config = {"admin": admin_config} if admin_config is not None else None
    return stavka(origins=[origin], admin=True, config=config, env=env)


def test_missing_and_wrong_tokens_get_401_public_paths_none(stavka, origin):
    p = start(stavka, origin)
    for headers in ([], bearer("stk_not-a-token"), [("Authorization", "Basic YTpi")]):
        r = http_get(p.admin_port, "/api/v1/modules", headers, host="admin")
        assert r.status == 401, r
        assert r.header("content-type") == "application/json"
        assert r.json()["error"] == "unauthorized"
        assert r.header("www-authenticate").startswith("Bearer")
    assert http_get(p.admin_port, "/healthz", host="admin").status == 200
    assert http_get(p.admin_port, "/metrics", host="admin").status == 200
    # A path that does not exist is not told apart without a token.
    assert http_get(p.admin_port, "/api/v1/nothing", host="admin").status == 401
    assert http_get(p.admin_port, "/api/v1/nothing", ADMIN_AUTH, host="admin").status == 404


def test_scopes_from_the_configuration(stavka, stavka_bin, origin):
    reader, read_entry = token_create(stavka_bin, "--scope", "read", "--name", "dash")
    purger, purge_entry = token_create(stavka_bin, "--scope", "purge", "--name", "ci")
    root, admin_entry = token_create(stavka_bin, "--scope", "admin", "--name", "ops")
    assert read_entry == {"name": "dash", "hash": read_entry["hash"], "scopes": ["read"]}
    # Only the configuration's tokens: no STAVKA_ADMIN_TOKEN.
    p = start(stavka, origin, {"token": [read_entry, purge_entry, admin_entry]},
              env={"STAVKA_ADMIN_TOKEN": None})
    assert http_get(p.admin_port, "/api/v1/modules", bearer(reader), host="admin").status == 200
    r = http_get(p.admin_port, "/api/v1/modules", bearer(purger), host="admin")
    assert r.status == 403 and r.json() == {
        "error": "forbidden", "message": "token ci lacks the 'read' scope this needs"}
    assert http_get(p.admin_port, "/api/v1/modules", bearer(root), host="admin").status == 200
    # Changing anything needs admin: a reader is refused before the body is read.
    r = http_request(p.admin_port, "PUT", "/api/v1/modules/m", bearer(reader), b"\0asm",
                     host="admin")
    assert r.status == 403 and "lacks the 'admin' scope" in r.json()["message"]
    r = http_request(p.admin_port, "PUT", "/api/v1/modules/m", bearer(root), b"\0asm",
                     host="admin")
    assert r.status not in (401, 403), r  # past authentication (no module "m" here)
    assert http_get(p.admin_port, "/api/v1/modules", ADMIN_AUTH, host="admin").status == 401, \
        "without STAVKA_ADMIN_TOKEN its value is no token"
    assert not any("admin token" in l for l in p.stderr_lines), "tokens are configured"


def test_a_reload_changes_the_tokens(stavka, stavka_bin, origin):
    old, old_entry = token_create(stavka_bin, "--scope", "read")
    new, new_entry = token_create(stavka_bin, "--scope", "read", "--name", "new")
    p = start(stavka, origin, {"token": [old_entry]}, env={"STAVKA_ADMIN_TOKEN": None})
    assert http_get(p.admin_port, "/api/v1/modules", bearer(old), host="admin").status == 200
    cfg = p.config
    cfg["admin"] = {"token": [new_entry]}
    p.reload(cfg)
    p.wait_stderr(lambda l: "config reloaded" in l)
    assert http_get(p.admin_port, "/api/v1/modules", bearer(new), host="admin").status == 200
    assert http_get(p.admin_port, "/api/v1/modules", bearer(old), host="admin").status == 401


def test_environment_token_is_an_admin_token(stavka, origin):
    p = start(stavka, origin)  # the harness gives every server STAVKA_ADMIN_TOKEN
    assert http_get(p.admin_port, "/api/v1/modules", ADMIN_AUTH, host="admin").status == 200


def test_without_any_token_the_server_makes_one_and_prints_it_once(stavka, origin):
    p = start(stavka, origin, env={"STAVKA_ADMIN_TOKEN": None})
    line = p.wait_stderr(lambda l: "this run's admin token" in l)[0]
    token = re.search(r"(stk_[A-Za-z0-9_-]{43})", line).group(1)
    assert http_get(p.admin_port, "/api/v1/modules", bearer(token), host="admin").status == 200
    assert http_get(p.admin_port, "/api/v1/modules", host="admin").status == 401
    time.sleep(0.2)
    assert sum(token in l for l in p.stderr_lines + p.stdout_lines) == 1, "printed once"


def test_no_public_paths(stavka, origin):
    p = start(stavka, origin, {"public": []})
    assert http_get(p.admin_port, "/metrics", host="admin").status == 401
    assert http_get(p.admin_port, "/healthz", host="admin").status == 401
    assert http_get(p.admin_port, "/metrics", ADMIN_AUTH, host="admin").status == 200


def test_cli_sends_its_token(stavka, stavka_bin, origin):
    p = start(stavka, origin)
    admin = f"127.0.0.1:{p.admin_port}"
    base = {"PATH": "/usr/bin:/bin"}

    def ls(*args, env=None):
        return subprocess.run([stavka_bin, "module", "ls", "--admin", admin, *args],
                              capture_output=True, text=True, timeout=30, env=dict(base, **(env or {})))

    r = ls()
    assert r.returncode != 0 and "401" in r.stderr, r.stderr
    assert ls("--token", ADMIN_TOKEN).returncode == 0
    assert ls(env={"STAVKA_ADMIN_TOKEN": ADMIN_TOKEN}).returncode == 0
    assert ls("--token", "stk_wrong", env={"STAVKA_ADMIN_TOKEN": ADMIN_TOKEN}).returncode != 0


@pytest.mark.parametrize("args,message", [
    ([], "which scope?"),
    (["--scope", "write"], "unknown scope 'write'"),
    (["--bogus"], "unexpected argument '--bogus'"),
])
def test_token_create_refuses_bad_arguments(stavka_bin, args, message):
    r = subprocess.run([stavka_bin, "token", "create", *args], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_config_reload_endpoint(stavka, origin):
    p = start(stavka, origin)
    cfg = p.config
    cfg["via_name"] = "edge-reloaded"
    p.write_config(cfg)
    r = http_request(p.admin_port, "POST", "/api/v1/config/reload", ADMIN_AUTH, host="admin")
    assert r.status == 200, r
    answer = r.json()
    assert answer["reloaded"] is True and answer["source"] == str(p.config_path)
    # Answered once every worker runs it: the next request already has the new name.
    assert "edge-reloaded" in p.get("/echo").header("via")
    # A broken file: 422 with the loader's message, the running configuration stays.
    p.config_path.write_text(p.config_path.read_text() + "\nbogus_key = 1\n")
    r = http_request(p.admin_port, "POST", "/api/v1/config/reload", ADMIN_AUTH, host="admin")
    assert r.status == 422 and r.json()["error"] == "config_rejected", r
    assert "unknown key 'bogus_key'" in r.json()["message"]
    assert "edge-reloaded" in p.get("/echo").header("via")
    # Changing the configuration needs admin; GET is not a reload.
    r = http_request(p.admin_port, "GET", "/api/v1/config/reload", ADMIN_AUTH, host="admin")
    assert r.status == 405 and r.header("allow") == "POST"
    assert http_request(p.admin_port, "POST", "/api/v1/config/reload", host="admin").status == 401
