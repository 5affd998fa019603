"""Names the template builders share: logical ids (Chalice's and ours), tags, and the
small CloudFormation helpers. :mod:`.template`, :mod:`.observability` and
:mod:`.multi_region` import them from here, never from each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Logical ids Chalice generates (``chalice package``, iam_policy_file in use).
API_FUNCTION = "APIHandler"
API_ROLE = "ApiHandlerRole"
REST_API = "RestAPI"
ROTATION_HANDLER = "rotate_signing_keys"
ROTATION_FUNCTION = "RotateSigningKeys"
ROTATION_ROLE = "RotateSigningKeysRole"
API_INVOKE_PERMISSION = "APIHandlerInvokePermission"
"""API Gateway's permission to invoke the token/admin function."""
FUNCTION_ALIAS = "live"
"""SnapStart stages: the alias (SAM ``AutoPublishAlias``) that API Gateway and the
schedule invoke; SAM moves it to the version each deployment publishes."""

# Logical ids this template adds.
TABLE = "Table"
SIGNING_KEY = "SigningKey"
SIGNING_KEY_ALIAS = "SigningKeyAlias"
API_LOG_GROUP = "APIHandlerLogGroup"
ROTATION_LOG_GROUP = "RotateSigningKeysLogGroup"
ADMIN_POLICY = "AdminInvokePolicy"
API_FIRST_KEY_POLICY = "ApiHandlerFirstKeyPolicy"
ROTATION_FIRST_KEY_POLICY = "RotateSigningKeysFirstKeyPolicy"
"""The roles' statements naming the first key by its ARN: policies of their own, since
the key's policy names the roles (inside the roles, the references would be a cycle)."""
ALARM_TOPIC = "AlarmTopic"
KMS_THROTTLE_FILTER = "KmsThrottlingMetricFilter"
# The stage's custom domain (infra/stages.toml).
CUSTOM_DOMAIN = "CustomDomainName"
CUSTOM_DOMAIN_MAPPING = "CustomDomainMapping"
# The mutual-TLS host when it is not the custom domain (infra/mtls_domain.py).
MTLS_DOMAIN = "MtlsDomainName"
MTLS_DOMAIN_MAPPING = "MtlsDomainMapping"

ADMIN_PREFIX = "/admin"
SERVICE_TAG = "m2m-auth"
SIGNING_KEY_TAG_VALUE = "signing-key"
CREATED_BY_TAG = "m2m-auth:created-by"
STACK_TAG = "m2m-auth:stack"
"""Every signing key carries its stack's name. A label: no policy of the stack grants a
key by its tags (key policies and ARNs do); the rotation's deletion checks read it."""
ROTATOR_TAG_VALUE = "rotator"
# The line chalicelib/routes/http.py logs when KMS throttles a signing request.
KMS_THROTTLE_LOG_TERM = "KMS throttled"

LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]
FIVE_MINUTES = 300
ONE_DAY = 86400


@dataclass(frozen=True)
class AppShape:
    """What the Chalice app defines that the template depends on."""

    has_rotation: bool
    routes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(path, methods) of every route: per-method throttles name them."""


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def get_att(name: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [name, attribute]}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


ACCOUNT_KEYS = "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"


def role_policy(role: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "PolicyName": f"{role}Policy",
        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
    }


def logs_statement(log_group: str) -> dict[str, Any]:
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": LOG_ACTIONS,
        "Resource": get_att(log_group, "Arn"),
    }
