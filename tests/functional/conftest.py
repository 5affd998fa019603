"""Functional tests drive the Chalice app through chalice.test.Client."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from chalice.test import Client

from chalicelib import runtime
from tests.conftest import Demo, seed_demo

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: form-urlencode id and secret, then base64."""
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def form(**params: str) -> str:
    return urlencode(params)


def body_json(response: Any) -> Any:
    return json.loads(response.body)


@pytest.fixture
def http(moto_services: runtime.Services) -> Iterator[Any]:
    """The app on moto (real DynamoDB and KMS adapters)."""
    import app as chalice_app

    runtime.install(moto_services)
    with Client(chalice_app.app) as client:
        yield client.http


@pytest.fixture
def demo(moto_services: runtime.Services) -> Demo:
    return seed_demo(moto_services)


def token_request(http: Any, demo: Demo, **extra: str) -> Any:
    params = {"grant_type": "client_credentials", "audience": demo_audience(), **extra}
    return http.post(
        "/oauth/token",
        headers={**FORM, **basic(demo.client_id, demo.client_secret)},
        body=form(**params),
    )


def demo_audience() -> str:
    from tests.conftest import AUDIENCE

    return AUDIENCE
