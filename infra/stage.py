"""What one deployment stage is: Chalice's stage settings plus ``infra/stages.toml``."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .lambda_target import LambdaTarget

PROJECT_DIR = Path(__file__).resolve().parent.parent
STAGES_FILE = Path(__file__).resolve().parent / "stages.toml"

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
     2557, 2922, 3288, 3653}
)
# The signing algorithm of the first key decides its KMS key spec.
KEY_SPEC_FOR_ALG = {"RS256": "RSA_2048", "ES256": "ECC_NIST_P256"}
DOMAIN_ENDPOINTS = ("REGIONAL", "EDGE")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[\w-]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
# s3://bucket/key: the truststore object of a mutual-TLS custom domain (S3 bucket naming).
_TRUSTSTORE_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[\x21-\x7e]{1,1024}$")
_S3_VERSION = re.compile(r"^[\x21-\x7e]{1,1024}$")


class StageError(ValueError):
    """The stage cannot be deployed as configured."""


@dataclass(frozen=True)
class Throttle:
    """API Gateway method throttling: steady requests per second and burst."""

    rate: float
    burst: int


WAF_RATE_LIMITS = (10, 2_000_000_000)
"""What AWS WAF accepts as a rate-based rule's limit (requests per evaluation window)."""


@dataclass(frozen=True)
class OpsSettings:
    """Abuse protection, access logs and abuse alarms of a stage (``infra/stages.toml``)."""

    token_throttle: Throttle
    """``POST /oauth/token``."""
    public_throttle: Throttle
    """Each other public method (JWKS, metadata, introspection, revocation, OpenAPI)."""
    admin_throttle: Throttle
    """Each ``/admin`` method."""
    account_rate_limit: float
    """The account's API Gateway throttle in the region, shared by every API in it."""
    waf: bool
    waf_rate_limit: int
    """Requests per source IP to ``/oauth/*`` in 5 minutes before AWS WAF blocks it."""
    api_gateway_account_role: bool
    """Whether this stack sets the account-wide CloudWatch role of API Gateway."""
    alarm_auth_failures: int
    alarm_throttled_percent: float
    alarm_throttled_min_requests: int


def ops_settings(settings: dict[str, Any]) -> OpsSettings:
    def throttle(group: str) -> Throttle:
        rate, burst = settings[f"{group}_rate_limit"], settings[f"{group}_burst_limit"]
        if not (isinstance(rate, int | float) and rate > 0 and isinstance(burst, int)
                and burst >= 1):
            raise StageError(f"{group}_rate_limit must be > 0 and {group}_burst_limit >= 1 "
                             f"(got {rate!r}, {burst!r})")
        return Throttle(float(rate), int(burst))

    for flag in ("waf", "api_gateway_account_role"):
        if not isinstance(settings[flag], bool):
            raise StageError(f"{flag} must be true or false, got {settings[flag]!r}")
    waf_limit = int(settings["waf_rate_limit"])
    if not WAF_RATE_LIMITS[0] <= waf_limit <= WAF_RATE_LIMITS[1]:
        raise StageError(f"waf_rate_limit must be between {WAF_RATE_LIMITS[0]} and "
                         f"{WAF_RATE_LIMITS[1]} (AWS WAF's limits), got {waf_limit}")
    return OpsSettings(
        token_throttle=throttle("token"),
        public_throttle=throttle("public"),
        admin_throttle=throttle("admin"),
        account_rate_limit=float(settings["account_rate_limit"]),
        waf=settings["waf"],
        waf_rate_limit=waf_limit,
        api_gateway_account_role=settings["api_gateway_account_role"],
        alarm_auth_failures=int(settings["alarm_auth_failures"]),
        alarm_throttled_percent=float(settings["alarm_throttled_percent"]),
        alarm_throttled_min_requests=int(settings["alarm_throttled_min_requests"]),
    )


@dataclass(frozen=True)
class StageConfig:
    stage: str
    app_name: str
    api_gateway_stage: str
    issuer: str | None
    """``ISSUER`` from the stage's Lambda environment (custom domain), else None."""
    signing_key_alg: str
    log_retention_days: int
    alarm_5xx_percent: float
    alarm_5xx_min_requests: int
    alarm_kms_throttles: int
    ops: OpsSettings
    """Throttles, WAF, access logs and abuse alarms (infra/observability.py)."""
    endpoint_type: str = "EDGE"
    """API Gateway endpoint type (Chalice ``api_gateway_endpoint_type``)."""
    custom_domain: str | None = None
    """The stage's custom domain (``infra/stages.toml``), if any."""
    certificate_arn: str | None = None
    custom_domain_endpoint: str = "REGIONAL"
    regions: tuple[str, ...] = ()
    """Every region of the stage, home first (docs/multi-region.md); () = the deploy's
    region, as before."""
    home_region: str | None = None
    hosted_zone_id: str | None = None
    """Route 53 hosted zone of ``custom_domain`` (multi-region: latency records)."""
    certificate_arns: tuple[tuple[str, str], ...] = ()
    """(region, ACM certificate ARN in that region) for a multi-region custom domain."""
    region: str | None = None
    """The region this configuration is packaged for (``for_region``)."""
    admin_region: str | None = None
    """Where admin writes go (``make promote``); the home region unless promoted."""
    lambda_target: LambdaTarget = LambdaTarget()
    """The Lambda runtime and architecture of both functions (docs/runtime.md)."""
    snapstart: bool = False
    """Lambda SnapStart on both functions: published versions behind an alias."""
    mtls_truststore_uri: str | None = None
    """Mutual TLS (RFC 8705, docs/mtls.md): the S3 truststore (``s3://bucket/key``, PEM
    CA certificates) of the mutual-TLS custom domain; None: no mutual TLS."""
    mtls_truststore_version: str | None = None
    """The truststore object's S3 version (None: API Gateway reads the latest)."""
    mtls_domain: str | None = None
    """The mutual-TLS host: ``custom_domain`` itself (every client presents a
    certificate) or a second host (``mtls_endpoint_aliases`` point clients to it)."""
    mtls_certificate_arn: str | None = None
    """ACM certificate of ``mtls_domain`` when it is a second host."""

    @property
    def mutual_tls(self) -> bool:
        return self.mtls_truststore_uri is not None

    @property
    def mtls_endpoint(self) -> str | None:
        """``MTLS_ENDPOINT`` of the functions: the mutual-TLS host's base URL."""
        return f"https://{self.mtls_domain}" if self.mutual_tls and self.mtls_domain else None

    def with_target(self, target: LambdaTarget) -> StageConfig:
        """This stage on another runtime or architecture (a one-off build)."""
        return replace(self, lambda_target=_checked_target(self.stage, target, self.snapstart))

    @property
    def write_region(self) -> str | None:
        """The region that takes admin writes."""
        return self.admin_region or self.home_region

    @property
    def multi_region(self) -> bool:
        return len(self.regions) > 1

    @property
    def is_home(self) -> bool:
        """Single-region stages are their own home."""
        return not self.multi_region or self.region == self.home_region

    @property
    def secondary_regions(self) -> tuple[str, ...]:
        return tuple(r for r in self.regions if r != self.home_region)

    def for_region(self, region: str) -> StageConfig:
        """This stage as packaged for one of its regions (its certificate there)."""
        if self.regions and region not in self.regions:
            raise StageError(f"stage {self.stage!r} does not list region {region} "
                             f"(regions: {', '.join(self.regions)})")
        certificate = dict(self.certificate_arns).get(region, self.certificate_arn)
        return replace(self, region=region, certificate_arn=certificate)

    @property
    def stack_name(self) -> str:
        return f"{self.app_name}-{self.stage}"

    @property
    def key_spec(self) -> str:
        return KEY_SPEC_FOR_ALG[self.signing_key_alg]

    @property
    def key_alias(self) -> str:
        return f"alias/{self.stack_name}-signing"


def load_stage(stage: str, project_dir: Path = PROJECT_DIR) -> StageConfig:
    """The stage as ``.chalice/config.json`` and ``infra/stages.toml`` define it."""
    from chalice.config import Config

    config_path = project_dir / ".chalice" / "config.json"
    on_disk: dict[str, Any] = json.loads(config_path.read_text())
    stages = on_disk.get("stages", {})
    if stage not in stages:
        raise StageError(
            f"stage {stage!r} is not in .chalice/config.json (stages: {', '.join(sorted(stages))})"
        )
    chalice = Config(chalice_stage=stage, config_from_disk=on_disk)
    env: dict[str, str] = dict(chalice.environment_variables or {})
    if env.get("M2M_LOCAL_MODE"):
        raise StageError(
            f"stage {stage!r} runs in local mode (M2M_LOCAL_MODE), which trusts the Host "
            "header and must never be deployed"
        )
    settings = _stage_settings(stage)
    alg = env.get("SIGNING_KEY_ALG", "RS256") or "RS256"
    if alg not in KEY_SPEC_FOR_ALG:
        raise StageError(f"SIGNING_KEY_ALG must be one of {sorted(KEY_SPEC_FOR_ALG)}, got {alg!r}")
    issuer = (env.get("ISSUER") or "").strip().rstrip("/") or None
    if issuer is not None and not issuer.startswith("https://"):
        raise StageError(f"ISSUER of stage {stage!r} must be an https URL, got {issuer!r}")
    if chalice.api_gateway_custom_domain:
        raise StageError(
            f"stage {stage!r} sets Chalice's api_gateway_custom_domain: set custom_domain "
            "and certificate_arn in infra/stages.toml instead (docs/deploy.md)"
        )
    domain, certificate, domain_endpoint = _custom_domain(stage, settings)
    if domain:
        if issuer is not None and issuer != f"https://{domain}":
            raise StageError(
                f"stage {stage!r} has the custom domain {domain} but ISSUER {issuer}: "
                "remove ISSUER (the domain sets it) or make them agree"
            )
        issuer = f"https://{domain}"
    config = StageConfig(
        stage=stage,
        app_name=str(on_disk["app_name"]),
        api_gateway_stage=str(chalice.api_gateway_stage),
        issuer=issuer,
        signing_key_alg=alg,
        log_retention_days=int(settings["log_retention_days"]),
        alarm_5xx_percent=float(settings["alarm_5xx_percent"]),
        alarm_5xx_min_requests=int(settings["alarm_5xx_min_requests"]),
        alarm_kms_throttles=int(settings["alarm_kms_throttles"]),
        ops=ops_settings(settings),
        endpoint_type=str(chalice.api_gateway_endpoint_type or "EDGE"),
        custom_domain=domain,
        certificate_arn=certificate,
        custom_domain_endpoint=domain_endpoint,
        **_lambda_settings(stage, settings),
    )
    config = _with_mutual_tls(_with_regions(config, settings), settings)
    if config.log_retention_days not in LOG_RETENTION_DAYS:
        raise StageError(
            f"log_retention_days={config.log_retention_days} is not a CloudWatch Logs "
            f"retention period ({sorted(LOG_RETENTION_DAYS)})"
        )
    return config


def _lambda_settings(stage: str, settings: dict[str, Any]) -> dict[str, Any]:
    """``lambda_runtime``, ``lambda_architecture`` and ``snapstart``, checked; a
    stages file without them gets python3.13 on arm64 without SnapStart."""
    default = LambdaTarget()
    snapstart = settings.get("snapstart", False)
    if not isinstance(snapstart, bool):
        raise StageError(f"snapstart of stage {stage!r} must be true or false, got {snapstart!r}")
    try:
        target = LambdaTarget(str(settings.get("lambda_runtime", default.runtime)),
                              str(settings.get("lambda_architecture", default.architecture)))
    except ValueError as exc:
        raise StageError(f"stage {stage!r} in infra/stages.toml: {exc}") from exc
    return {"lambda_target": _checked_target(stage, target, snapstart), "snapstart": snapstart}


def _checked_target(stage: str, target: LambdaTarget, snapstart: bool) -> LambdaTarget:
    if snapstart and not target.snapstart_supported:
        raise StageError(f"stage {stage!r} enables snapstart, which Lambda offers for "
                         f"python3.12 and later only, not {target.runtime}")
    return target


def _custom_domain(
    stage: str, settings: dict[str, Any]
) -> tuple[str | None, str | None, str]:
    """(domain, certificate ARN, endpoint type) from the stage settings, checked."""
    domain = str(settings.get("custom_domain") or "").strip().lower().rstrip(".") or None
    certificate = str(settings.get("certificate_arn") or "").strip() or None
    endpoint = str(settings.get("custom_domain_endpoint") or "REGIONAL").upper()
    if endpoint not in DOMAIN_ENDPOINTS:
        raise StageError(f"custom_domain_endpoint must be one of {DOMAIN_ENDPOINTS}")
    if domain is None:
        if certificate:
            raise StageError(f"stage {stage!r} has a certificate_arn but no custom_domain")
        return None, None, endpoint
    if not _HOST_NAME.match(domain):
        raise StageError(f"custom_domain of stage {stage!r} must be a host name "
                         f"(no scheme or path), got {domain!r}")
    if len(settings.get("regions") or []) > 1 and certificate is None:
        return domain, None, endpoint  # one certificate per region (_with_regions)
    match = _CERTIFICATE_ARN.match(certificate or "")
    if match is None:
        raise StageError(f"stage {stage!r} has the custom domain {domain}: set "
                         "certificate_arn to its ACM certificate ARN")
    if endpoint == "EDGE" and match.group(1) != "us-east-1":
        raise StageError("an EDGE custom domain needs a certificate in us-east-1; use "
                         "custom_domain_endpoint = \"REGIONAL\" for a certificate in "
                         f"{match.group(1)}")
    return domain, certificate, endpoint


def _with_mutual_tls(config: StageConfig, settings: dict[str, Any]) -> StageConfig:
    """``mtls_truststore_uri`` and friends, checked (docs/mtls.md): mutual TLS needs a
    REGIONAL custom domain (API Gateway offers it on nothing else, and only a custom
    domain lets the execute-api endpoint, where no certificate is asked for, be
    disabled); a second host needs its own certificate unless certificate_arn covers it."""
    stage = config.stage
    uri = str(settings.get("mtls_truststore_uri") or "").strip() or None
    version = str(settings.get("mtls_truststore_version") or "").strip() or None
    domain = str(settings.get("mtls_domain") or "").strip().lower().rstrip(".") or None
    certificate = str(settings.get("mtls_certificate_arn") or "").strip() or None
    if uri is None:
        if version or domain or certificate:
            raise StageError(f"stage {stage!r} sets mtls_truststore_version, mtls_domain or "
                             "mtls_certificate_arn but no mtls_truststore_uri (mutual TLS "
                             "is on only with a truststore)")
        return config
    if not _TRUSTSTORE_URI.match(uri):
        raise StageError(f"mtls_truststore_uri of stage {stage!r} must be s3://bucket/key "
                         f"(a PEM file of CA certificates), got {uri!r}")
    if version is not None and not _S3_VERSION.match(version):
        raise StageError(f"mtls_truststore_version of stage {stage!r} must be an S3 "
                         f"version id, got {version!r}")
    config = replace(config, mtls_truststore_uri=uri, mtls_truststore_version=version)
    check_mutual_tls_domain(config)
    if config.multi_region:
        raise StageError(f"stage {stage!r}: mutual TLS on a multi-region stage is not "
                         "supported yet (one truststore and domain per region)")
    domain = domain or config.custom_domain
    if domain is None or not _HOST_NAME.match(domain):
        raise StageError(f"mtls_domain of stage {stage!r} must be a host name, got {domain!r}")
    if domain == config.custom_domain:
        if certificate:
            raise StageError(f"stage {stage!r}: mtls_certificate_arn is for a second host "
                             "(mtls_domain); the custom domain uses certificate_arn")
    else:
        certificate = certificate or config.certificate_arn
        match = _CERTIFICATE_ARN.match(certificate or "")
        if match is None:
            raise StageError(f"stage {stage!r}: set mtls_certificate_arn to the ACM "
                             f"certificate of {domain}")
        base = _CERTIFICATE_ARN.match(config.certificate_arn or "")
        if base is not None and match.group(1) != base.group(1):
            raise StageError(f"stage {stage!r}: mtls_certificate_arn must be in the region "
                             "of certificate_arn (both are REGIONAL domains)")
    return replace(config, mtls_domain=domain,
                   mtls_certificate_arn=None if domain == config.custom_domain else certificate)


def check_mutual_tls_domain(config: StageConfig) -> None:
    """A StageError unless mutual TLS sits on a REGIONAL custom domain: without one the
    execute-api endpoint, which never asks for a certificate, cannot be disabled and a
    client could skip mutual TLS (RFC 8705 §3 binding would then be optional)."""
    if not config.mutual_tls:
        return
    if not config.custom_domain:
        raise StageError(f"stage {config.stage!r} turns on mutual TLS "
                         "(mtls_truststore_uri) without a custom_domain: API Gateway "
                         "offers mutual TLS on custom domains only, and the default "
                         "execute-api endpoint must be disabled (docs/mtls.md)")
    if config.custom_domain_endpoint != "REGIONAL":
        raise StageError(f"stage {config.stage!r}: mutual TLS needs custom_domain_endpoint "
                         "= \"REGIONAL\" (API Gateway has no mutual TLS on EDGE domains)")


def _with_regions(config: StageConfig, settings: dict[str, Any]) -> StageConfig:
    """``regions``, ``home_region``, ``hosted_zone_id`` and ``certificate_arns``, checked:
    a multi-region stage needs a REGIONAL custom domain, its hosted zone and a
    certificate in every region (one issuer URL for all regions)."""
    stage = config.stage
    raw = settings.get("regions") or []
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise StageError(f"regions of stage {stage!r} must be a list of region names")
    regions = [r.strip() for r in raw]
    bad = [r for r in regions if not _REGION.match(r)]
    if bad:
        raise StageError(f"regions of stage {stage!r} holds invalid region names: {bad}")
    if len(set(regions)) != len(regions):
        raise StageError(f"regions of stage {stage!r} lists a region twice: {regions}")
    home = str(settings.get("home_region") or "").strip() or (regions[0] if regions else "")
    if regions and home not in regions:
        raise StageError(f"home_region {home!r} of stage {stage!r} is not one of its "
                         f"regions {regions}")
    if not regions and home:
        raise StageError(f"stage {stage!r} sets home_region but no regions")
    certificates = settings.get("certificate_arns") or {}
    zone = str(settings.get("hosted_zone_id") or "").strip() or None
    if len(regions) <= 1:
        if certificates or zone or settings.get("admin_region"):
            raise StageError(f"stage {stage!r}: hosted_zone_id, certificate_arns and "
                             "admin_region are for multi-region stages (use certificate_arn)")
        return replace(config, regions=tuple(regions), home_region=home or None)
    if not config.custom_domain:
        raise StageError(f"stage {stage!r} lists several regions: it needs a custom_domain "
                         "(one issuer URL for all regions; docs/multi-region.md)")
    if config.custom_domain_endpoint != "REGIONAL":
        raise StageError(f"a multi-region stage needs custom_domain_endpoint = \"REGIONAL\" "
                         f"(a regional domain per region), stage {stage!r}")
    if config.certificate_arn:
        raise StageError(f"stage {stage!r} lists several regions: set certificate_arns "
                         "(one per region) instead of certificate_arn")
    if zone is None or not _HOSTED_ZONE_ID.match(zone):
        raise StageError(f"stage {stage!r} lists several regions: set hosted_zone_id to the "
                         f"Route 53 hosted zone of {config.custom_domain} (Z...)")
    if not isinstance(certificates, dict):
        raise StageError("certificate_arns must be a table: { region = \"arn:aws:acm:...\" }")
    arns: list[tuple[str, str]] = []
    for region in regions:
        arn = str(certificates.get(region) or "")
        match = _CERTIFICATE_ARN.match(arn)
        if match is None or match.group(1) != region:
            raise StageError(f"stage {stage!r}: certificate_arns needs an ACM certificate in "
                             f"{region} for {config.custom_domain}, got {arn!r}")
        arns.append((region, arn))
    extra = sorted(set(certificates) - set(regions))
    if extra:
        raise StageError(f"stage {stage!r}: certificate_arns names regions not listed: {extra}")
    ordered = (home, *(r for r in regions if r != home))
    admin = str(settings.get("admin_region") or "").strip() or None
    if admin is not None and admin not in regions:
        raise StageError(f"admin_region {admin!r} of stage {stage!r} is not one of its "
                         f"regions {regions}")
    return replace(config, regions=ordered, home_region=home, hosted_zone_id=zone,
                   certificate_arns=tuple(arns), admin_region=admin)


def _stage_settings(stage: str) -> dict[str, Any]:
    data = tomllib.loads(STAGES_FILE.read_text())
    default = data.get("default", {})
    overrides = data.get(stage, {})
    unknown = set(overrides) - set(default)
    if unknown:
        raise StageError(f"unknown settings for stage {stage!r} in {STAGES_FILE.name}: {unknown}")
    return {**default, **overrides}
