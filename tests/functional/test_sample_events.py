"""AWS's own sample events (SAM CLI's templates, the Lambda console's "Test" button)
through the real Lambda handlers: they lack fields real events carry, and each gets a
clear answer or log line, never a 500 or a crash (tests/fixtures/sam_events/)."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.config import Settings
from chalicelib.store.memory import MemoryStore
from chalicelib.store.records import KeyState
from tests.fakes import LocalKeySigner

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "sam_events"


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def proxy_event(path: str, method: str) -> dict[str, Any]:
    """SAM's aws-proxy sample aimed at one of our routes (it has no domainName)."""
    event = copy.deepcopy(sample("apigateway-aws-proxy.json"))
    event["path"] = event["resource"] = event["requestContext"]["resourcePath"] = path
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    return event


@pytest.fixture
def no_issuer_services() -> Any:
    """A deployment without ISSUER: the issuer comes from API Gateway's request context."""
    signer = LocalKeySigner()
    signer.add_rsa("k")
    services = runtime.build_services(Settings.from_env({"TABLE_NAME": "t"}), MemoryStore(),
                                      signer)
    services.keyring.register("k", "RS256", KeyState.CURRENT)
    runtime.install(services)
    yield services
    runtime.install(None)


def test_the_sample_event_has_no_domain_name() -> None:
    assert "domainName" not in sample("apigateway-aws-proxy.json")["requestContext"]
    assert "version" not in sample("cloudwatch-scheduled-event.json")


def test_metadata_answers_a_400_problem_naming_what_the_event_lacks(
    no_issuer_services: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import app as chalice_app

    with caplog.at_level(logging.ERROR):
        response = chalice_app.app(
            proxy_event("/.well-known/oauth-authorization-server", "GET"), None)

    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"] == "application/problem+json"
    body = json.loads(response["body"])
    assert "ISSUER" in body["detail"] and "requestContext.domainName" in body["detail"]
    assert "Traceback" not in response["body"]
    assert "requestContext.domainName" in caplog.text


def test_token_endpoint_answers_invalid_request_naming_what_the_event_lacks(
    no_issuer_services: Any,
) -> None:
    import app as chalice_app

    response = chalice_app.app(proxy_event("/oauth/token", "POST"), None)

    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert body["error"] == "invalid_request"
    assert "requestContext.domainName" in body["error_description"]


def test_the_same_event_with_a_domain_name_gets_metadata(no_issuer_services: Any) -> None:
    import app as chalice_app

    event = proxy_event("/.well-known/oauth-authorization-server", "GET")
    event["requestContext"]["domainName"] = "1234567890.execute-api.us-east-1.amazonaws.com"
    response = chalice_app.app(event, None)

    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["issuer"] == (
        "https://1234567890.execute-api.us-east-1.amazonaws.com/prod")


def test_schedule_handler_logs_a_sample_event_without_version_and_does_nothing(
    no_issuer_services: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from chalicelib.routes import schedule

    with caplog.at_level(logging.ERROR):
        result = schedule.rotate_signing_keys(sample("cloudwatch-scheduled-event.json"), None)

    assert "not a scheduled event: missing version" in result
    assert "missing version" in caplog.text


def test_schedule_handler_runs_the_rotation_on_a_full_event(no_issuer_services: Any) -> None:
    from chalicelib.routes import schedule

    event = {**sample("cloudwatch-scheduled-event.json"), "version": "0"}
    with pytest.raises(RuntimeError, match="key rotation needs the KMS key factory"):
        schedule.rotate_signing_keys(event, None)  # reached the rotation itself
