"""Admin use cases for federated workload identity: trusted issuers (with presets)
and the federated identities each app accepts (docs/federation.md). No HTTP here."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import Conflict, FieldError, ItemExists, NotFound, ValidationFailed
from ..federation.claim_rules import (
    MAX_CLAIM_NAME,
    MAX_CLAIM_VALUE,
    MAX_PATTERN_STARS,
    MAX_REQUIRED_CLAIMS,
)
from ..federation.issuers import (
    AWS_OUTBOUND_ISSUER,
    DEFAULT_MAX_LIFETIME,
    ISSUER_ID_SHAPE,
    ISSUER_URL,
    KEYS_URL,
    LOCAL_ISSUER_URL,
    LOCAL_KEYS_URL,
    PRESETS,
    TRUST_DOMAIN,
    issuer_id_for,
    spiffe_issuer,
    subject_problem,
)
from ..federation.jwks_fetch import IssuerKeys, KeySetStatus
from ..federation.safe_http import FetchFailed, FetchRefused, check_url
from ..store.records import FederatedIdentity, Page, TrustedIssuer
from ..store.repository import Store
from . import validation as v
from .audit import SYSTEM, Actor, log_record, new_record
from .usecase import UseCases, check_if_match, stored

ISSUER_FIELDS = {
    "preset", "issuer", "name", "jwks_uri", "trust_domain", "bundle_endpoint",
    "max_token_lifetime", "single_use_jti",
}
IDENTITY_FIELDS = {"issuer", "subject", "subject_pattern", "audience", "required_claims"}
MAX_IDENTITIES_PER_APP = 20
MAX_ISSUER_LENGTH = 512
MAX_SUBJECT_LENGTH = 2048
MIN_LIFETIME, MAX_LIFETIME = 60, 86400
CHECKED_ELSEWHERE = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})
"""Claims the token checks decide on; a rule may not require values of them."""
GITHUB_OWNER_CLAIMS = ("repository_owner_id", "repository_id")


def _pattern(errors: v.Errors, value: Any) -> str:
    """A subject pattern: a literal start, at most four ``*`` (each any run of characters
    other than ``:``), never two in a row."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_SUBJECT_LENGTH:
        errors.add("subject_pattern", f"must be a string of 1-{MAX_SUBJECT_LENGTH} characters")
        return ""
    if "*" not in value or value.startswith("*") or "**" in value or (
        value.count("*") > MAX_PATTERN_STARS
    ):
        errors.add("subject_pattern", "must contain 1-4 '*' (each matches characters other "
                   "than ':'), not at the start and never two in a row")
    return value


def _required_claims(errors: v.Errors, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_REQUIRED_CLAIMS:
        errors.add("required_claims", f"must be an object of at most {MAX_REQUIRED_CLAIMS} "
                   "claims")
        return {}
    for name, wanted in value.items():
        top = name.lstrip("/").split("/")[0] if name.startswith("/") else name
        if not 0 < len(name) <= MAX_CLAIM_NAME or name == "/" or top in CHECKED_ELSEWHERE:
            errors.add(f"required_claims.{name}", "must be a claim name or a JSON Pointer "
                       f"(/a/b) of at most {MAX_CLAIM_NAME} characters, not a claim the "
                       "token checks decide (iss sub aud exp nbf iat jti)")
        elif not isinstance(wanted, str) or not 0 < len(wanted) <= MAX_CLAIM_VALUE:
            errors.add(f"required_claims.{name}",
                       f"must be a string of 1-{MAX_CLAIM_VALUE} characters")
    return dict(value)


def _url(
    errors: v.Errors, field: str, value: Any, local_mode: bool, issuer: bool = False
) -> str | None:
    """An https URL of the shape openapi.json states (an issuer: no query, no trailing
    slash), and one the fetcher may fetch (a literal address must be public)."""
    shape, local_shape = (ISSUER_URL, LOCAL_ISSUER_URL) if issuer else (KEYS_URL, LOCAL_KEYS_URL)
    if not (isinstance(value, str) and len(value) <= MAX_ISSUER_LENGTH and (
        re.fullmatch(shape, value, re.ASCII)
        or local_mode and re.fullmatch(local_shape, value, re.ASCII)
    )):
        errors.add(field, f"must be an https URL of at most {MAX_ISSUER_LENGTH} characters: "
                   "a DNS name, an optional port, no user info or fragment"
                   + (", no query and no trailing slash" if issuer else ""))
        return None
    try:
        check_url(value, local_mode)
    except FetchRefused as exc:
        errors.add(field, f"{exc} (https, public host; local mode also http://127.0.0.1)")
        return None
    return value


class FederationAdmin(UseCases):
    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        keys: IssuerKeys,
        local_mode: bool = False,
    ) -> None:
        super().__init__(store, clock)
        self._keys = keys
        self._local_mode = local_mode

    # ---- trusted issuers -----------------------------------------------------------

    def add_issuer(
        self, body: Mapping[str, Any], actor: Actor = SYSTEM, own_issuer: str | None = None
    ) -> TrustedIssuer:
        """Register a trusted issuer; never ``own_issuer`` (this server's issuer
        identifier, which the route knows from the request: compared case-insensitively),
        so that our own access tokens are never workload tokens."""
        v.only_fields(body, ISSUER_FIELDS)
        errors = v.Errors()
        preset_name = body.get("preset", "oidc")
        preset = PRESETS.get(preset_name) if isinstance(preset_name, str) else None
        if preset is None:
            errors.add("preset", f"must be one of {', '.join(sorted(PRESETS))}")
            errors.raise_if_any()
        assert preset is not None  # noqa: S101 - raised above
        issuer, jwks_uri = self._issuer_and_keys(errors, preset.kind, preset.fixed_issuer, body)
        if own_issuer is not None and issuer.casefold() == own_issuer.casefold():
            errors.add("issuer", "is this server's own issuer identifier")
        name = v.name(errors, "name", body.get("name", preset.name))
        lifetime = v.integer(body.get("max_token_lifetime", DEFAULT_MAX_LIFETIME))
        if lifetime is None or not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
            errors.add("max_token_lifetime",
                       f"must be an integer from {MIN_LIFETIME} to {MAX_LIFETIME}")
        single_use = body.get("single_use_jti", preset.single_use_jti)
        if not isinstance(single_use, bool):
            errors.add("single_use_jti", "must be true or false")
        errors.raise_if_any()
        if jwks_uri is None and preset.kind != "spiffe":
            jwks_uri = self._discover(issuer)
        now = self._now()
        record = TrustedIssuer(
            issuer_id=issuer_id_for(issuer), issuer=issuer, name=name, kind=preset.kind,
            jwks_uri=jwks_uri, max_token_lifetime=lifetime or DEFAULT_MAX_LIFETIME,
            single_use_jti=bool(single_use), created_at=now,
        )
        audit = new_record(actor, "issuer.add", f"issuer/{record.issuer_id}", {
            "issuer": issuer, "name": name, "kind": record.kind, "jwks_uri": jwks_uri,
            "max_lifetime": record.max_token_lifetime, "single_use_jti": record.single_use_jti,
        }, now)
        try:
            self._store.add_issuer(record, audit)
        except ItemExists as exc:
            raise Conflict(f"The issuer {issuer} is registered already.") from exc
        log_record(audit)
        return record

    def _issuer_and_keys(
        self, errors: v.Errors, kind: str, fixed: str | None, body: Mapping[str, Any]
    ) -> tuple[str, str | None]:
        local = self._local_mode
        if kind == "spiffe":
            if "issuer" in body:
                errors.add("issuer", "is spiffe://<trust_domain> for the spiffe preset")
            domain = body.get("trust_domain")
            if not isinstance(domain, str) or not TRUST_DOMAIN.fullmatch(domain):
                errors.add("trust_domain", "must be a SPIFFE trust domain such as prod.acme.com")
                domain = ""
            if "bundle_endpoint" in body and "jwks_uri" in body:
                errors.add("jwks_uri", "is an alias of bundle_endpoint: give one, not both")
            field = "jwks_uri" if "jwks_uri" in body else "bundle_endpoint"
            bundle = _url(errors, field, body.get(field), local)
            return spiffe_issuer(domain), bundle
        for only_spiffe in ("trust_domain", "bundle_endpoint"):
            if only_spiffe in body:
                errors.add(only_spiffe, "is for the spiffe preset only")
        raw = body.get("issuer", fixed)
        if fixed is not None and raw != fixed:
            errors.add("issuer", f"is {fixed} for this preset")
        issuer = _url(errors, "issuer", raw, local, issuer=True) or ""
        if issuer and kind == "aws-outbound" and not AWS_OUTBOUND_ISSUER.fullmatch(issuer):
            errors.add("issuer", "must be https://<id>.tokens.sts.global.api.aws")
        jwks_uri = (
            _url(errors, "jwks_uri", body["jwks_uri"], local) if "jwks_uri" in body else None
        )
        return issuer, jwks_uri

    def _discover(self, issuer: str) -> str | None:
        """The issuer's ``jwks_uri`` now; ``None`` (discovered at first use) when the
        issuer cannot be reached; 400 when its answer breaks the fetch rules."""
        try:
            return self._keys.discover(issuer)
        except FetchRefused as exc:
            raise ValidationFailed(
                "The issuer's discovery document points where the server never fetches.",
                [FieldError("issuer", str(exc))],
            ) from exc
        except FetchFailed:
            return None

    def list_issuers(self, limit: int, cursor: str | None) -> Page:
        return self._store.list_issuers(limit, cursor)

    def get_issuer(self, issuer_id: str) -> TrustedIssuer:
        found = self._store.get_issuer(issuer_id) if ISSUER_ID_SHAPE.fullmatch(issuer_id) else None
        if found is None:
            raise NotFound(f"No trusted issuer with id {issuer_id[:64]!r}.")
        return found

    def key_set(self, issuer_id: str) -> tuple[TrustedIssuer, KeySetStatus]:
        """The issuer's key set as this server fetches it (refreshed when stale)."""
        record = self.get_issuer(issuer_id)
        return record, self._keys.status(record)

    def delete_issuer(
        self, issuer_id: str, if_match: int | None = None, actor: Actor = SYSTEM
    ) -> None:
        record = self.get_issuer(issuer_id)
        check_if_match(if_match, record.version)
        audit = new_record(actor, "issuer.delete", f"issuer/{issuer_id}",
                           {"issuer": record.issuer}, self._now())
        with stored(f"No trusted issuer with id {issuer_id!r}.", if_match):
            self._store.delete_issuer(issuer_id, record.version, audit)
        log_record(audit)

    # ---- federated identities of an app ----------------------------------------------

    def add_identity(
        self, client_id: str, body: Mapping[str, Any], actor: Actor = SYSTEM
    ) -> FederatedIdentity:
        v.only_fields(body, IDENTITY_FIELDS, frozenset({"issuer"}))
        credentials = self.get_app(client_id)
        errors = v.Errors()
        issuer = body["issuer"]
        record = (
            self._store.get_issuer(issuer_id_for(issuer))
            if isinstance(issuer, str) and 0 < len(issuer) <= MAX_ISSUER_LENGTH else None
        )
        if record is None or record.issuer != issuer:
            errors.add("issuer", "must be a registered trusted issuer (POST /admin/issuers)")
        pattern = "subject_pattern" in body
        if pattern == ("subject" in body):
            errors.add("subject", "give either subject (exact) or subject_pattern")
            errors.raise_if_any()
        subject = body["subject_pattern"] if pattern else body["subject"]
        if pattern:
            subject = _pattern(errors, subject)
        elif not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
            errors.add("subject", f"must be a string of 1-{MAX_SUBJECT_LENGTH} characters")
        elif record is not None and (problem := subject_problem(record.kind, issuer, subject)):
            errors.add("subject", problem)
        required = _required_claims(errors, body.get("required_claims"))
        if pattern and record is not None and record.kind == "github-actions" and not any(
            claim in required for claim in GITHUB_OWNER_CLAIMS
        ):
            errors.add("required_claims", "a GitHub Actions subject pattern must require "
                       "repository_owner_id or repository_id (any organisation can produce "
                       "a subject that matches a pattern)")
        audience = body.get("audience")
        if audience is not None:
            audience = v.identifier(errors, "audience", audience)
        errors.raise_if_any()
        if len(credentials.federated_identities) >= MAX_IDENTITIES_PER_APP:
            raise Conflict(
                f"The app lists {MAX_IDENTITIES_PER_APP} federated identities, the most it may."
            )
        now = self._now()
        identity = FederatedIdentity(
            identity_id="fed_" + secrets.token_hex(8), issuer=issuer, subject=subject,
            audience=audience, created_at=now, pattern=pattern, required_claims=required,
        )
        audit = new_record(actor, "app.federate", f"app/{client_id}", {
            "identity_id": identity.identity_id, "issuer": issuer,
            "subject_pattern" if pattern else "subject": subject, "audience": audience,
            **({"required_claims": required} if required else {}),
        }, now)
        try:
            with stored(f"No app with client_id {client_id!r}."):
                self._store.add_federated_identity(
                    client_id, identity, credentials.app.version, audit
                )
        except ItemExists as exc:
            raise Conflict("The app lists this issuer and subject (or pattern) already.") from exc
        log_record(audit)
        return identity

    def list_identities(self, client_id: str) -> tuple[FederatedIdentity, ...]:
        return self.get_app(client_id).federated_identities

    def remove_identity(
        self,
        client_id: str,
        identity_id: str,
        if_match: int | None = None,
        actor: Actor = SYSTEM,
    ) -> None:
        """``if_match`` names the app's version, which every addition bumps."""
        credentials = self.get_app(client_id)
        check_if_match(if_match, credentials.app.version)
        identity = next(
            (i for i in credentials.federated_identities if i.identity_id == identity_id), None
        )
        if identity is None:
            raise NotFound(f"The app has no federated identity {identity_id[:64]!r}.")
        audit = new_record(actor, "app.unfederate", f"app/{client_id}", {
            "identity_id": identity_id, "issuer": identity.issuer,
            "subject_pattern" if identity.pattern else "subject": identity.subject,
        }, self._now())
        with stored(f"The app has no federated identity {identity_id!r}."):
            self._store.delete_federated_identity(client_id, identity, audit)
        log_record(audit)
