"""API Gateway's own answers (issue 8 §1.3): gateway responses in the packaged
template's API definition, one JSON body for OAuth clients and problem readers alike,
checked against the OpenAPI document's GatewayError schema."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from infra import names as ids
from infra import template as tpl
from infra.gateway_responses import BASIC_CHALLENGE, RESPONSES
from infra.stage import StageConfig

EXTENSION = "x-amazon-apigateway-gateway-responses"
REQUIRED = {"DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED",
            "MISSING_AUTHENTICATION_TOKEN"}
# API Gateway's response types (GatewayResponse API reference, "Valid Values").
AWS_TYPES = {
    "DEFAULT_4XX", "DEFAULT_5XX", "RESOURCE_NOT_FOUND", "UNAUTHORIZED", "INVALID_API_KEY",
    "ACCESS_DENIED", "AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR",
    "INVALID_SIGNATURE", "EXPIRED_TOKEN", "MISSING_AUTHENTICATION_TOKEN",
    "INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "API_CONFIGURATION_ERROR",
    "UNSUPPORTED_MEDIA_TYPE", "BAD_REQUEST_PARAMETERS", "BAD_REQUEST_BODY",
    "REQUEST_TOO_LARGE", "THROTTLED", "QUOTA_EXCEEDED", "WAF_FILTERED",
}
HEADER = "gatewayresponse.header."
DOCUMENT = Path(__file__).resolve().parents[2] / "chalicelib" / "openapi.json"


def _extension(template: dict[str, Any]) -> dict[str, Any]:
    body = template["Resources"][ids.REST_API]["Properties"]["DefinitionBody"]
    found: dict[str, Any] = body[EXTENSION]
    return found


@pytest.fixture(scope="module")
def responses(dev_stage: StageConfig) -> dict[str, Any]:
    return _extension(tpl.merge_template(dev_stage, ids.AppShape(True)))


def _rendered(entry: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The body as API Gateway sends it: ``$context.requestId`` substituted."""
    template = entry["responseTemplates"]["application/json"]
    request_id = str(uuid.uuid4())
    return json.loads(template.replace("$context.requestId", request_id)), request_id


def _headers(entry: dict[str, Any]) -> dict[str, str]:
    params = entry["responseParameters"]
    assert all(k.startswith(HEADER) for k in params), params
    values = {k.removeprefix(HEADER): v for k, v in params.items()}
    # static values are single-quoted; nothing else is allowed inside
    assert all(re.fullmatch(r"'[^']*'", v) for v in values.values()), values
    return {k: v[1:-1] for k, v in values.items()}


def test_packaged_api_definition_carries_the_gateway_responses(
    template: dict[str, Any], responses: dict[str, Any]
) -> None:
    assert _extension(template) == responses


def test_configures_every_required_type_and_only_types_api_gateway_knows(
    responses: dict[str, Any],
) -> None:
    assert set(responses) >= REQUIRED
    assert set(responses) <= AWS_TYPES


def test_unknown_paths_are_a_404(responses: dict[str, Any]) -> None:
    entry = responses["MISSING_AUTHENTICATION_TOKEN"]
    body, _ = _rendered(entry)
    assert entry["statusCode"] == "404" and body["status"] == 404
    assert body["type"] == "urn:m2m-auth:problem:not-found"


@pytest.mark.parametrize("response_type", sorted(RESPONSES))
def test_every_body_is_oauth_json_and_a_problem_at_once(
    responses: dict[str, Any], response_type: str
) -> None:
    entry = responses[response_type]
    assert set(entry["responseTemplates"]) == {"application/json"}
    template = entry["responseTemplates"]["application/json"]
    # only the request id is substituted: never API Gateway's message (it can quote
    # the Authorization header, unescaped)
    assert re.findall(r"\$[\w.]+", template) == ["$context.requestId"]
    body, request_id = _rendered(entry)
    assert body["request_id"] == request_id
    assert isinstance(body["error"], str) and body["error_description"] == body["detail"]
    assert body["type"].startswith("urn:m2m-auth:problem:") and body["title"]
    if response_type.startswith("DEFAULT_"):
        assert "statusCode" not in entry and "status" not in body  # each keeps its own
    else:
        assert re.fullmatch(r"[1-5]\d\d", entry["statusCode"])
        assert body["status"] == int(entry["statusCode"])

    document = json.loads(DOCUMENT.read_text())
    registry: Registry[Any] = Registry().with_resource(
        "urn:doc", DRAFT202012.create_resource(document)
    )
    validator = Draft202012Validator(
        {"$ref": "urn:doc#/components/schemas/GatewayError"}, registry=registry
    )
    assert [e.message for e in validator.iter_errors(body)] == []


@pytest.mark.parametrize("response_type", sorted(RESPONSES))
def test_every_answer_is_not_stored_and_401s_challenge(
    responses: dict[str, Any], response_type: str
) -> None:
    entry = responses[response_type]
    headers = _headers(entry)
    assert headers["Cache-Control"] == "no-store" and headers["Pragma"] == "no-cache"
    if entry.get("statusCode") == "401":
        assert headers["WWW-Authenticate"] == BASIC_CHALLENGE
    if entry.get("statusCode") == "429":
        assert "Retry-After" in headers or response_type == "QUOTA_EXCEEDED"
