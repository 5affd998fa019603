"""Service settings: one frozen object built from environment variables.

Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store.records import Quota

class ConfigurationError(ValueError):
    """An environment variable holds a value the service cannot run with."""


def _int_setting(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    """An on/off setting: ``true``/``1``/``on`` or ``false``/``0``/``off``; off if unset."""
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "off"):
        return False
    if raw in ("1", "true", "on"):
        return True
    raise ConfigurationError(f"{name} must be true or false, got {raw[:20]!r}")


def _quota_setting(env: Mapping[str, str], name: str) -> Quota | None:
    """A quota as the admin API takes it, e.g. ``{"per_day": 10000, "enforce": false}``."""
    from .admin.validation import Errors
    from .admin.validation_limits import quota

    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be JSON, got {raw[:100]!r}") from exc
    errors = Errors()
    parsed = quota(errors, name, value)
    if errors.items:
        raise ConfigurationError(
            f"{name}: " + "; ".join(f"{e.field} {e.message}" for e in errors.items)
        )
    return parsed


_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")


def _regions(raw: str, default: str) -> frozenset[str]:
    """``AWS_IAM_STS_REGIONS``: comma-separated regions; the service's own by default."""
    regions = frozenset(r.strip() for r in raw.split(",") if r.strip()) or frozenset({default})
    bad = sorted(r for r in regions if not _REGION.fullmatch(r))
    if bad:
        raise ConfigurationError(f"AWS_IAM_STS_REGIONS holds invalid regions: {bad}")
    return regions


def _home(env: Mapping[str, str], region: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """``HOME_REGION``, ``HOME_ADMIN_URL`` and ``STAGE_REGIONS`` (multi-region stages)."""
    home = env.get("HOME_REGION", "").strip() or None
    admin_url = env.get("HOME_ADMIN_URL", "").strip().rstrip("/") or None
    regions = tuple(r.strip() for r in env.get("STAGE_REGIONS", "").split(",") if r.strip())
    bad = sorted(r for r in (home, *regions) if r and not _REGION.fullmatch(r))
    if bad:
        raise ConfigurationError(f"HOME_REGION/STAGE_REGIONS hold invalid regions: {bad}")
    if admin_url and not admin_url.startswith("https://"):
        raise ConfigurationError("HOME_ADMIN_URL must be the home region's https admin URL")
    if regions and home not in regions:
        raise ConfigurationError("STAGE_REGIONS must include HOME_REGION")
    return home, admin_url, regions


def _mtls_endpoint(env: Mapping[str, str]) -> str | None:
    """``MTLS_ENDPOINT``: the https base URL clients doing mutual TLS use (RFC 8705;
    docs/mtls.md); unset: no mutual TLS."""
    raw = env.get("MTLS_ENDPOINT", "").strip().rstrip("/")
    if not raw:
        return None
    if not raw.startswith("https://") or "?" in raw or "#" in raw or len(raw) > 200:
        raise ConfigurationError(
            f"MTLS_ENDPOINT must be an https base URL without query or fragment, got {raw!r}"
        )
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything the service is configured with, validated once per container."""

    table_name: str
    issuer: str | None
    """Fixed issuer (custom domains). ``None``: derived from the API Gateway request."""
    bootstrap_key_id: str | None
    """KMS key (id, ARN or alias) registered as the first current signing key."""
    bootstrap_key_alg: str
    region: str
    jwks_max_age: int
    key_cache_seconds: int
    local_mode: bool
    key_rotation_days: int = 90
    key_rotation_lead_days: int = 7
    stack: str | None = None
    """The CloudFormation stack: keys the rotation creates are tagged with it."""
    key_deletion_grace_days: int = 30
    """Days after retirement before the rotation schedules a key's deletion."""
    signer_role_arn: str | None = None
    rotation_role_arn: str | None = None
    """The functions' roles, named in the key policy of keys the rotation creates."""
    default_quota: Quota | None = None
    """Quota of new apps created without one (``DEFAULT_APP_QUOTA``, JSON)."""
    aws_iam_regions: frozenset[str] = frozenset()
    """STS regions AWS IAM client assertions may be signed for (docs/aws-iam-auth.md)."""
    sts_connect_to: str | None = None
    """Local mode only: the embedded moto server that stands in for STS."""
    home_region: str | None = None
    """Multi-region stages (docs/multi-region.md): the region that takes admin writes
    and runs the rotation. ``None``: single-region, this region is home."""
    home_admin_url: str | None = None
    """The home region's admin URL, named by the problem other regions answer writes with."""
    stage_regions: tuple[str, ...] = ()
    """Every region of a multi-region stage (the rotation replicates keys to them)."""
    signer_role_pattern: str | None = None
    """ARN pattern of every region's token function role (key policies of replicas)."""
    mtls_endpoint: str | None = None
    """Base URL of the mutual-TLS host (RFC 8705, docs/mtls.md): set, the server accepts
    tls_client_auth and self_signed_tls_client_auth and advertises them, certificate-
    bound tokens and, if it is not the issuer, ``mtls_endpoint_aliases``."""
    dpop_proof_window: int = 60
    """DPoP proofs (RFC 9449 §4.3): ``iat`` at most this many seconds before or after
    now (the client's clock skew included); each ``jti`` is remembered that long."""
    dpop_nonces: bool = False
    """Server-provided DPoP nonces (RFC 9449 §8) at the token endpoint."""
    dpop_nonce_step: int = 300
    """Seconds per nonce: a nonce is good in its time step and the next one."""

    @property
    def is_home(self) -> bool:
        return self.home_region is None or self.home_region == self.region

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        table_name = env.get("TABLE_NAME", "").strip()
        if not table_name:
            raise ConfigurationError("TABLE_NAME is required")
        issuer = env.get("ISSUER", "").strip().rstrip("/") or None
        if issuer is not None:
            from .oauth.claims import MAX_ISSUER_LENGTH  # the claims' size budget

            if len(issuer) > MAX_ISSUER_LENGTH:
                raise ConfigurationError(f"ISSUER is longer than {MAX_ISSUER_LENGTH} characters")
            if not issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
                raise ConfigurationError("ISSUER must be an https URL (RFC 8414 §2)")
            if "?" in issuer or "#" in issuer:
                raise ConfigurationError("ISSUER must not have a query or fragment (RFC 8414 §2)")
        alg = env.get("SIGNING_KEY_ALG", "RS256").strip() or "RS256"
        if alg not in ("RS256", "ES256"):
            raise ConfigurationError(f"SIGNING_KEY_ALG must be RS256 or ES256, got {alg!r}")
        region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1").strip()
        local_mode = env.get("M2M_LOCAL_MODE", "") == "1"
        home_region, home_admin_url, stage_regions = _home(env, region)
        return cls(
            home_region=home_region,
            home_admin_url=home_admin_url,
            stage_regions=stage_regions,
            signer_role_pattern=env.get("SIGNER_ROLE_PATTERN", "").strip() or None,
            mtls_endpoint=_mtls_endpoint(env),
            dpop_proof_window=_int_setting(env, "DPOP_PROOF_WINDOW", 60, 5, 300),
            dpop_nonces=_flag(env, "DPOP_NONCES"),
            dpop_nonce_step=_int_setting(env, "DPOP_NONCE_STEP", 300, 30, 3600),
            table_name=table_name,
            issuer=issuer,
            bootstrap_key_id=env.get("SIGNING_KEY_ID", "").strip() or None,
            bootstrap_key_alg=alg,
            region=region,
            jwks_max_age=_int_setting(env, "JWKS_MAX_AGE", 600, 0, 86400),
            key_cache_seconds=_int_setting(env, "KEY_CACHE_SECONDS", 300, 0, 3600),
            local_mode=local_mode,
            key_rotation_days=_int_setting(env, "KEY_ROTATION_DAYS", 90, 2, 3650),
            key_rotation_lead_days=_int_setting(env, "KEY_ROTATION_LEAD_DAYS", 7, 1, 365),
            stack=env.get("M2M_STACK", "").strip() or None,
            key_deletion_grace_days=_int_setting(env, "KEY_DELETION_GRACE_DAYS", 30, 1, 3650),
            signer_role_arn=env.get("SIGNER_ROLE_ARN", "").strip() or None,
            rotation_role_arn=env.get("ROTATION_ROLE_ARN", "").strip() or None,
            default_quota=_quota_setting(env, "DEFAULT_APP_QUOTA"),
            aws_iam_regions=_regions(env.get("AWS_IAM_STS_REGIONS", ""), region),
            sts_connect_to=(
                (env.get("AWS_ENDPOINT_URL_STS") or env.get("AWS_ENDPOINT_URL") or "").strip()
                or None
            ) if local_mode else None,
        )
