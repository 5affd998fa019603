"""Key policies of the service's signing keys: one source for the template's first
key (infra/template.py) and the keys the scheduled rotation creates.

Account administrators manage a key but never sign with it; only the token
function's role signs; the rotation function reads it and, on keys it created
itself, may schedule their deletion with the longest pending window (30 days).

A rotated key's policy is the whole authority of the stack's roles over it: it names
them as principals, which KMS honours without any IAM allow (KMS developer guide, "Key
policies": a statement naming an IAM role gives it the permission; one naming the
account only lets IAM policies give it). No IAM policy of the stack grants a KMS action
on a key because of its tags, so tags are labels: a key someone else tags with this
stack's tags gives this stack's roles nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    signer_role_pattern: str | None = None, replica_regions: Sequence[str] = (),
) -> dict[str, Any]:
    """The key policy of a key the rotation creates.

    The token function's role signs and the rotation role reads the key because this
    policy names them as principals; their IAM policies name no rotated key. The
    rotation role is named as principal of ``kms:ScheduleKeyDeletion`` too (its IAM
    policy does not allow it): only keys whose own policy says so, i.e. keys it
    created for this stack, can ever be scheduled, whatever tags another key carries.

    Multi-region stages (``signer_role_pattern``): the key and its replicas let the
    token function role of every region's stack sign (one stack name in every region,
    CloudFormation's generated role names). A principal cannot be a pattern, so that
    statement names every principal (``*``) and narrows it by the caller's role ARN
    and account, as the KMS developer guide requires of ``*``; the rotation role may
    replicate the key to the stage's other regions (``replica_regions``) only.
    """
    account = account_root(rotation_role_arn).split(":")[4]
    root = {"AWS": account_root(rotation_role_arn)}
    signers: dict[str, Any] = (
        {"Principal": {"AWS": "*"}, "Condition": {
            "ArnLike": {"aws:PrincipalArn": signer_role_pattern},
            "StringEquals": {"kms:CallerAccount": account},
        }}
        if signer_role_pattern else {"Principal": {"AWS": signer_role_arn}}
    )
    rotation = {"AWS": rotation_role_arn}
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
                **signers,
                "Action": TOKEN_KEY_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "RotationFunctionReadsKey",
                "Effect": "Allow",
                "Principal": rotation,
                "Action": ROTATION_READ_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "RotationFunctionSchedulesDeletionOfItsOwnKey",
                "Effect": "Allow",
                "Principal": rotation,
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
    if replica_regions:
        policy["Statement"].append({
            "Sid": "RotationFunctionReplicatesKey",
            "Effect": "Allow",
            "Principal": rotation,
            "Action": "kms:ReplicateKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ReplicaRegion": list(replica_regions)}},
        })
    return policy
