"""Admin use cases for the certificates an app authenticates with over mutual TLS
(RFC 8705 §2; docs/mtls.md): add, list, remove. No HTTP here.

One registration is exactly one of (``ValidationFailed`` otherwise):

- ``tls_client_auth`` (§2.1.2), one expected name: ``tls_client_auth_subject_dn`` (an
  RFC 4514 string, stored in ``cryptography``'s normal form), ``tls_client_auth_san_dns``,
  ``tls_client_auth_san_uri``, ``tls_client_auth_san_ip`` or ``tls_client_auth_san_email``;
- ``self_signed_tls_client_auth`` (§2.2): ``x5t#S256`` (one thumbprint or a list),
  ``certificate`` (one PEM certificate) or ``jwks`` (RFC 7517 keys, each with ``x5c``
  whose first certificate holds that very key, RFC 7517 §4.7). Certificates and key sets
  are stored as their thumbprints; no private member is ever accepted.

Like AWS principals, adding and removing bump the app's version (``If-Match`` names
it), which serialises additions against the limit, and is audited in the same
transaction.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, NotFound
from ..oauth.client_certificate import CertificateError, parse_certificate
from ..oauth.tls_client_auth import (
    SAN_DNS,
    SAN_EMAIL,
    SAN_IP,
    SAN_URI,
    SELF_SIGNED_TLS_CLIENT_AUTH,
    SUBJECT_DN,
    SUBJECT_FIELDS,
    THUMBPRINT,
    TLS_CLIENT_AUTH,
    expected_name,
)
from ..store.records import TlsClient
from . import validation as v
from .audit import SYSTEM, Actor, log_record, new_record
from .client_keys import PRIVATE_MEMBERS
from .usecase import UseCases, check_if_match, stored

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

MAX_TLS_CLIENTS = 5
MAX_THUMBPRINTS = 5
"""Per registration: a JWKS or a thumbprint list for overlapping rotations."""
MAX_NAME_LENGTH = 1024
CREDENTIAL_ID_SHAPE = re.compile(r"tls_[0-9a-f]{16}")
THUMBPRINT_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
"""base64url of 32 bytes, unpadded."""
_DNS_NAME = re.compile(r"(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+")
_EMAIL = re.compile(r"[\x21-\x3f\x41-\x7e]+@[A-Za-z0-9.-]+")
PEM_FIELD = "certificate"
JWKS_FIELD = "jwks"
SELF_SIGNED_FIELDS = (THUMBPRINT, PEM_FIELD, JWKS_FIELD)
FIELDS = (*SUBJECT_FIELDS, *SELF_SIGNED_FIELDS)


def new_credential_id() -> str:
    return "tls_" + secrets.token_hex(8)


def _subject_name(errors: v.Errors, field: str, value: Any) -> str:
    """The name in normal form, or "" after recording the error."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH:
        errors.add(field, f"must be a non-empty string of at most {MAX_NAME_LENGTH} characters")
        return ""
    value = value.strip()
    if field == SUBJECT_DN:
        from cryptography import x509

        try:
            name = x509.Name.from_rfc4514_string(value)
        except ValueError:
            errors.add(field, "must be a distinguished name in RFC 4514 form, "
                       "e.g. CN=orders-worker,O=Example Corp,C=DE")
            return ""
        if not len(name):
            errors.add(field, "must name at least one attribute")
            return ""
        return name.rfc4514_string()
    rules = {
        SAN_DNS: (_DNS_NAME, "must be a DNS name, e.g. orders-worker.example.com"),
        SAN_URI: (_URI, "must be an absolute URI, e.g. spiffe://example.com/orders-worker"),
        SAN_EMAIL: (_EMAIL, "must be an e-mail address"),
    }
    if field == SAN_IP:
        try:
            return expected_name(field, str(ipaddress.ip_address(value)))
        except ValueError:
            errors.add(field, "must be an IPv4 or IPv6 address")
            return ""
    pattern, rule = rules[field]
    if not pattern.fullmatch(value):
        errors.add(field, rule)
        return ""
    return expected_name(field, value)


def _thumbprints(errors: v.Errors, value: Any) -> tuple[str, ...]:
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list) or not 0 < len(listed) <= MAX_THUMBPRINTS or not all(
        isinstance(t, str) and THUMBPRINT_SHAPE.fullmatch(t) for t in listed
    ):
        errors.add(THUMBPRINT, "must be the base64url SHA-256 thumbprint of a DER "
                   f"certificate (43 characters), or a list of 1 to {MAX_THUMBPRINTS}")
        return ()
    return tuple(dict.fromkeys(listed))


def _certificate(errors: v.Errors, field: str, pem: Any, now: int) -> tuple[str, int] | None:
    """(thumbprint, notAfter) of a PEM certificate that has not expired."""
    if not isinstance(pem, str):
        errors.add(field, "must be one PEM certificate (-----BEGIN CERTIFICATE-----)")
        return None
    try:
        parsed = parse_certificate(pem)
    except CertificateError as exc:
        errors.add(field, f"is not one PEM X.509 certificate: {exc}")
        return None
    if parsed.not_after < now:
        errors.add(field, "has expired")
        return None
    return parsed.thumbprint, parsed.not_after


def _public_key_der(key: PublicKeyTypes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def _jwk_certificate(errors: v.Errors, field: str, jwk: Any, now: int) -> tuple[str, int] | None:
    """(thumbprint, notAfter) of the first ``x5c`` certificate of a public JWK, which
    must hold the JWK's own key (RFC 7517 §4.7)."""
    import jwt
    from cryptography import x509

    if not isinstance(jwk, Mapping):
        errors.add(field, "must be a JWK object")
        return None
    private = sorted(PRIVATE_MEMBERS & set(jwk))
    if private:
        errors.add(field, "must be a public key: remove the private members "
                   + ", ".join(private))
        return None
    chain = jwk.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        errors.add(f"{field}.x5c", "is required: the key's certificate (base64 DER) first")
        return None
    try:
        der = base64.b64decode(chain[0], validate=True)
        certificate = x509.load_der_x509_certificate(der)
        pem = "-----BEGIN CERTIFICATE-----\n" + chain[0] + "\n-----END CERTIFICATE-----\n"
        found = _certificate(errors, f"{field}.x5c[0]", pem, now)
    except (binascii.Error, ValueError):
        errors.add(f"{field}.x5c[0]", "is not a base64 DER X.509 certificate")
        return None
    if found is None:
        return None
    members = {k: jwk[k] for k in jwk if k not in ("x5c", "x5t", "x5t#S256", "kid", "use",
                                                   "key_ops", "alg")}
    try:
        key = jwt.PyJWK(members).key
        same = _public_key_der(key) == _public_key_der(certificate.public_key())
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
        errors.add(field, "is not a valid public JWK")
        return None
    if not same:
        errors.add(f"{field}.x5c[0]", "holds another key than the JWK (RFC 7517 §4.7)")
        return None
    return found


def _jwks(errors: v.Errors, value: Any, now: int) -> tuple[tuple[str, ...], int | None]:
    keys = value.get("keys") if isinstance(value, Mapping) else None
    if not isinstance(keys, list) or not 0 < len(keys) <= MAX_THUMBPRINTS:
        errors.add(JWKS_FIELD, f"must be a JWK Set with 1 to {MAX_THUMBPRINTS} keys")
        return (), None
    found = [_jwk_certificate(errors, f"{JWKS_FIELD}.keys[{i}]", k, now)
             for i, k in enumerate(keys)]
    pairs = [f for f in found if f is not None]
    if len(pairs) != len(found):
        return (), None
    return tuple(dict.fromkeys(t for t, _ in pairs)), min(n for _, n in pairs)


def registration(body: Mapping[str, Any], now: int) -> tuple[str, str, tuple[str, ...],
                                                            int | None]:
    """(method, field, values, expires_at) of an admin's registration, validated."""
    errors = v.Errors()
    v.only_fields(body, set(FIELDS))
    given = [f for f in FIELDS if f in body]
    if len(given) != 1:
        for field in given or FIELDS:
            errors.add(field, "exactly one of " + ", ".join(FIELDS) + " is required "
                       "(RFC 8705 §2.1.2: one subject name, or the certificates of §2.2)")
        errors.raise_if_any()
    field = given[0]
    value = body[field]
    expires_at: int | None = None
    if field in SUBJECT_FIELDS:
        values: tuple[str, ...] = (_subject_name(errors, field, value),)
        errors.raise_if_any()
        return TLS_CLIENT_AUTH, field, values, None
    if field == THUMBPRINT:
        values = _thumbprints(errors, value)
    elif field == PEM_FIELD:
        found = _certificate(errors, field, value, now)
        values, expires_at = ((found[0],), found[1]) if found else ((), None)
    else:
        values, expires_at = _jwks(errors, value, now)
    errors.raise_if_any()
    return SELF_SIGNED_TLS_CLIENT_AUTH, THUMBPRINT, values, expires_at


class TlsClientAdmin(UseCases):
    def list_tls_clients(self, client_id: str) -> tuple[tuple[TlsClient, ...], int]:
        """The app's certificates (oldest first) and the app's version."""
        credentials = self.get_app(client_id)
        ordered = sorted(credentials.tls_clients,
                         key=lambda t: (t.created_at, t.credential_id))
        return tuple(ordered), credentials.app.version

    def add_tls_client(
        self, client_id: str, body: Mapping[str, Any], if_match: int | None = None,
        actor: Actor = SYSTEM,
    ) -> tuple[TlsClient, int]:
        """Register a certificate rule; returns it and the app's new version."""
        now = self._now()
        method, field, values, expires_at = registration(v.require_mapping(body), now)
        credentials = self.get_app(client_id)
        check_if_match(if_match, credentials.app.version)
        for existing in credentials.tls_clients:
            if existing.field == field and set(existing.values) & set(values):
                raise Conflict(f"The app already registers this certificate as "
                               f"{existing.credential_id}.")
        if len(credentials.tls_clients) >= MAX_TLS_CLIENTS:
            raise Conflict(f"An app registers at most {MAX_TLS_CLIENTS} TLS client "
                           "certificates; remove one first.")
        tls_client = TlsClient(new_credential_id(), method, field, values, now, expires_at)
        audit = new_record(
            actor, "tls_client.create",
            f"app/{client_id}/tls-clients/{tls_client.credential_id}",
            {"id": tls_client.credential_id, "method": method, field: list(values)}, now,
        )
        with stored(f"No app with client_id {client_id[:64]!r}.", if_match):
            self._store.add_tls_client(client_id, tls_client, credentials.app.version, audit)
        log_record(audit)
        return tls_client, credentials.app.version + 1

    def remove_tls_client(
        self, client_id: str, credential_id: str, if_match: int | None = None,
        actor: Actor = SYSTEM,
    ) -> None:
        missing = (f"No TLS client certificate {credential_id[:64]!r} for app "
                   f"{client_id[:64]!r}.")
        if not CREDENTIAL_ID_SHAPE.fullmatch(credential_id):
            raise NotFound(missing)
        credentials = self.get_app(client_id)
        check_if_match(if_match, credentials.app.version)
        tls_client = next(
            (t for t in credentials.tls_clients if t.credential_id == credential_id), None
        )
        if tls_client is None:
            raise NotFound(missing)
        audit = new_record(
            actor, "tls_client.delete", f"app/{client_id}/tls-clients/{credential_id}",
            {"id": credential_id, "method": tls_client.method,
             tls_client.field: list(tls_client.values)}, self._now(),
        )
        with stored(missing, if_match):
            self._store.delete_tls_client(client_id, credential_id, credentials.app.version,
                                          audit)
        log_record(audit)
