"""An app's TLS client certificate rules in the declarative file (RFC 8705 §2;
docs/mtls.md, docs/declarative.md).

Each entry of an app's `tls_clients` list holds exactly one of the admin API's fields:

- `tls_client_auth`: `tls_client_auth_subject_dn` (RFC 4514), `tls_client_auth_san_dns`,
  `tls_client_auth_san_uri`, `tls_client_auth_san_ip` or `tls_client_auth_san_email`;
- `self_signed_tls_client_auth`: `x5t#S256` (one thumbprint or a list), `certificate`
  (one PEM certificate) or `jwks` (public keys, each with `x5c`).

The server keeps certificates and key sets as their thumbprints, so an export writes
`x5t#S256` lists; a rule is matched by its *key*: the field it is compared on and its
values in the server's normal form (the DN as `cryptography` writes it, DNS names in
lower case, IP addresses canonical, e-mail domains in lower case, certificates as the
SHA-256 thumbprints of their DER). The server checks the rest (a JWK's `x5c` holding its
own key, expiry) when the rule is added.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Mapping
from typing import Any, Protocol

from m2m_client.declarative.paths import child
from m2m_client.mtls import THUMBPRINT_MEMBER, certificate_thumbprint

SUBJECT_DN = "tls_client_auth_subject_dn"
SAN_DNS = "tls_client_auth_san_dns"
SAN_URI = "tls_client_auth_san_uri"
SAN_IP = "tls_client_auth_san_ip"
SAN_EMAIL = "tls_client_auth_san_email"
SUBJECT_FIELDS = (SUBJECT_DN, SAN_DNS, SAN_URI, SAN_IP, SAN_EMAIL)
CERTIFICATE = "certificate"
JWKS = "jwks"
RULE_FIELDS = (*SUBJECT_FIELDS, THUMBPRINT_MEMBER, CERTIFICATE, JWKS)
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

RuleKey = tuple[str, tuple[str, ...]]
"""(the field the server compares on, its sorted values in normal form)."""


class Checker(Protocol):
    def add(self, path: str, message: str) -> None: ...


def _normal_name(field: str, value: str) -> str:
    """A subject name as the server stores it (chalicelib.admin.tls_clients); raises
    ValueError for one it would refuse."""
    value = value.strip()
    if field == SUBJECT_DN:
        from cryptography import x509

        normal = x509.Name.from_rfc4514_string(value).rfc4514_string()
        if not normal:  # what cryptography cannot read it reads as an empty name
            raise ValueError(value)
        return normal
    if field == SAN_DNS:
        return value.lower()
    if field == SAN_IP:
        return str(ipaddress.ip_address(value))
    if field == SAN_EMAIL:
        local, at, domain = value.rpartition("@")
        return f"{local}{at}{domain.lower()}" if at else value
    return value


def _x5c_thumbprint(check: Checker, path: str, jwk: Any) -> str | None:
    if not isinstance(jwk, dict):
        check.add(path, "must be a public JWK (a mapping)")
        return None
    if PRIVATE_JWK_MEMBERS & set(jwk):
        check.add(path, "holds a PRIVATE key: put only the public JWK here")
        return None
    chain = jwk.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        check.add(child(path, "x5c"), "is required: the key's certificate (base64 DER) first")
        return None
    try:
        return certificate_thumbprint(base64.b64decode(chain[0], validate=True))
    except (binascii.Error, ValueError):
        check.add(child(child(path, "x5c"), 0), "is not a base64 DER certificate")
        return None


def _values(check: Checker, path: str, field: str, value: Any
            ) -> tuple[str, tuple[str, ...]] | None:
    """(compared field, values in normal form) of one entry's value."""
    here = child(path, field)
    if field in SUBJECT_FIELDS:
        if not isinstance(value, str) or not value.strip():
            check.add(here, "must be a non-empty string")
            return None
        try:
            return field, (_normal_name(field, value),)
        except ValueError:
            check.add(here, "is not a valid " + ("RFC 4514 distinguished name"
                                                 if field == SUBJECT_DN else "IP address"))
            return None
    if field == THUMBPRINT_MEMBER:
        listed = [value] if isinstance(value, str) else value
        if not isinstance(listed, list) or not listed or not all(
                isinstance(t, str) and t for t in listed):
            check.add(here, "must be a certificate thumbprint or a list of them")
            return None
        return THUMBPRINT_MEMBER, tuple(listed)
    if field == CERTIFICATE:
        try:
            if not isinstance(value, str):
                raise ValueError
            return THUMBPRINT_MEMBER, (certificate_thumbprint(value),)
        except ValueError:
            check.add(here, "must be one PEM certificate (-----BEGIN CERTIFICATE-----)")
            return None
    keys = value.get("keys") if isinstance(value, dict) else None
    if not isinstance(keys, list) or not keys:
        check.add(here, "must be a JWK Set ({keys: [...]}) whose keys carry x5c")
        return None
    found = [_x5c_thumbprint(check, child(child(here, "keys"), i), k)
             for i, k in enumerate(keys)]
    if None in found:
        return None
    return THUMBPRINT_MEMBER, tuple(t for t in found if t is not None)


def parse_tls_clients(check: Checker, path: str, value: Any) -> list[dict[str, Any]]:
    """The desired rules of an app: `{"key": RuleKey, "body": the admin API's body}`."""
    if value is None:
        return []
    if not isinstance(value, list):
        check.add(path, "must be a list of certificate rules (one field each, e.g. "
                  "tls_client_auth_subject_dn or x5t#S256)")
        return []
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        here = child(path, i)
        if not isinstance(item, dict):
            check.add(here, "must be a mapping")
            continue
        given = [f for f in item if f in RULE_FIELDS]
        for extra in item:
            if extra not in RULE_FIELDS:
                check.add(child(here, str(extra)),
                          f"unknown field (expected one of: {', '.join(RULE_FIELDS)})")
        if len(given) != 1:
            check.add(here, "needs exactly one of " + ", ".join(RULE_FIELDS))
            continue
        found = _values(check, here, given[0], item[given[0]])
        if found is None:
            continue
        key: RuleKey = (found[0], tuple(sorted(set(found[1]))))
        if any(r["key"] == key for r in out):
            check.add(here, "is listed twice")
            continue
        if any(r["key"][0] == key[0] and set(r["key"][1]) & set(key[1]) for r in out):
            check.add(here, "shares a value with another rule of this app (the server "
                      "refuses that: merge them)")
            continue
        out.append({"key": key, "body": {given[0]: item[given[0]]}})
    return out


def state_rule(item: Mapping[str, Any]) -> dict[str, Any]:
    """A rule as the admin API lists it, reduced to its id and key."""
    for field in (*SUBJECT_FIELDS, THUMBPRINT_MEMBER):
        if field in item:
            value = item[field]
            values = value if isinstance(value, list) else [value]
            return {"id": item["id"], "key": (field, tuple(sorted(values)))}
    raise ValueError(f"the server lists a TLS client rule without a known field: {item!r}")


def export_rules(rules: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The file entries of the server's rules, sorted by key."""
    out: list[dict[str, Any]] = []
    for rule in sorted(rules, key=lambda r: r["key"]):
        field, values = rule["key"]
        out.append({field: list(values) if field == THUMBPRINT_MEMBER else values[0]})
    return out


def label(key: RuleKey) -> str:
    field, values = key
    return f"{field}={' '.join(values)}"
