"""Trusted issuers: presets for the common workload-identity providers, the issuer
id derived from the issuer URL, and the subject shape each kind of issuer gives its
workloads (docs/federation.md)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

DEFAULT_MAX_LIFETIME = 3600
GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"

AWS_OUTBOUND_ISSUER = re.compile(
    r"https://[a-z0-9][a-z0-9-]{0,62}\.tokens\.sts\.global\.api\.aws", re.ASCII
)

# The URLs an admin registers (issuer, jwks_uri, bundle_endpoint), as openapi.json states
# them: https, a DNS name (or IPv4 literal, which must then be public), an optional port,
# printable ASCII without spaces, no user info and no fragment. An issuer has no query
# and no trailing slash. Local mode also takes http://127.0.0.1[:port].
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = (  # 1-65535
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
    r"|[1-9][0-9]{0,3}))?"
)
_ORIGIN = rf"https://{_LABEL}(?:\.{_LABEL})*{_PORT}"
_LOCAL_ORIGIN = rf"http://127\.0\.0\.1{_PORT}"
_PATH_CHAR = r"[\x21\x22\x24-\x3e\x40-\x7e]"  # printable ASCII but '#' and '?'
_ISSUER_PATH = r"(?:/[\x21\x22\x24-\x3e\x40-\x7e]*[\x21\x22\x24-\x2e\x30-\x3e\x40-\x7e])?"
_KEYS_PATH = rf"(?:/{_PATH_CHAR}*)?(?:\?[\x21\x22\x24-\x7e]*)?"
ISSUER_URL = _ORIGIN + _ISSUER_PATH
KEYS_URL = _ORIGIN + _KEYS_PATH
LOCAL_ISSUER_URL = _LOCAL_ORIGIN + _ISSUER_PATH
LOCAL_KEYS_URL = _LOCAL_ORIGIN + _KEYS_PATH
KUBERNETES_SUBJECT = re.compile(
    r"system:serviceaccount:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?:[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?"
)
TRUST_DOMAIN = re.compile(r"[a-z0-9._-]{1,255}", re.ASCII)
SPIFFE_ID = re.compile(r"spiffe://([a-z0-9._-]{1,255})(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?")
AWS_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


@dataclass(frozen=True)
class Preset:
    """What one kind of issuer needs and which defaults it gets."""

    kind: str
    name: str
    single_use_jti: bool
    """On where each token is minted for one use; off where the platform hands one
    token to many calls by design (Kubernetes projected tokens are re-read for up to
    80 % of their life, SPIFFE agents cache JWT-SVIDs)."""
    fixed_issuer: str | None = None


PRESETS: dict[str, Preset] = {
    "aws-outbound": Preset("aws-outbound", "AWS outbound identity federation", True),
    "kubernetes": Preset("kubernetes", "Kubernetes service accounts", False),
    "eks": Preset("kubernetes", "Amazon EKS service accounts", False),
    "github-actions": Preset("github-actions", "GitHub Actions", True, GITHUB_ACTIONS_ISSUER),
    "spiffe": Preset("spiffe", "SPIFFE trust domain", False),
    "oidc": Preset("oidc", "OpenID provider", True),
}
KINDS = frozenset(p.kind for p in PRESETS.values())


def issuer_id_for(issuer: str) -> str:
    """One record per issuer: its id is a digest of the issuer identifier, so the token
    endpoint finds the issuer of a presented ``iss`` with one GetItem."""
    return "iss_" + hashlib.sha256(issuer.encode("utf-8")).hexdigest()[:32]


ISSUER_ID_SHAPE = re.compile(r"iss_[0-9a-f]{32}")


def spiffe_issuer(trust_domain: str) -> str:
    return f"spiffe://{trust_domain}"


def trust_domain_of(spiffe_id: str) -> str | None:
    match = SPIFFE_ID.fullmatch(spiffe_id) if len(spiffe_id) <= 2048 else None
    return match.group(1) if match else None


def subject_problem(kind: str, issuer: str, subject: str) -> str | None:
    """Why ``subject`` cannot be a workload of this kind of issuer (``None``: it can)."""
    if kind == "kubernetes" and not KUBERNETES_SUBJECT.fullmatch(subject):
        return "must be system:serviceaccount:<namespace>:<name>"
    if kind == "spiffe" and (
        trust_domain_of(subject) is None or spiffe_issuer(trust_domain_of(subject) or "") != issuer
    ):
        return f"must be a SPIFFE ID in {issuer}"
    if kind == "aws-outbound" and not AWS_ROLE_ARN.fullmatch(subject):
        return "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
    return None
