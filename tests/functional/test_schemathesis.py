"""Schemathesis against the app (issue 8 §1.6): for every operation of
chalicelib/openapi.json, generated requests — valid and invalid — never get a 5xx,
and every response (status, media type, headers, body) is one the document describes.

In process: requests go through a ``requests`` adapter into the local server's gateway
(infra/local_gateway.py, the same code ``make local`` serves with) and the Chalice app,
on moto DynamoDB and KMS. A bounded number of examples per operation, derandomized, so
the run is quick and repeatable."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from chalice.config import Config
from chalice.local import LocalGatewayException
from hypothesis import HealthCheck, settings
from requests.adapters import HTTPAdapter
from urllib3 import HTTPHeaderDict, HTTPResponse

from chalicelib import runtime
from chalicelib.admin.federation import FederationAdmin
from chalicelib.federation.jwks_fetch import IssuerKeys
from chalicelib.federation.safe_http import FetchFailed, SafeFetcher
from infra.local_gateway import LocalGateway
from tests.conftest import TABLE, make_settings, seed_demo

DOCUMENT = Path(__file__).resolve().parents[2] / "chalicelib" / "openapi.json"
BASE_URL = "http://m2m-auth.test"
EXAMPLES = 10

# Any If-Match that matches no current version is 412 (RFC 9110 §13.1.1), valid syntax or
# not; random ids are 404 and a repeated API identifier 409: refusals a schema cannot
# rule out. Everything else a schema-valid request gets must be 2xx, and a
# schema-violating one must be refused.
CONFIG = schemathesis.Config.from_dict({
    # An OAuth request succeeds only with real credentials, a granted audience and
    # granted scopes: state, not schema (the token endpoint tests cover acceptance).
    "operations": [{"include-path-regex": "^/oauth/",
                    "checks": {"positive_data_acceptance": {"enabled": False}}}],
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "409", "412"]},
        # the OAuth endpoints authenticate the client before they read its request
        "negative_data_rejection": {
            "expected-statuses": ["400", "401", "404", "405", "409", "412", "413", "415"]
        },
    },
})


def _behind_api_gateway(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the app sees it: API Gateway has checked SigV4 before a request
    reaches it (tests/infra check that every admin route requires IAM). And without the
    ``next`` cursor: only cursors the server handed out are valid (400 otherwise, which
    the pagination tests check), which no schema can generate."""
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            if operation.get("security") == [{"sigv4": []}]:
                operation.pop("security")
            operation["parameters"] = [
                p for p in operation.get("parameters", [])
                if p.get("$ref") != "#/components/parameters/Next"
            ]
    return document


schema = schemathesis.openapi.from_dict(
    _behind_api_gateway(json.loads(DOCUMENT.read_text(encoding="utf-8"))), config=CONFIG
)
def _field_errors(response: Any) -> list[tuple[str, str]]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [(e["field"], e["message"]) for e in errors or []]


@schema.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Any, case: schemathesis.Case, response: Any
) -> bool:
    """Keep every failure but a schema-valid request refused for what no JSON Schema
    can state: two scope entries with one value (``"a"`` and ``{"value": "a"}``), or
    a KMS key that KMS does not have."""
    if type(failure).__name__ != "RejectedPositiveData":
        return True
    errors = _field_errors(response)
    scopes = case.body.get("scopes") if isinstance(case.body, dict) else None
    if errors and isinstance(scopes, list) and all(
        re.fullmatch(r"scopes\[\d+\]\.value", f) and m == "is a duplicate" for f, m in errors
    ):
        # identical items are the schema's to refuse (uniqueItems); only keep quiet
        # about items that differ but name one value
        items = [json.dumps(item, sort_keys=True) for item in scopes]
        return len(set(items)) < len(items)
    if errors and all(_state_or_key_material(case.operation.path, f, m) for f, m in errors):
        return False
    return not (case.operation.path == "/admin/keys" and errors
                and all(f == "kms_key_id" and m.startswith("KMS cannot use this key")
                        for f, m in errors))


def _state_or_key_material(path: str, field: str, message: str) -> bool:
    """Refusals no JSON Schema can state, for the secretless admin endpoints:

    - a client JWK whose members are well-formed base64url but do not encode a public
      key (a point on the curve, an RSA modulus of 2048 bits or more);
    - a URL whose host is a literal IPv4 address that is not public (loopback, private,
      link-local...): the pattern admits dotted quads, and which ones are public is a
      property of the address, not of the string's shape;
    - a federated identity naming an issuer that is not registered, or a subject whose
      shape depends on the kind of that registered issuer (server state)."""
    if path == "/admin/apps/{client_id}/keys":
        return field == "jwk" and (message == "is not a valid public key"
                                   or message.startswith("RSA keys must have at least"))
    if path == "/admin/issuers":
        return (field in {"issuer", "jwks_uri", "bundle_endpoint"}
                and message.startswith("the URL names an address the server never fetches"))
    if path == "/admin/apps/{client_id}/tls-clients":
        # certificate contents (parseable, unexpired, x5c holding the JWK's own key),
        # the RFC 4514 grammar of a DN, and which strings are IP addresses
        return (field.split(".")[0] in {"certificate", "jwks", "tls_client_auth_subject_dn",
                                        "tls_client_auth_san_ip"})
    if path == "/admin/apps/{client_id}/federated-identities":
        return (field == "issuer" and message.startswith("must be a registered trusted issuer")
                or field == "subject" and not message.startswith("must be a string"))
    return False


class GatewayAdapter(HTTPAdapter):
    """Sends a prepared request through the local gateway, in process."""

    def __init__(self, gateway: LocalGateway) -> None:
        super().__init__()
        self._gateway = gateway

    def send(self, request: requests.PreparedRequest, *_: Any, **__: Any) -> requests.Response:
        url = urlsplit(request.url or "")
        body = request.body
        try:
            answer = self._gateway.handle_request(
                method=request.method or "GET",
                path=url.path + (f"?{url.query}" if url.query else ""),
                headers=dict(request.headers),
                body=(body.encode() if isinstance(body, str) else body) or b"",
            )
        except LocalGatewayException as exc:  # the gateway's own answer (unknown path)
            answer = {"statusCode": exc.CODE, "headers": exc.headers, "body": exc.body}
        headers = HTTPHeaderDict()
        for source in (answer["headers"], answer.get("multiValueHeaders") or {}):
            for name, value in source.items():
                for item in value if isinstance(value, list) else [value]:
                    headers.add(name, str(item))
        content = answer["body"] or b""
        raw = HTTPResponse(
            body=io.BytesIO(content.encode() if isinstance(content, str) else content),
            headers=headers, status=answer["statusCode"], version=11, preload_content=False,
        )
        return self.build_response(request, raw)


def _unreachable(host: str, port: int) -> list[str]:
    raise FetchFailed(f"{host} is not resolved in this test")


@pytest.fixture(scope="module")
def services() -> Iterator[runtime.Services]:
    import boto3
    from moto import mock_aws

    from chalicelib.aws.kms_signer import KmsSigner
    from chalicelib.store.dynamodb import DynamoDBStore
    from chalicelib.store.records import KeyState
    from chalicelib.store.schema import create_table

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        kms = boto3.client("kms", region_name="us-east-1")
        create_table(dynamodb, TABLE)
        key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        built = runtime.build_services(make_settings(), DynamoDBStore(dynamodb, TABLE),
                                       KmsSigner(kms))
        # offline: no issuer resolves, so registration stores the issuer with its keys
        # URL to be discovered at first use (never a DNS lookup or a connection)
        built = dataclasses.replace(built, federation=FederationAdmin(
            built.store, time.time, IssuerKeys(SafeFetcher(False, resolver=_unreachable),
                                               time.time)))
        built.keyring.register(key["Arn"], "RS256", KeyState.CURRENT)
        runtime.install(built)
        seed_demo(built)
        yield built


@pytest.fixture
def session(services: runtime.Services) -> Iterator[requests.Session]:
    import app as chalice_app

    runtime.install(services)
    with requests.Session() as client:
        client.mount(BASE_URL, GatewayAdapter(LocalGateway(chalice_app.app, Config.create())))
        yield client


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_app_agrees_with_its_openapi_document(
    case: schemathesis.Case, session: requests.Session
) -> None:
    case.call_and_validate(base_url=BASE_URL, session=session)
