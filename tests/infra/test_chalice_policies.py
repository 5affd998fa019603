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
        if "*" in as_list(statement["Resource"]) and statement["Effect"] == "Allow":
            assert _actions(statement) == ["kms:CreateKey"]
            assert statement["Condition"]["StringEquals"]["aws:RequestTag/m2m-auth"] == (
                "signing-key"
            )
        if statement["Effect"] == "Deny":
            continue
        assert "kms:ScheduleKeyDeletion" not in _actions(statement)


def test_rotation_policy_file_grants_nothing_its_code_does_not_use() -> None:
    # Plain `chalice deploy` has no stack tag to scope deletion by: it never deletes.
    allowed = {a for s in _statements("policy-rotation.json") if s["Effect"] == "Allow"
               for a in _actions(s)}
    assert allowed & {"kms:CreateAlias", "kms:UpdateAlias", "kms:ScheduleKeyDeletion",
                      "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} == set()
    denied = {a for s in _statements("policy-rotation.json") if s["Effect"] == "Deny"
              for a in _actions(s)}
    assert {"kms:TagResource", "kms:ScheduleKeyDeletion"} <= denied
