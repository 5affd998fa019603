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
        elif kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            documents = [("identity", props["PolicyDocument"])]
        elif kind == "AWS::KMS::Key":
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
        return f"<{target}.{attribute}>"
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


def _values(value: Any) -> list[str]:
    return [str(v) if isinstance(v, int | float) else resolve(v) for v in as_list(value)]


def _condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    present = key in context
    actual = context.get(key)
    wanted = _values(expected)
    if operator == "Null":
        return (not present) if wanted == ["true"] else present
    if operator.startswith("ForAllValues:"):
        inner = operator.split(":", 1)[1]
        assert inner == "StringEquals", operator
        return all(str(v) in wanted for v in as_list(actual or []))
    if operator in ("StringEquals", "ArnEquals"):
        return present and any(fnmatchcase(str(actual), w) if operator == "ArnEquals"
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


def _applies(statement: Statement, action: str, resource: str, context: Context) -> bool:
    if action not in statement.actions:
        return False
    if not any(fnmatchcase(resource, resolve(r)) for r in statement.resources):
        return False
    conditions = statement.body.get("Condition", {})
    return all(
        _condition_holds(operator, key, expected, context)
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
