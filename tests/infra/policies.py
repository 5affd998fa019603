"""Reading IAM and KMS policies and intrinsic references out of a CloudFormation template."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "m2m-auth-dev",
    "AWS::URLSuffix": "amazonaws.com",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Statement:
    resource: str
    """Logical id of the role, policy or key holding it."""
    kind: str
    """``identity`` (IAM role or managed policy) or ``key`` (KMS key policy)."""
    body: dict[str, Any]

    @property
    def sid(self) -> str:
        return str(self.body.get("Sid", ""))

    @property
    def actions(self) -> list[str]:
        return [str(a) for a in as_list(self.body.get("Action", []))]

    @property
    def resources(self) -> list[Any]:
        return as_list(self.body.get("Resource", []))

    @property
    def allows(self) -> bool:
        return self.body.get("Effect") == "Allow"


def policy_statements(resources: dict[str, Any]) -> Iterator[Statement]:
    """Every statement of every IAM role, IAM policy and KMS key policy."""
    for name, resource in resources.items():
        kind = resource.get("Type")
        props = resource.get("Properties", {})
        documents: list[tuple[str, Any]] = []
        if kind == "AWS::IAM::Role":
            documents = [("identity", p["PolicyDocument"]) for p in props.get("Policies", [])]
        elif kind == "AWS::IAM::ManagedPolicy":
            documents = [("identity", props["PolicyDocument"])]
        elif kind == "AWS::IAM::Policy":  # counted as the statements of the roles it names
            for role in props.get("Roles", []):
                for body in as_list(props["PolicyDocument"]["Statement"]):
                    yield Statement(role["Ref"], "identity", body)
            continue
        elif kind in ("AWS::KMS::Key", "AWS::KMS::ReplicaKey"):
            documents = [("key", props["KeyPolicy"])]
        for doc_kind, document in documents:
            for body in as_list(document["Statement"]):
                yield Statement(name, doc_kind, body)


def role_actions(resources: dict[str, Any], role: str) -> set[str]:
    return {
        action
        for s in policy_statements(resources)
        if s.resource == role and s.allows
        for action in s.actions
    }


def resolve(value: Any, names: dict[str, str] | None = None) -> str:
    """A string, ``Fn::Sub`` or ``Ref`` rendered with example values."""
    lookup = {**PSEUDO, **(names or {})}
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"]
        assert isinstance(text, str), "Fn::Sub with a variable map is not used here"
        return _SUB_VARIABLE.sub(lambda m: lookup.get(m.group(1), f"<{m.group(1)}>"), text)
    if isinstance(value, dict) and "Ref" in value:
        return lookup.get(value["Ref"], f"<{value['Ref']}>")
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target, attribute = value["Fn::GetAtt"]
        return lookup.get(f"{target}.{attribute}", f"<{target}.{attribute}>")
    raise AssertionError(f"cannot resolve {value!r}")


def references(value: Any) -> Iterator[str]:
    """Logical ids and parameters named by Ref, Fn::GetAtt and Fn::Sub inside ``value``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]
                yield str(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                local = set(inner[1]) if isinstance(inner, list) and len(inner) > 1 else set()
                for name in _SUB_VARIABLE.findall(str(text)):
                    base = name.split(".", 1)[0]
                    if base not in local:
                        yield base
                if isinstance(inner, list) and len(inner) > 1:
                    yield from references(inner[1])
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def dangling_environment_references(template: dict[str, Any]) -> list[str]:
    """``function.VARIABLE -> target`` for every environment variable of every
    Lambda function naming a resource or parameter the template lacks."""
    known = set(template.get("Resources", {})) | set(template.get("Parameters", {}))
    dangling = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        for variable, value in variables.items():
            for target in references(value):
                if not target.startswith("AWS::") and target not in known:
                    dangling.append(f"{name}.{variable} -> {target}")
    return dangling


# -- a small IAM evaluator: what a set of statements decides for one request ---------------

Context = dict[str, Any]
"""Condition keys of a request, e.g. ``{"aws:ResourceTag/m2m-auth:stack": "m2m-auth-prod"}``;
a list value is a multi-valued key (``aws:TagKeys``)."""


Names = dict[str, str] | None
"""Example values of references (``{"SigningKey.Arn": "arn:aws:kms:..."}``), see resolve."""


def _values(value: Any, names: Names = None) -> list[str]:
    return [str(v) if isinstance(v, int | float) else resolve(v, names) for v in as_list(value)]


def _condition_holds(
    operator: str, key: str, expected: Any, context: Context, names: Names = None
) -> bool:
    present = key in context
    actual = context.get(key)
    wanted = _values(expected, names)
    if operator == "Null":
        return (not present) if wanted == ["true"] else present
    if operator.startswith("ForAllValues:"):
        inner = operator.split(":", 1)[1]
        assert inner == "StringEquals", operator
        return all(str(v) in wanted for v in as_list(actual or []))
    if operator in ("StringEquals", "ArnEquals", "ArnLike"):
        return present and any(fnmatchcase(str(actual), w) if operator.startswith("Arn")
                               else str(actual) == w for w in wanted)
    if operator == "StringNotEquals":
        return not present or str(actual) not in wanted
    if operator == "NumericEquals":
        return present and any(float(actual) == float(w) for w in wanted)
    if operator == "NumericNotEquals":
        return not present or all(float(actual) != float(w) for w in wanted)
    if operator == "Bool":
        return present and str(actual).lower() in [w.lower() for w in wanted]
    raise AssertionError(f"condition operator {operator} is not modelled")


def _applies(
    statement: Statement, action: str, resource: str, context: Context, names: Names = None
) -> bool:
    if not any(fnmatchcase(action, a) for a in statement.actions):  # "kms:*" too
        return False
    if not any(fnmatchcase(resource, resolve(r, names)) for r in statement.resources):
        return False
    conditions = statement.body.get("Condition", {})
    return all(
        _condition_holds(operator, key, expected, context, names)
        for operator, block in conditions.items()
        for key, expected in block.items()
    )


def decision(
    statements: list[Statement], action: str, resource: str, context: Context | None = None
) -> bool:
    """True if the identity statements allow ``action`` on ``resource`` (an explicit
    deny wins; nothing allowed is denied), as IAM evaluates one policy set."""
    request = context or {}
    applicable = [s for s in statements if _applies(s, action, resource, request)]
    if any(s.body.get("Effect") == "Deny" for s in applicable):
        return False
    return any(s.allows for s in applicable)


# -- KMS: a key policy and the caller's IAM policies together -------------------------------


def key_policy(document: dict[str, Any], name: str = "key") -> list[Statement]:
    """The statements of a key policy document (one the rotation writes, or a default one)."""
    return [Statement(name, "key", body) for body in as_list(document["Statement"])]


def default_key_policy(account: str) -> list[Statement]:
    """What KMS attaches to a key created without a policy: the account may use IAM
    policies for every action (KMS developer guide, "Default key policy")."""
    return key_policy({"Statement": [{
        "Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
        "Resource": "*",
    }]}, "default")


def _principals(statement: Statement, names: Names = None) -> list[str]:
    principal = statement.body.get("Principal")
    if principal == "*":
        return ["*"]
    assert isinstance(principal, dict), statement
    return [resolve(p, names) for p in as_list(principal.get("AWS", []))]


def kms_decision(
    key: list[Statement],
    identity: list[Statement],
    caller: str,
    action: str,
    key_arn: str,
    context: Context | None = None,
    names: Names = None,
) -> bool:
    """True if KMS allows ``caller`` (a role ARN of the example account, or another
    account's) ``action`` on the key ARN ``key_arn`` (``names`` gives the template's
    roles and keys example ARNs),
    as the KMS developer guide describes it ("Key policies", "Determining access"): an
    explicit deny in either policy wins; a key policy statement naming the caller (its
    ARN, or ``*`` narrowed by conditions) allows it on its own; one naming the account
    (``:root``) only lets the caller's IAM policies allow it; nothing else does."""
    account = caller.split(":")[4]
    request = {"aws:PrincipalArn": caller, "aws:PrincipalAccount": account,
               "kms:CallerAccount": account, **(context or {})}
    in_key = [s for s in key if _applies(s, action, key_arn, request, names)]
    in_iam = [s for s in identity if _applies(s, action, key_arn, request, names)]
    if any(s.body.get("Effect") == "Deny" for s in in_key + in_iam):
        return False
    allowing = [p for s in in_key if s.allows for p in _principals(s, names)]
    if caller in allowing or "*" in allowing:
        return True
    delegated = f"arn:aws:iam::{account}:root" in allowing
    return delegated and any(s.allows for s in in_iam)
