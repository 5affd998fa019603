"""No secret, secret hash or access token is ever logged, at any level."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from chalicelib import runtime
from tests.conftest import seed_demo
from tests.functional.conftest import FORM, basic, body_json, form, token_request


def test_no_secret_hash_or_token_reaches_any_log(
    http: Any, moto_services: runtime.Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        demo = seed_demo(moto_services)
        token = body_json(token_request(http, demo))["access_token"]
        auth = {**FORM, **basic(demo.client_id, demo.client_secret)}
        http.post("/oauth/introspect", headers=auth, body=form(token=token))
        http.post("/oauth/revoke", headers=auth, body=form(token=token))
        token_request(http, demo, scope="orders:write")  # an error path
        http.post("/oauth/token", headers={**FORM, **basic(demo.client_id, "m2msec_wrong")},
                  body=form(grant_type="client_credentials", audience="x"))
        stored = moto_services.store.get_credentials(demo.client_id)

    assert stored is not None
    logged = caplog.text + " ".join(repr(r.args) for r in caplog.records)
    assert "token issued" in logged, "the test must see the service's own log lines"
    forbidden = {
        "secret": demo.client_secret,
        "hash": stored.secrets[0].secret_hash.split("$")[2],
        "token": token,
        "token signature": token.rsplit(".", 1)[1],
        "token payload": token.split(".")[1],
    }
    for what, value in forbidden.items():
        assert value not in logged, f"{what} was logged"


def test_swapped_id_and_secret_never_put_the_secret_in_the_log(
    http: Any, moto_services: runtime.Services, caplog: pytest.LogCaptureFixture
) -> None:
    demo = seed_demo(moto_services)
    with caplog.at_level(logging.DEBUG):
        response = http.post(
            "/oauth/token",
            headers={**FORM, **basic(demo.client_secret, demo.client_id)},  # swapped
            body=form(grant_type="client_credentials", audience="x"),
        )
    assert response.status_code == 401
    assert "client authentication failed client_id=<malformed>" in caplog.text
    assert demo.client_secret not in caplog.text
