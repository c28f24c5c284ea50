"""docs/openapi.json, the admin API's OpenAPI description: a valid OpenAPI 3 document, and the
live server answers each documented operation with a status the document gives for it."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from harness import ADMIN_AUTH, http_request

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
# Values for path and query parameters, chosen to exercise each operation without changing
# what the server runs (an unknown module, an unknown job).
SAMPLES = {"{name}": "no-such-module", "{id}": "12345"}
QUERY = {"/api/v1/cache/entry": "?url=http%3A%2F%2Fstavka.test%2Fnone"}
# A body each writing operation is refused for (400), or that does no harm.
BODIES = {("post", "/api/v1/purge"): b'{"tags": ["openapi-test"]}',
          ("post", "/api/v1/prefetch"): b'{"urls": []}',
          ("put", "/api/v1/modules/{name}"): b"not wasm"}


def spec() -> dict:
    return json.loads(SPEC.read_text())


def test_the_document_is_valid_openapi():
    validate(spec())


def test_the_server_answers_every_operation_as_documented(stavka, origin):
    p = stavka(origins=[origin], admin=True)
    checked = 0
    for path, item in spec()["paths"].items():
        target = path
        for placeholder, value in SAMPLES.items():
            target = target.replace(placeholder, value)
        target += QUERY.get(path, "")
        for method, op in item.items():
            if method not in ("get", "post", "put"):
                continue
            body = BODIES.get((method, path), b"" if method == "get" else b"{}")
            headers = ADMIN_AUTH + ([("Content-Type", "application/json")] if body else [])
            r = http_request(p.admin_port, method.upper(), target, headers,
                             body if method != "get" else None, host="admin")
            assert str(r.status) in op["responses"], (method, path, r.status, r.body)
            if r.status >= 400 and r.header("content-type") == "application/json":
                assert set(r.json()) == {"error", "message"}, r.body
            checked += 1
    assert checked >= 13
