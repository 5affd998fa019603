"""Admin API for an app's mutual-TLS certificates (RFC 8705 §2; docs/mtls.md): add, list,
remove; exactly one rule per registration; RFC 9457 problems; If-Match on the app's
version; one audit record per change; and the app's
``tls_client_certificate_bound_access_tokens`` flag (§3.4)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.admin.tls_clients import MAX_TLS_CLIENTS
from chalicelib.oauth.client_certificate import pem_thumbprint
from tests.certificates import DAY, der_b64, issued, now, self_signed, x5c_jwk
from tests.fakes import FakeClock
from tests.functional.admin_helpers import (
    audit_log,
    error_fields,
    expect,
    new_app,
    new_audit_records,
    problem,
    send,
)

DN = "CN=orders-worker,O=Example Corp,C=DE"


def path(client_id: str, *rest: str) -> str:
    return "/".join([f"/admin/apps/{client_id}/tls-clients", *rest])


def add(http: Any, client_id: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return send(http, "POST", path(client_id), body, headers)


def test_add_a_subject_dn_returns_it_in_normal_form_and_the_apps_new_etag(http: Any) -> None:
    app = new_app(http)

    response = add(http, app["client_id"], {"tls_client_auth_subject_dn": DN})

    body = expect(response, 201)
    assert body["id"].startswith("tls_") and body["method"] == "tls_client_auth"
    assert body["tls_client_auth_subject_dn"] == DN
    assert body["expires_at"] is None and body["created_at"]
    assert response.headers["ETag"] == f'"{app["version"] + 1}"'


@pytest.mark.parametrize(("field", "given", "stored"), [
    ("tls_client_auth_san_dns", "Worker.Example.com", "worker.example.com"),
    ("tls_client_auth_san_uri", "spiffe://example.com/w", "spiffe://example.com/w"),
    ("tls_client_auth_san_ip", "2001:0db8::0001", "2001:db8::1"),
    ("tls_client_auth_san_email", "ops@EXAMPLE.com", "ops@example.com"),
])
def test_subject_alternative_names_are_stored_in_the_form_they_are_compared_in(
    http: Any, field: str, given: str, stored: str
) -> None:
    app = new_app(http)

    body = expect(add(http, app["client_id"], {field: given}), 201)

    assert body[field] == stored and body["method"] == "tls_client_auth"


def test_a_self_signed_certificate_is_stored_as_its_thumbprint_with_its_expiry(
    http: Any,
) -> None:
    app = new_app(http)
    pem, certificate = self_signed()

    body = expect(add(http, app["client_id"], {"certificate": pem}), 201)

    assert body["method"] == "self_signed_tls_client_auth"
    assert body["x5t#S256"] == [pem_thumbprint(pem)]
    assert body["expires_at"] == certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "certificate" not in body


def test_a_jwks_whose_keys_carry_x5c_is_stored_as_their_thumbprints(http: Any) -> None:
    app = new_app(http)
    first_pem, first = self_signed()
    second_pem, second = self_signed()

    body = expect(add(http, app["client_id"], {"jwks": {"keys": [
        x5c_jwk(first, kid="a"), x5c_jwk(second, kid="b")]}}), 201)

    assert body["x5t#S256"] == [pem_thumbprint(first_pem), pem_thumbprint(second_pem)]


def test_thumbprints_are_accepted_as_one_or_a_list(http: Any) -> None:
    app = new_app(http)
    one, two = pem_thumbprint(self_signed()[0]), pem_thumbprint(self_signed()[0])

    assert expect(add(http, app["client_id"], {"x5t#S256": one}), 201)["x5t#S256"] == [one]
    assert expect(add(http, app["client_id"], {"x5t#S256": [two]}), 201)["x5t#S256"] == [two]


def test_list_shows_the_registrations_oldest_first_with_the_apps_etag(
    http: Any, clock: FakeClock
) -> None:
    app = new_app(http)
    first = expect(add(http, app["client_id"], {"tls_client_auth_subject_dn": DN}), 201)
    clock.advance(1)
    second = expect(add(http, app["client_id"], {"tls_client_auth_san_dns": "a.example"}), 201)

    response = http.get(path(app["client_id"]))

    assert expect(response) == {"items": [first, second], "next": None}
    assert response.headers["ETag"] == f'"{app["version"] + 2}"'


def test_remove_deletes_the_registration_and_both_changes_are_audited(http: Any) -> None:
    app = new_app(http)
    before = audit_log(http)
    created = expect(add(http, app["client_id"], {"tls_client_auth_subject_dn": DN}), 201)

    response = http.delete(path(app["client_id"], created["id"]))

    assert response.status_code == 204
    assert expect(http.get(path(app["client_id"])))["items"] == []
    records = new_audit_records(http, before)
    assert [r["action"] for r in records] == ["tls_client.delete", "tls_client.create"]
    assert records[1]["target"] == f"app/{app['client_id']}/tls-clients/{created['id']}"
    assert records[1]["changes"]["tls_client_auth_subject_dn"] == [
        "CN=orders-worker,O=Example Corp,C=DE"]


@pytest.mark.parametrize("body", [
    {"tls_client_auth_subject_dn": DN, "tls_client_auth_san_dns": "a.example.com"},
    {"tls_client_auth_san_dns": "a.example.com", "x5t#S256": "A" * 43},
    {"certificate": "x", "jwks": {"keys": []}},
])
def test_two_rules_at_once_are_refused_naming_both_fields(http: Any, body: dict[str, Any]) -> None:
    app = new_app(http)

    found = problem(add(http, app["client_id"], body), 400, "validation")

    assert set(error_fields(found)) == set(body)


def test_a_registration_without_any_rule_is_refused(http: Any) -> None:
    app = new_app(http)

    found = problem(add(http, app["client_id"], {}), 400, "validation")

    assert "tls_client_auth_subject_dn" in error_fields(found)


@pytest.mark.parametrize(("body", "field"), [
    ({"tls_client_auth_subject_dn": "not a dn"}, "tls_client_auth_subject_dn"),
    ({"tls_client_auth_subject_dn": ""}, "tls_client_auth_subject_dn"),
    ({"tls_client_auth_subject_dn": 7}, "tls_client_auth_subject_dn"),
    ({"tls_client_auth_san_dns": "https://a.example.com"}, "tls_client_auth_san_dns"),
    ({"tls_client_auth_san_uri": "no-scheme"}, "tls_client_auth_san_uri"),
    ({"tls_client_auth_san_ip": "192.0.2.300"}, "tls_client_auth_san_ip"),
    ({"tls_client_auth_san_email": "nobody"}, "tls_client_auth_san_email"),
    ({"x5t#S256": "too-short"}, "x5t#S256"),
    ({"x5t#S256": ["A" * 43] * 6}, "x5t#S256"),
    ({"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
     "certificate"),
    ({"jwks": {"keys": "nope"}}, "jwks"),
    ({"unknown": 1}, "unknown"),
])
def test_invalid_rules_are_refused_by_field(http: Any, body: dict[str, Any], field: str) -> None:
    app = new_app(http)

    found = problem(add(http, app["client_id"], body), 400, "validation")

    assert field in error_fields(found)
    assert expect(http.get(path(app["client_id"])))["items"] == []


def test_an_expired_certificate_cannot_be_registered(http: Any) -> None:
    app = new_app(http)
    pem, _ = self_signed(not_before=now() - 30 * DAY, not_after=now() - DAY)

    found = problem(add(http, app["client_id"], {"certificate": pem}), 400, "validation")

    assert error_fields(found) == ["certificate"]


def test_a_jwk_whose_x5c_holds_another_key_is_refused(http: Any) -> None:
    app = new_app(http)
    _, mine = self_signed()
    _, other = self_signed()
    jwk = {**x5c_jwk(mine), "x5c": [der_b64(other)]}

    found = problem(add(http, app["client_id"], {"jwks": {"keys": [jwk]}}), 400,
                    "validation")

    assert error_fields(found) == ["jwks.keys[0].x5c[0]"]


def test_a_jwk_with_private_members_is_refused_and_never_echoed(http: Any) -> None:
    app = new_app(http)
    _, mine = self_signed()
    jwk = {**x5c_jwk(mine), "d": "c2VjcmV0LXNjYWxhcg"}

    response = add(http, app["client_id"], {"jwks": {"keys": [jwk]}})

    assert error_fields(problem(response, 400, "validation")) == ["jwks.keys[0]"]
    assert b"c2VjcmV0LXNjYWxhcg" not in response.body


def test_a_jwk_without_x5c_is_refused(http: Any) -> None:
    app = new_app(http)
    _, mine = self_signed()
    jwk = {k: v for k, v in x5c_jwk(mine).items() if k != "x5c"}

    found = problem(add(http, app["client_id"], {"jwks": {"keys": [jwk]}}), 400,
                    "validation")

    assert error_fields(found) == ["jwks.keys[0].x5c"]


def test_the_same_rule_twice_is_a_conflict(http: Any) -> None:
    app = new_app(http)
    expect(add(http, app["client_id"], {"tls_client_auth_subject_dn": DN}), 201)

    problem(add(http, app["client_id"], {"tls_client_auth_subject_dn": DN}), 409, "conflict")


def test_an_app_registers_at_most_five(http: Any) -> None:
    app = new_app(http)
    for i in range(MAX_TLS_CLIENTS):
        expect(add(http, app["client_id"], {"tls_client_auth_san_dns": f"w{i}.example.com"}), 201)

    problem(add(http, app["client_id"], {"tls_client_auth_san_dns": "w9.example.com"}), 409,
            "conflict")


def test_if_match_names_the_apps_version(http: Any) -> None:
    app = new_app(http)
    stale = {"If-Match": f'"{app["version"] + 5}"'}

    problem(add(http, app["client_id"], {"tls_client_auth_subject_dn": DN}, stale), 412,
            "precondition-failed")
    created = expect(add(http, app["client_id"], {"tls_client_auth_subject_dn": DN},
                         {"If-Match": f'"{app["version"]}"'}), 201)
    response = http.delete(path(app["client_id"], created["id"]), headers=stale)
    problem(response, 412, "precondition-failed")


@pytest.mark.parametrize("credential_id", ["tls_0000000000000000", "nonsense", "x" * 300])
def test_removing_an_unknown_registration_is_not_found(http: Any, credential_id: str) -> None:
    app = new_app(http)

    problem(http.delete(path(app["client_id"], credential_id)), 404, "not-found")


def test_an_unknown_app_is_not_found(http: Any) -> None:
    problem(add(http, "a" * 26, {"tls_client_auth_subject_dn": DN}), 404, "not-found")
    problem(http.get(path("a" * 26)), 404, "not-found")


# -- the app's tls_client_certificate_bound_access_tokens (RFC 8705 §3.4) -------------


def test_apps_are_created_and_patched_with_the_bound_tokens_flag(http: Any) -> None:
    app = new_app(http, tls_client_certificate_bound_access_tokens=True)
    assert app["tls_client_certificate_bound_access_tokens"] is True

    patched = expect(send(http, "PATCH", f"/admin/apps/{app['client_id']}",
                          {"tls_client_certificate_bound_access_tokens": False}))

    assert patched["tls_client_certificate_bound_access_tokens"] is False
    assert new_app(http)["tls_client_certificate_bound_access_tokens"] is False


def test_the_bound_tokens_flag_must_be_a_boolean(http: Any) -> None:
    found = problem(send(http, "POST", "/admin/apps", {
        "name": "x", "tls_client_certificate_bound_access_tokens": "yes"}), 400,
        "validation")

    assert error_fields(found) == ["tls_client_certificate_bound_access_tokens"]


def test_a_ca_issued_certificate_can_also_be_registered_by_thumbprint(http: Any) -> None:
    app = new_app(http)
    pem = issued()

    body = expect(add(http, app["client_id"], {"certificate": pem}), 201)

    assert body["x5t#S256"] == [pem_thumbprint(pem)]
