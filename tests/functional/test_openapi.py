"""The OpenAPI 3.1 document (chalicelib/openapi.json): valid, in step with the Chalice
app's routes, admin routes behind IAM (SigV4) and only they, and served at /openapi.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.app import IAMAuthorizer
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.assertion_keys import new_key_pair
from tests.conftest import Demo
from tests.functional.conftest import FORM, JSON, basic, form, token_request

DOCUMENT = Path(__file__).resolve().parents[2] / "chalicelib" / "openapi.json"
DOCUMENT_URI = "urn:m2m-auth:openapi"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
SIGV4 = [{"sigv4": []}]

# The OAuth endpoints answer every other method with 405 through one view (see app.py);
# the document may leave those methods out (it describes the 405 on the POST operation).
POST_ONLY_PATHS = {"/oauth/token", "/oauth/introspect", "/oauth/revoke"}
CATCH_ALL_METHODS = {"GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
CATCH_ALL_VIEW = "post_only"
# Reads that are reports, not versioned items (no ETag): usage computed from counters,
# an issuer's key set as fetched.
REPORTS = {"/admin/apps/{client_id}/usage", "/admin/issuers/{issuer_id}/keys"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def is_admin(path: str) -> bool:
    return path == "/admin" or path.startswith("/admin/")


def app_routes() -> dict[str, dict[str, Any]]:
    """Path → {METHOD: RouteEntry} of the Chalice app."""
    import app as chalice_app

    routes: dict[str, dict[str, Any]] = chalice_app.app.routes
    return routes


def is_405_catch_all(path: str, method: str, entry: Any) -> bool:
    return (
        path in POST_ONLY_PATHS
        and method in CATCH_ALL_METHODS
        and entry.view_name == CATCH_ALL_VIEW
    )


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, METHOD, operation) for every operation in the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method.upper(), operation


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/components/...``) to what it names."""
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are used: {ref}"
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["info"]["title"] == "m2m-auth"
    assert "{issuer}" in document["servers"][0]["url"]


def test_document_and_app_have_the_same_routes_and_methods(document: dict[str, Any]) -> None:
    routes = app_routes()
    documented: dict[str, set[str]] = {}
    for path, method, _ in operations(document):
        documented.setdefault(path, set()).add(method)

    mismatches = []
    for path in sorted(routes.keys() | documented.keys()):
        served = routes.get(path, {})
        required = {m for m, entry in served.items() if not is_405_catch_all(path, m, entry)}
        in_doc = documented.get(path, set())
        if missing := sorted(required - in_doc):
            mismatches.append(f"{path}: served but not documented: {missing}")
        if extra := sorted(in_doc - set(served)):
            mismatches.append(f"{path}: documented but not served: {extra}")
    assert not mismatches, "\n".join(mismatches)


def test_admin_routes_have_the_iam_authorizer_and_public_routes_none() -> None:
    routes = app_routes()
    entries = [(path, method, entry) for path, methods in routes.items()
               for method, entry in methods.items()]
    admin = [(path, method) for path, method, _ in entries if is_admin(path)]
    assert admin, "the app has no /admin route, so there is nothing to check"

    wrong = [
        f"{method} {path}: authorizer {entry.authorizer!r}"
        for path, method, entry in entries
        if (
            not isinstance(entry.authorizer, IAMAuthorizer)
            if is_admin(path)
            else entry.authorizer is not None
        )
    ]
    assert not wrong, "\n".join(wrong)


def test_admin_operations_and_only_they_require_sigv4(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["sigv4"] == {
        **schemes["sigv4"],
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "x-amazon-apigateway-authtype": "awsSigv4",
    }
    assert schemes["clientSecretBasic"]["type"] == "http"
    assert schemes["clientSecretBasic"]["scheme"] == "basic"
    # a document-wide requirement would silently apply to operations without their own
    assert not any("sigv4" in req for req in document.get("security", []))

    ops = list(operations(document))
    assert any(is_admin(path) for path, _, _ in ops), "the document has no /admin operation"
    wrong = []
    for path, method, operation in ops:
        security = operation.get("security")
        if is_admin(path):
            if security != SIGV4:
                wrong.append(f"{method} {path}: security {security!r}, want {SIGV4!r}")
        elif any(set(req) - {"clientSecretBasic"} for req in security or []):
            wrong.append(f"{method} {path}: public operation with security {security!r}")
    assert not wrong, "\n".join(wrong)


def test_admin_operations_document_the_contract_conventions(document: dict[str, Any]) -> None:
    """docs/admin-contract.md: If-Match and 412 on writes, limit/next on lists, ETag on
    reads of one item, every error of the service as application/problem+json."""
    wrong = []
    for path, method, operation in operations(document):
        if not is_admin(path):
            continue
        where = f"{method} {path}"
        declared = [*document["paths"][path].get("parameters", []),
                    *operation.get("parameters", [])]
        parameters = {resolve(document, p)["name"] for p in declared}
        responses = operation["responses"]
        unversioned = path == "/admin/apps/{client_id}/secrets/{secret_id}"
        if method in {"PATCH", "PUT", "DELETE"} and not unversioned and not (
            "If-Match" in parameters and "412" in responses
        ):
            wrong.append(f"{where}: no If-Match parameter or 412 response")
        ok = resolve(document, responses.get("200", {}))
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        if method == "GET":
            if schema.get("$ref", "").endswith("List"):
                if not {"limit", "next"} <= parameters:
                    wrong.append(f"{where}: a list without limit/next parameters")
            elif "ETag" not in ok.get("headers", {}) and path not in REPORTS:
                wrong.append(f"{where}: a read of one item without an ETag header")
        for status in ("400", "404", "409", "412", "413", "415", "500", "503"):
            if status in responses:
                content = resolve(document, responses[status])["content"]
                if set(content) != {"application/problem+json"}:
                    wrong.append(f"{where}: {status} is not application/problem+json")
                elif resolve(document, content["application/problem+json"]["schema"]) != (
                    document["components"]["schemas"]["Problem"]
                ):
                    wrong.append(f"{where}: {status} does not use the Problem schema")
    assert not wrong, "\n".join(wrong)


def test_openapi_json_is_served(http: Any, document: dict[str, Any]) -> None:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    headers = {name.lower(): value for name, value in response.headers.items()}
    assert headers["content-type"].split(";")[0].strip() == "application/json"
    assert json.loads(response.body) == document


def assert_conforms(document: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The response's status, media type, body and required headers are as documented."""
    operation = document["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path}: {status} is not documented"
    spec = resolve(document, operation["responses"][status])
    headers = {name.lower(): value for name, value in response.headers.items()}
    media = headers["content-type"].split(";")[0].strip()
    assert media in spec["content"], f"{method} {path} {status}: {media} is not documented"

    schema = spec["content"][media]["schema"]
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, DRAFT202012.create_resource(document)
    )
    validator = Draft202012Validator({"$ref": DOCUMENT_URI + schema["$ref"]}, registry=registry)
    errors = sorted(error.message for error in validator.iter_errors(json.loads(response.body)))
    assert not errors, f"{method} {path} {status}: {errors}"

    for name, header in spec.get("headers", {}).items():
        header = resolve(document, header)
        value = headers.get(name.lower())
        if header.get("required"):
            assert value is not None, f"{method} {path} {status}: no {name} header"
        if value is not None:
            errors = [e.message for e in Draft202012Validator(header["schema"]).iter_errors(value)]
            assert not errors, f"{method} {path} {status}: {name}: {errors}"


def test_public_responses_match_the_document(
    http: Any, demo: Demo, document: dict[str, Any]
) -> None:
    auth = {**FORM, **basic(demo.client_id, demo.client_secret)}
    issued = token_request(http, demo)
    assert_conforms(document, "/oauth/token", "post", issued)
    token = json.loads(issued.body)["access_token"]
    as_json = http.post(
        "/oauth/token",
        headers=JSON,
        body=json.dumps({"grant_type": "client_credentials", "client_id": demo.client_id,
                         "client_secret": demo.client_secret, "audience": "nobody"}),
    )
    assert as_json.status_code == 400
    assert_conforms(document, "/oauth/token", "post", as_json)
    wrong_secret = token_request(http, Demo(demo.api_id, demo.client_id, "m2msec_x", "s"))
    assert wrong_secret.status_code == 401
    assert_conforms(document, "/oauth/token", "post", wrong_secret)
    for path in ("/oauth/token", "/oauth/introspect", "/oauth/revoke"):
        refused = http.get(path)
        assert refused.status_code == 405
        assert_conforms(document, path, "post", refused)  # documented on the POST operation

    for value in (token, "not-a-token"):  # active, then inactive
        introspected = http.post("/oauth/introspect", headers=auth, body=form(token=value))
        assert introspected.status_code == 200
        assert_conforms(document, "/oauth/introspect", "post", introspected)
    revoked = http.post("/oauth/revoke", headers=auth, body=form(token=token))
    assert revoked.status_code == 200
    assert_conforms(document, "/oauth/revoke", "post", revoked)

    for path in ("/.well-known/jwks.json", "/.well-known/oauth-authorization-server"):
        found = http.get(path)
        assert found.status_code == 200
        assert_conforms(document, path, "get", found)


def admin_call(
    http: Any,
    document: dict[str, Any],
    method: str,
    template: str,
    ids: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Call an admin route and check the answer against the document's operation."""
    path = template.format(**(ids or {}))
    response = getattr(http, method)(
        path,
        headers={**JSON, **(headers or {})},
        body="" if body is None else json.dumps(body),
    )
    if response.status_code == 204:
        assert "204" in document["paths"][template][method]["responses"]
    else:
        assert_conforms(document, template, method, response)
    return response


def test_admin_responses_match_the_document(http: Any, document: dict[str, Any]) -> None:
    ids: dict[str, str] = {}

    def call(
        method: str, template: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        return admin_call(http, document, method, template, ids, body, headers)

    api = call("post", "/admin/apis", {"name": "Orders", "identifier": "https://api.example/o",
                                       "scopes": [{"value": "o:read", "description": "Read"}]})
    assert api.status_code == 201
    ids["api_id"] = json.loads(api.body)["id"]
    assert call("post", "/admin/apis", {"name": "Again", "identifier": "https://api.example/o"}
                ).status_code == 409
    assert call("post", "/admin/apis", {"name": "", "bogus": 1}).status_code == 400
    assert call("get", "/admin/apis").status_code == 200
    assert call("get", "/admin/apis/{api_id}").status_code == 200
    assert call("patch", "/admin/apis/{api_id}", {"name": "Orders v2"},
                headers={"If-Match": '"99"'}).status_code == 412
    assert call("patch", "/admin/apis/{api_id}", {"name": "Orders v2"}).status_code == 200

    created = call("post", "/admin/apps", {"name": "Billing", "claims": {"tenant": "acme"}})
    assert created.status_code == 201
    ids["client_id"] = json.loads(created.body)["client_id"]
    assert call("get", "/admin/apps").status_code == 200
    assert call("get", "/admin/apps/{client_id}").status_code == 200
    assert call("patch", "/admin/apps/{client_id}", {"enabled": False}).status_code == 200
    assert call("post", "/admin/apps/{client_id}/revoke-tokens").status_code == 200
    assert call("put", "/admin/apps/{client_id}/grants/{api_id}", {"scopes": ["o:read"]}
                ).status_code == 200
    assert call("get", "/admin/apps/{client_id}/grants").status_code == 200
    assert call("get", "/admin/apis/{api_id}/grants").status_code == 200
    secret = call("post", "/admin/apps/{client_id}/secrets", {"expires_in": 3600})
    assert secret.status_code == 201
    ids["secret_id"] = json.loads(secret.body)["secret_id"]
    assert call("delete", "/admin/apps/{client_id}/secrets/{secret_id}").status_code == 204
    assert call("delete", "/admin/apps/{client_id}/grants/{api_id}").status_code == 204
    jwk = new_key_pair("ES256", kid="k1").public_jwk
    assert call("post", "/admin/apps/{client_id}/keys", {"jwk": jwk}).status_code == 201
    assert call("post", "/admin/apps/{client_id}/keys", {"jwk": jwk}).status_code == 409
    assert call("post", "/admin/apps/{client_id}/keys", {"jwk": {"kty": "oct", "k": "x"}}
                ).status_code == 400
    assert call("get", "/admin/apps/{client_id}/keys").status_code == 200
    ids["kid"] = "k1"
    assert call("delete", "/admin/apps/{client_id}/keys/{kid}",
                headers={"If-Match": '"9"'}).status_code == 412
    assert call("delete", "/admin/apps/{client_id}/keys/{kid}").status_code == 204
    assert call("post", "/admin/apps", {"name": "Keyed", "secret": False}).status_code == 201

    assert call("get", "/admin/keys").status_code == 200
    assert call("get", "/admin/audit").status_code == 200
    assert call("delete", "/admin/apps/{client_id}").status_code == 204
    assert call("get", "/admin/apps/{client_id}").status_code == 404
    assert call("delete", "/admin/apis/{api_id}").status_code == 204


def _body_schema(document: dict[str, Any], name: str) -> Draft202012Validator:
    registry = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
    return Draft202012Validator({"$ref": f"{DOCUMENT_URI}#/components/schemas/{name}"},
                                registry=registry)


def test_request_schemas_use_the_validators_own_patterns(document: dict[str, Any]) -> None:
    from chalicelib.admin.client_keys import KID_SHAPE
    from chalicelib.federation.issuers import (
        AWS_OUTBOUND_ISSUER,
        ISSUER_URL,
        KEYS_URL,
        TRUST_DOMAIN,
    )

    schemas = document["components"]["schemas"]
    issuer = schemas["TrustedIssuerCreate"]
    assert issuer["properties"]["issuer"]["pattern"] == f"^{ISSUER_URL}$"
    assert issuer["properties"]["jwks_uri"]["pattern"] == f"^{KEYS_URL}$"
    assert issuer["properties"]["bundle_endpoint"]["pattern"] == f"^{KEYS_URL}$"
    assert issuer["properties"]["trust_domain"]["pattern"] == f"^{TRUST_DOMAIN.pattern}$"
    aws = next(b for b in issuer["oneOf"] if b["title"] == "aws-outbound")
    assert aws["properties"]["issuer"]["pattern"] == f"^{AWS_OUTBOUND_ISSUER.pattern}$"
    assert schemas["PublicClientJwk"]["properties"]["kid"]["pattern"] == f"^{KID_SHAPE.pattern}$"


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123456789012:role/Billing",
    "arn:aws-us-gov:iam::123456789012:user/a/b/c/x+=,.@_-",
    "arn:aws:iam::123456789012:role/" + "p" * 510 + "/n",
    "arn:aws:iam::123456789012:role/" + "p" * 511 + "/n",
    "arn:aws:iam::123456789012:role/" + "n" * 64,
    "arn:aws:iam::123456789012:role/" + "n" * 65,
    "arn:aws:iam::123456789012:role/Bill\u00e9",
    "arn:aws:iam::123456789012:role/",
    "arn:aws:iam::123456789012:group/admins",
    "arn:aws:sts::123456789012:assumed-role/Billing/s",
    "arn:aws-iso:iam::123456789012:role/Billing",
])
def test_arn_pattern_accepts_what_the_validator_accepts(
    document: dict[str, Any], arn: str
) -> None:
    from chalicelib.oauth.aws_arn import registered_principal

    validator = _body_schema(document, "AwsPrincipalCreate")

    assert validator.is_valid({"arn": arn}) == (registered_principal(arn) is not None)


@pytest.mark.parametrize(("body", "valid"), [
    ({"issuer": "https://idp.example"}, True),
    ({"preset": "eks", "issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/AB12"}, True),
    ({"preset": "github-actions"}, True),
    ({"preset": "aws-outbound", "issuer": "https://a1.tokens.sts.global.api.aws"}, True),
    ({"preset": "spiffe", "trust_domain": "td.example", "bundle_endpoint": "https://s.example/b"},
     True),
    ({"preset": "spiffe", "trust_domain": "td.example", "jwks_uri": "https://s.example/b"}, True),
    ({}, False),
    ({"issuer": "https://idp.example", "name": ""}, False),
    ({"issuer": "https://idp.example", "jwks_uri": ""}, False),
    ({"issuer": "https://idp.example", "trust_domain": "td.example"}, False),
    ({"issuer": "https://idp.example/"}, False),
    ({"preset": "github-actions", "issuer": "https://idp.example"}, False),
    ({"preset": "aws-outbound", "issuer": "https://idp.example"}, False),
    ({"preset": "spiffe", "trust_domain": "td.example"}, False),
    ({"preset": "spiffe", "trust_domain": "td.example", "bundle_endpoint": "https://s.example/b",
      "jwks_uri": "https://s.example/b"}, False),
    ({"preset": "spiffe", "issuer": "spiffe://td.example", "trust_domain": "td.example",
      "bundle_endpoint": "https://s.example/b"}, False),
])
def test_trusted_issuer_schema_states_each_presets_fields(
    document: dict[str, Any], body: dict[str, Any], valid: bool
) -> None:
    assert _body_schema(document, "TrustedIssuerCreate").is_valid(body) is valid


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_client_key_schema_accepts_real_public_keys_and_refuses_private_ones(
    document: dict[str, Any], alg: str
) -> None:
    pair = new_key_pair(alg)
    validator = _body_schema(document, "ClientKeyCreate")

    assert validator.is_valid({"jwk": pair.public_jwk})
    assert not validator.is_valid({"jwk": {**pair.public_jwk, "d": "AAAA"}})
    assert not validator.is_valid({"jwk": {**pair.public_jwk, "crv": None}})
