"""The hand-written policies Chalice copies (``.chalice/policy*.json``): used as
they are by a plain ``chalice deploy``, replaced by ARN-scoped ones in ``make deploy``."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import project_path
from tests.infra.policies import as_list

KEY_LIFECYCLE = {"kms:CreateKey", "kms:Decrypt", "kms:ScheduleKeyDeletion", "kms:TagResource"}


def _statements(name: str) -> list[dict[str, Any]]:
    document = json.loads(project_path(".chalice", name).read_text())
    return list(as_list(document["Statement"]))


def _actions(statement: dict[str, Any]) -> list[str]:
    return [str(a) for a in as_list(statement["Action"])]


def test_rotation_function_uses_its_own_policy_file() -> None:
    config = json.loads(project_path(".chalice", "config.json").read_text())
    rotation = config["lambda_functions"]["rotate_signing_keys"]
    assert rotation["iam_policy_file"] == "policy-rotation.json"
    assert project_path(".chalice", "policy-rotation.json").exists()


def test_policy_files_name_no_wildcard_actions() -> None:
    for name in ("policy.json", "policy-rotation.json"):
        for statement in _statements(name):
            assert all("*" not in action for action in _actions(statement)), (name, statement)


def test_api_policy_file_cannot_create_decrypt_tag_or_delete_keys() -> None:
    actions = {a for s in _statements("policy.json") for a in _actions(s)}
    assert actions & KEY_LIFECYCLE == set()


def test_rotation_policy_file_uses_star_only_for_tag_restricted_create_key() -> None:
    for statement in _statements("policy-rotation.json"):
        if "*" in as_list(statement["Resource"]):
            assert _actions(statement) == ["kms:CreateKey"]
            assert statement["Condition"]["StringEquals"]["aws:RequestTag/m2m-auth"] == (
                "signing-key"
            )
        if "kms:ScheduleKeyDeletion" in _actions(statement):
            assert statement["Condition"] == {
                "StringEquals": {"aws:ResourceTag/m2m-auth": "signing-key"}
            }
