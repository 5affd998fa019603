"""IAM principal ARNs: what an admin registers, what STS GetCallerIdentity answers, and
the one normal form both are compared in (docs/aws-iam-auth.md, "Principals").

An app lists IAM role ARNs (``arn:aws:iam::123456789012:role/path/Name``) and IAM user
ARNs (``arn:aws:iam::123456789012:user/path/Name``). GetCallerIdentity answers a user's
ARN as is and, for role credentials, an assumed-role ARN
(``arn:aws:sts::123456789012:assumed-role/Name/session``) that names the role but not
its path. The normal form therefore drops the path and lower-cases the name:
IAM names roles and users uniquely per account regardless of path and case ("you cannot
create roles named both PRODROLE and prodrole"), so the normal form still names exactly
one role or user of one account. Root, federated users and anything else are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Partitions whose STS endpoints this service may call (docs: "Regions").
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
MAX_ARN_LENGTH = 2048
_NAME = r"[\w+=,.@-]{1,128}"
_PATH = r"/(?:[\x21-\x7e]*/)?"
_IAM = re.compile(
    rf"arn:(?P<partition>{'|'.join(PARTITIONS)}):iam::(?P<account>\d{{12}}):"
    rf"(?P<kind>role|user)(?P<path>{_PATH})(?P<name>{_NAME})",
    re.ASCII,  # IAM names are ASCII: no Unicode letters or digits under \w and \d
)
_ASSUMED = re.compile(
    rf"arn:(?P<partition>{'|'.join(PARTITIONS)}):sts::(?P<account>\d{{12}}):"
    rf"assumed-role/(?P<name>{_NAME})/(?P<session>[\w+=,.@-]{{2,64}})",
    re.ASCII,
)


@dataclass(frozen=True)
class IamPrincipal:
    """A role or user of one account, in the normal form used for lookups."""

    partition: str
    account: str
    kind: str  # "role" or "user"
    name: str  # lower-cased

    @property
    def key(self) -> str:
        """``arn:<partition>:iam::<account>:<kind>/<name>`` (path dropped, name lower-case)."""
        return f"arn:{self.partition}:iam::{self.account}:{self.kind}/{self.name}"


def registered_principal(arn: str) -> IamPrincipal | None:
    """The principal an admin-registered role or user ARN names; ``None`` if it is not one."""
    if len(arn) > MAX_ARN_LENGTH:
        return None
    match = _IAM.fullmatch(arn)
    if match is None or len(match["path"]) > 512 or len(match["name"]) > 64:
        return None
    return IamPrincipal(match["partition"], match["account"], match["kind"],
                        match["name"].lower())


def caller_principal(arn: str) -> IamPrincipal | None:
    """The role or user behind a GetCallerIdentity ``Arn``: an assumed-role ARN maps to
    its role, a user ARN to the user; anything else (root, federated-user) is ``None``."""
    if len(arn) > MAX_ARN_LENGTH:
        return None
    assumed = _ASSUMED.fullmatch(arn)
    if assumed is not None:
        if len(assumed["name"]) > 64:
            return None
        return IamPrincipal(assumed["partition"], assumed["account"], "role",
                            assumed["name"].lower())
    principal = registered_principal(arn)
    return principal if principal is not None and principal.kind == "user" else None
