"""Lambda SnapStart on both functions (a stage setting, docs/runtime.md).

SnapStart applies to published versions only (``SnapStart: {ApplyOn:
PublishedVersions}``); ``$LATEST`` would start cold as before. So each function gets
SAM's ``AutoPublishAlias``: every deployment that changes a function publishes a
version (Lambda snapshots it) and moves the alias to it. Whatever invokes a
function must then invoke the alias: SAM points the rotation's schedule at it
itself; API Gateway's integrations and its invoke permission are Chalice's, in the
OpenAPI body and a plain ``AWS::Lambda::Permission``, so they are pointed at
``<function>.Alias`` here, one route and method at a time. SAM resolves ``Ref:
APIHandler.Alias`` anywhere in the template; the integrations use it through a
``Fn::Sub`` variable, because cfn-lint, which checks the SAM template without
transforming it, knows no ``${APIHandler.Alias}`` attribute inside a ``Fn::Sub``.
"""

from __future__ import annotations

from typing import Any

from .names import (
    API_FUNCTION,
    API_INVOKE_PERMISSION,
    FUNCTION_ALIAS,
    REST_API,
    ROTATION_FUNCTION,
    AppShape,
    ref,
    sub,
)

INTEGRATION = "x-amazon-apigateway-integration"
_INVOCATIONS = (
    "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/"
    "${{{target}}}/invocations"
)
ALIAS = ref(f"{API_FUNCTION}.Alias")
"""The API function's alias, as SAM resolves it (the alias ARN)."""
FUNCTION_URI = sub(_INVOCATIONS.format(target=f"{API_FUNCTION}.Arn"))
"""The integration URI Chalice writes: the function itself (``$LATEST``)."""
ALIAS_URI = {"Fn::Sub": [_INVOCATIONS.format(target="Alias"), {"Alias": ALIAS}]}
"""The integration URI of a SnapStart stage: the alias."""
FUNCTIONS = (API_FUNCTION, ROTATION_FUNCTION)


def function_properties() -> dict[str, Any]:
    return {"SnapStart": {"ApplyOn": "PublishedVersions"}, "AutoPublishAlias": FUNCTION_ALIAS}


def apply(resources: dict[str, Any], app: AppShape) -> None:
    """Turn SnapStart on for the functions of ``resources`` (the merge template) and
    send every API Gateway route of ``app`` to the API function's alias."""
    for function in FUNCTIONS:
        if function in resources:
            resources[function]["Properties"].update(function_properties())
    body = resources[REST_API]["Properties"].setdefault("DefinitionBody", {})
    paths = body.setdefault("paths", {})
    for path, methods in app.routes:
        for method in methods:
            paths.setdefault(path, {})[method.lower()] = {INTEGRATION: {"uri": ALIAS_URI}}
    resources[API_INVOKE_PERMISSION] = {"Properties": {"FunctionName": ALIAS}}


def wiring_problems(template: dict[str, Any], enabled: bool) -> list[str]:
    """What in the packaged ``template`` does not invoke what it must: the alias with
    SnapStart, the function without. Empty when all is well."""
    resources = template["Resources"]
    problems = []
    for function in FUNCTIONS:
        if function not in resources:
            continue
        properties = resources[function]["Properties"]
        has = {key: key in properties for key in ("SnapStart", "AutoPublishAlias")}
        if enabled and properties.get("SnapStart") != function_properties()["SnapStart"]:
            problems.append(f"{function} has no SnapStart on published versions")
        if enabled and properties.get("AutoPublishAlias") != FUNCTION_ALIAS:
            problems.append(f"{function} publishes no alias {FUNCTION_ALIAS!r}")
        if not enabled and any(has.values()):
            problems.append(f"{function} has SnapStart settings, but the stage has none")
    expected = ALIAS_URI if enabled else FUNCTION_URI
    paths = resources[REST_API]["Properties"]["DefinitionBody"].get("paths", {})
    for path, operations in sorted(paths.items()):
        for method, operation in sorted(operations.items()):
            uri = operation.get(INTEGRATION, {}).get("uri")
            if uri != expected:
                problems.append(f"{method.upper()} {path} invokes {uri}, not {expected}")
    target = ALIAS if enabled else ref(API_FUNCTION)
    permission = resources.get(API_INVOKE_PERMISSION, {}).get("Properties", {})
    if permission.get("FunctionName") != target:
        problems.append(f"{API_INVOKE_PERMISSION} lets API Gateway invoke "
                        f"{permission.get('FunctionName')}, not {target}")
    return problems
