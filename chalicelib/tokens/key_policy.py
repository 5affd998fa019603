"""Key policies of the service's signing keys: one source for the template's first
key (infra/template.py) and the keys the scheduled rotation creates.

Account administrators manage a key but never sign with it; only the token
function's role signs; the rotation function reads it and, on keys it created
itself, may schedule their deletion with the longest pending window (30 days).
"""

from __future__ import annotations

from typing import Any

SERVICE_TAG = "m2m-auth"
SIGNING_KEY_TAG_VALUE = "signing-key"
CREATED_BY_TAG = "m2m-auth:created-by"
ROTATOR_TAG_VALUE = "rotator"
STACK_TAG = "m2m-auth:stack"
DELETION_WINDOW_DAYS = 30
"""KMS's maximum pending window: a mistaken deletion can be cancelled for 30 days."""

# Administration through IAM: everything CloudFormation and an operator need, and
# neither kms:Sign nor kms:GetPublicKey, which go to the functions' roles alone.
KEY_ADMIN_ACTIONS = [
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:ListGrants",
    "kms:RevokeGrant",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]
TOKEN_KEY_ACTIONS = ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]
ROTATION_READ_ACTIONS = ["kms:DescribeKey", "kms:GetPublicKey", "kms:ListResourceTags"]


def account_root(role_arn: str) -> str:
    """``arn:<partition>:iam::<account>:root`` of the account owning ``role_arn``."""
    parts = role_arn.split(":")
    if len(parts) < 6 or parts[2] != "iam" or not parts[4]:
        raise ValueError(f"not an IAM role ARN: {role_arn!r}")
    return f"arn:{parts[1]}:iam::{parts[4]}:root"


def rotated_key_policy(
    signer_role_arn: str, rotation_role_arn: str, stack: str,
    signer_role_pattern: str | None = None,
) -> dict[str, Any]:
    """The key policy of a key the rotation creates.

    The rotation role is named as principal of ``kms:ScheduleKeyDeletion`` (its IAM
    policy does not allow it): only keys whose own policy says so, i.e. keys it
    created for this stack, can ever be scheduled, whatever tags another key carries.

    Multi-region stages (``signer_role_pattern``): the key and its replicas name the
    token function role of every region's stack by pattern (one stack name in every
    region, CloudFormation's generated role names), and the rotation role may
    replicate the key.
    """
    root = {"AWS": account_root(rotation_role_arn)}

    def only(role_arn: str) -> dict[str, Any]:
        return {"ArnEquals": {"aws:PrincipalArn": role_arn}}

    signers = ({"ArnLike": {"aws:PrincipalArn": signer_role_pattern}}
               if signer_role_pattern else only(signer_role_arn))
    policy: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersKey",
                "Effect": "Allow",
                "Principal": root,
                "Action": KEY_ADMIN_ACTIONS,
                "Resource": "*",  # in a key policy, "*" is this key
            },
            {
                "Sid": "OnlyTheTokenFunctionSigns",
                "Effect": "Allow",
                "Principal": root,
                "Action": TOKEN_KEY_ACTIONS,
                "Resource": "*",
                "Condition": signers,
            },
            {
                "Sid": "RotationFunctionReadsKey",
                "Effect": "Allow",
                "Principal": root,
                "Action": ROTATION_READ_ACTIONS,
                "Resource": "*",
                "Condition": only(rotation_role_arn),
            },
            {
                "Sid": "RotationFunctionSchedulesDeletionOfItsOwnKey",
                "Effect": "Allow",
                "Principal": {"AWS": rotation_role_arn},
                "Action": "kms:ScheduleKeyDeletion",
                "Resource": "*",
                "Condition": {
                    "NumericEquals": {  # IAM condition values are strings
                        "kms:ScheduleKeyDeletionPendingWindowInDays": str(DELETION_WINDOW_DAYS)
                    },
                    "StringEquals": {
                        f"aws:ResourceTag/{STACK_TAG}": stack,
                        f"aws:ResourceTag/{CREATED_BY_TAG}": ROTATOR_TAG_VALUE,
                    },
                },
            },
        ],
    }
    if signer_role_pattern:
        policy["Statement"].append({
            "Sid": "RotationFunctionReplicatesKey",
            "Effect": "Allow",
            "Principal": root,
            "Action": "kms:ReplicateKey",
            "Resource": "*",
            "Condition": only(rotation_role_arn),
        })
    return policy
