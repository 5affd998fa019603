"""Abuse protection, access logs, metrics, alarms and the dashboard in the packaged
template (infra/observability.py), checked structurally and with cfn-lint."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs
from chalice.package import TemplateDeepMerger

from chalicelib.aws import metrics
from chalicelib.aws.metrics import EmfRecorder
from infra import names as ids
from infra import observability as obs
from infra import template as tpl
from infra.stage import StageConfig, StageError, Throttle, load_stage
from tests.infra.policies import resolve

ROTATION_ROLE_ARN = "arn:aws:iam::123456789012:role/m2m-auth-dev-RotateSigningKeysRole-AB12"
OWN_METRICS = set(metrics.METRICS) | {obs.THROTTLED_REQUESTS, obs.KMS_THROTTLED_REQUESTS}
AWS_METRICS = {
    "AWS/ApiGateway": {"Count", "4XXError", "5XXError", "Latency"},
    "AWS/Lambda": {"Invocations", "Errors", "Throttles"},
    "AWS/WAFV2": {"BlockedRequests", "AllowedRequests"},
}


def _shape(template: dict[str, Any]) -> ids.AppShape:
    """The app's routes as Chalice put them into the packaged template."""
    paths = template["Resources"][ids.REST_API]["Properties"]["DefinitionBody"]["paths"]
    routes = tuple((p, tuple(sorted(m.upper() for m in methods))) for p, methods in paths.items())
    return ids.AppShape(has_rotation=True, routes=routes)


def _with(stage: StageConfig, **ops: Any) -> StageConfig:
    return replace(stage, ops=replace(stage.ops, **ops))


def _merged(template: dict[str, Any], stage: StageConfig) -> dict[str, Any]:
    """The packaged template with ``stage``'s merge template, as `chalice package` merges."""
    merge = tpl.merge_template(stage, _shape(template))
    return TemplateDeepMerger().merge(merge, copy.deepcopy(template))  # type: ignore[no-any-return]


def _lint_findings(template: dict[str, Any]) -> list[str]:
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    return [f"{m.rule.id} {m.message} at {m.path}" for m in matches]


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r.get("Type") == kind}


# -- throttles --------------------------------------------------------------------------------


def _settings_by_method(resources: dict[str, Any]) -> dict[tuple[str, str], Throttle]:
    return {
        (s["ResourcePath"], s["HttpMethod"]): Throttle(s["ThrottlingRateLimit"],
                                                       s["ThrottlingBurstLimit"])
        for s in resources[ids.REST_API]["Properties"]["MethodSettings"]
    }


def test_token_endpoint_admin_methods_and_other_public_methods_have_separate_throttles(
    template: dict[str, Any], resources: dict[str, Any], dev_stage: StageConfig
) -> None:
    ops = dev_stage.ops
    settings = _settings_by_method(resources)
    paths = template["Resources"][ids.REST_API]["Properties"]["DefinitionBody"]["paths"]

    assert settings.pop(("/*", "*")) == ops.public_throttle  # every method not named below
    assert settings.pop(("/~1oauth~1token", "POST")) == ops.token_throttle
    admin = {(obs.method_path(p), m.upper()) for p, methods in paths.items() for m in methods
             if p.startswith("/admin/")}
    assert len(admin) > 10
    assert set(settings) == admin  # every admin method, and nothing public
    assert set(settings.values()) == {ops.admin_throttle}
    assert len({ops.token_throttle, ops.public_throttle, ops.admin_throttle}) == 3


def test_throttles_follow_each_stage_settings(template: dict[str, Any]) -> None:
    prod = load_stage("prod")
    merge = tpl.merge_template(prod, _shape(template))
    settings = _settings_by_method(merge["Resources"])
    assert settings[("/~1oauth~1token", "POST")] == prod.ops.token_throttle
    assert settings[("/~1admin~1apps", "POST")] == prod.ops.admin_throttle
    assert prod.ops.token_throttle != load_stage("dev").ops.token_throttle


def test_refuses_public_throttles_that_could_use_up_the_account_throttle(
    template: dict[str, Any], dev_stage: StageConfig
) -> None:
    greedy = _with(dev_stage, public_throttle=Throttle(1000, 2000), account_rate_limit=10000)
    with pytest.raises(StageError, match="account_rate_limit"):
        tpl.merge_template(greedy, _shape(template))


def test_method_paths_use_the_encoding_api_gateway_expects() -> None:
    assert obs.method_path("/oauth/token") == "/~1oauth~1token"
    assert obs.method_path("/admin/apps/{app_id}") == "/~1admin~1apps~1{app_id}"


# -- WAF --------------------------------------------------------------------------------------


def test_no_web_acl_unless_the_stage_enables_it(
    resources: dict[str, Any], dev_stage: StageConfig
) -> None:
    assert dev_stage.ops.waf is False
    assert not _of_type(resources, "AWS::WAFv2::WebACL")
    assert not _of_type(resources, "AWS::WAFv2::WebACLAssociation")


def test_enabled_waf_blocks_bad_reputation_and_rate_limits_oauth_per_ip(
    template: dict[str, Any], dev_stage: StageConfig
) -> None:
    stage = _with(dev_stage, waf=True, waf_rate_limit=300)
    merged = _merged(template, stage)
    acl = merged["Resources"][obs.WEB_ACL]["Properties"]
    rules = {rule["Name"]: rule for rule in acl["Rules"]}

    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    reputation = rules["aws-ip-reputation"]["Statement"]["ManagedRuleGroupStatement"]
    assert (reputation["VendorName"], reputation["Name"]) == (
        "AWS", "AWSManagedRulesAmazonIpReputationList")
    rate = rules["oauth-rate-per-ip"]
    statement = rate["Statement"]["RateBasedStatement"]
    assert (statement["Limit"], statement["AggregateKeyType"]) == (300, "IP")
    scope = statement["ScopeDownStatement"]["ByteMatchStatement"]
    assert scope["FieldToMatch"] == {"UriPath": {}} and scope["SearchString"] == "/oauth/"
    response = rate["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    body = json.loads(acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]["Content"])
    assert body["error"] == "temporarily_unavailable"  # RFC 6749 §5.2, like the app's

    association = merged["Resources"][obs.WEB_ACL_ASSOCIATION]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": [obs.WEB_ACL, "Arn"]}
    assert resolve(association["ResourceArn"], {"RestAPI": "a1b2c3", "RestAPI.Stage": "dev"}) == (
        "arn:aws:apigateway:us-east-1::/restapis/a1b2c3/stages/dev")
    assert _lint_findings(merged) == []


# -- access logs ------------------------------------------------------------------------------

FORBIDDEN_IN_ACCESS_LOGS = re.compile(
    r"\$input|header|querystring|query|\.body|requestOverride|responseOverride|"
    r"\$context\.path\b|authorizer", re.IGNORECASE)


def access_log_leaks(log_format: str) -> list[str]:
    """Variables of an access-log format that could carry headers (other than the user
    agent), query strings or bodies."""
    return [v for v in re.findall(r"\$[\w.]+", log_format)
            if FORBIDDEN_IN_ACCESS_LOGS.search(v) or not v.startswith("$context.")]


def test_access_logs_are_json_without_headers_queries_or_bodies(
    resources: dict[str, Any], dev_stage: StageConfig
) -> None:
    setting = resources[ids.REST_API]["Properties"]["AccessLogSetting"]
    group = resources[obs.ACCESS_LOG_GROUP]
    assert setting["DestinationArn"] == {"Fn::GetAtt": [obs.ACCESS_LOG_GROUP, "Arn"]}
    assert group["Properties"]["RetentionInDays"] == dev_stage.log_retention_days

    fields = json.loads(setting["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["status"] == "$context.status"
    assert fields["responseLatency"] == "$context.responseLatency"
    assert fields["ip"] == "$context.identity.sourceIp"
    assert fields["resourcePath"] == "$context.resourcePath"
    assert fields["userAgent"] == "$context.identity.userAgent"
    assert access_log_leaks(setting["Format"]) == []


@pytest.mark.parametrize("leak", [
    "$context.requestOverride.header.authorization", "$input.body", "$input.params",
    "$context.path", "$method.request.querystring.client_secret",
])
def test_the_access_log_check_catches_leaky_variables(leak: str) -> None:
    assert access_log_leaks(json.dumps({"x": leak})) == [leak]


def test_api_gateway_account_role_is_opt_in_and_kept_when_the_stack_goes(
    template: dict[str, Any], resources: dict[str, Any], dev_stage: StageConfig
) -> None:
    assert obs.ACCOUNT_SETTINGS not in resources and obs.ACCOUNT_ROLE not in resources
    assert "DependsOn" not in resources[ids.REST_API]

    merged = _merged(template, _with(dev_stage, api_gateway_account_role=True))
    account = merged["Resources"][obs.ACCOUNT_SETTINGS]
    role = merged["Resources"][obs.ACCOUNT_ROLE]
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": [obs.ACCOUNT_ROLE, "Arn"]}
    assert account["DeletionPolicy"] == role["DeletionPolicy"] == "Retain"
    principal = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "apigateway.amazonaws.com"}
    assert resolve(role["Properties"]["ManagedPolicyArns"][0]).endswith(
        "service-role/AmazonAPIGatewayPushToCloudWatchLogs")
    assert merged["Resources"][ids.REST_API]["DependsOn"] == [obs.ACCOUNT_SETTINGS]
    assert _lint_findings(merged) == []


# -- metrics and alarms -----------------------------------------------------------------------


def test_throttled_requests_are_counted_from_the_access_log_status(
    resources: dict[str, Any],
) -> None:
    log_filter = resources[obs.THROTTLED_FILTER]["Properties"]
    assert log_filter["LogGroupName"] == {"Ref": obs.ACCESS_LOG_GROUP}
    key, value = re.fullmatch(r'\{ \$\.(\w+) = "(\d+)" \}', log_filter["FilterPattern"]).groups()
    # the access-log line of a throttled request carries exactly that field and value
    line = obs.json.dumps({k: ("429" if v == "$context.status" else "x")
                           for k, v in obs.ACCESS_LOG_FIELDS.items()})
    assert json.loads(line)[key] == value == "429"
    transform = log_filter["MetricTransformations"][0]
    assert resolve(transform["MetricNamespace"]) == metrics.namespace("m2m-auth-dev")
    assert transform["MetricName"] == obs.THROTTLED_REQUESTS


def test_authentication_failure_alarm_reads_the_metric_the_app_emits(
    resources: dict[str, Any], dev_stage: StageConfig
) -> None:
    alarm = resources[obs.AUTH_FAILURES_ALARM]["Properties"]
    assert resolve(alarm["Namespace"]) == metrics.namespace("m2m-auth-dev")
    assert alarm["MetricName"] == metrics.AUTHENTICATION_FAILURES
    assert alarm["Threshold"] == dev_stage.ops.alarm_auth_failures
    assert alarm["AlarmActions"] == [{"Ref": ids.ALARM_TOPIC}]


def test_throttled_alarm_is_the_share_of_429s_in_this_api_requests(
    resources: dict[str, Any], dev_stage: StageConfig
) -> None:
    alarm = resources[obs.THROTTLED_ALARM]["Properties"]
    by_id = {m["Id"]: m for m in alarm["Metrics"]}
    assert by_id["throttled"]["MetricStat"]["Metric"]["MetricName"] == obs.THROTTLED_REQUESTS
    count = by_id["requests"]["MetricStat"]["Metric"]
    assert count["MetricName"] == "Count"
    assert {d["Name"]: d["Value"] for d in count["Dimensions"]} == {
        "ApiName": {"Ref": "AWS::StackName"}, "Stage": dev_stage.api_gateway_stage}
    assert "100 * throttled / requests" in by_id["rate"]["Expression"]
    assert alarm["Threshold"] == dev_stage.ops.alarm_throttled_percent
    assert alarm["AlarmActions"] == [{"Ref": ids.ALARM_TOPIC}]


# -- the KMS key-protection rule ------------------------------------------------------------


def _matches(pattern: Any, event: Any) -> bool:
    """EventBridge matching for what the rule uses: value lists, anything-but, $or."""
    if isinstance(pattern, list):
        for option in pattern:
            if isinstance(option, dict) and "anything-but" in option:
                if event is not None and event != option["anything-but"]:
                    return True
            elif event == option:
                return True
        return False
    if not isinstance(event, dict):
        return False
    for key, inner in pattern.items():
        if key == "$or":
            if not any(_matches(alternative, event) for alternative in inner):
                return False
        elif not _matches(inner, event.get(key)):
            return False
    return True


def _cloudtrail(call: str, identity: dict[str, Any]) -> dict[str, Any]:
    return {"source": "aws.kms", "detail-type": "AWS API Call via CloudTrail", "detail": {
        "eventSource": "kms.amazonaws.com", "eventName": call, "userIdentity": identity,
        "requestParameters": {"keyId": "arn:aws:kms:us-east-1:123456789012:key/k1"}}}


def _role(arn: str) -> dict[str, Any]:
    return {"type": "AssumedRole", "arn": arn + "/session",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": arn}}}


OPERATOR = _role("arn:aws:iam::123456789012:role/Admin")
ROOT = {"type": "Root", "arn": "arn:aws:iam::123456789012:root"}


@pytest.mark.parametrize(("call", "identity", "alerts"), [
    ("DisableKey", OPERATOR, True),
    ("DisableKeyRotation", ROOT, True),
    ("ScheduleKeyDeletion", OPERATOR, True),
    ("ScheduleKeyDeletion", ROOT, True),
    ("ScheduleKeyDeletion", {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/x"}, True),
    ("ScheduleKeyDeletion", _role(ROTATION_ROLE_ARN), False),  # retiring old keys
    ("DisableKey", _role(ROTATION_ROLE_ARN), True),
    ("EnableKey", OPERATOR, False),
    ("Sign", OPERATOR, False),
])
def test_key_protection_rule_alerts_on_what_disables_or_deletes_keys(
    resources: dict[str, Any], call: str, identity: dict[str, Any], alerts: bool
) -> None:
    pattern = json.loads(json.dumps(resources[obs.KEY_EVENTS_RULE]["Properties"]["EventPattern"])
                         .replace(json.dumps({"Fn::GetAtt": [ids.ROTATION_ROLE, "Arn"]}),
                                  json.dumps(ROTATION_ROLE_ARN)))
    assert _matches(pattern, _cloudtrail(call, identity)) is alerts


def test_key_protection_rule_notifies_the_alarm_topic_which_lets_it_publish(
    resources: dict[str, Any],
) -> None:
    rule = resources[obs.KEY_EVENTS_RULE]["Properties"]
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": ids.ALARM_TOPIC}
    policy = resources[obs.ALARM_TOPIC_POLICY]["Properties"]
    assert policy["Topics"] == [{"Ref": ids.ALARM_TOPIC}]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    events = statements["KeyEventsRulePublishes"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Action"] == "sns:Publish"
    assert events["Condition"] == {"ArnEquals": {
        "aws:SourceArn": {"Fn::GetAtt": [obs.KEY_EVENTS_RULE, "Arn"]}}}
    # replacing the default topic policy must not cut off the alarms
    assert statements["CloudWatchAlarmsPublish"]["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"}


# -- Contributor Insights ---------------------------------------------------------------------


def _rule_body(resources: dict[str, Any], name: str) -> dict[str, Any]:
    body = resolve(resources[name]["Properties"]["RuleBody"],
                   {ids.API_LOG_GROUP: "/aws/lambda/m2m-auth-dev-api"})
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def _json_path(document: dict[str, Any], path: str) -> Any:
    return document.get(path.removeprefix("$."))


def test_contributor_insights_rules_rank_clients_from_the_outcome_lines_the_app_writes(
    resources: dict[str, Any],
) -> None:
    lines: list[str] = []
    recorder = EmfRecorder("ns", write=lines.append)
    recorder.outcome("app_ok", "issued", None)
    recorder.outcome("app_bad", "refused", "invalid_client")
    recorder.outcome("app_scope", "refused", "invalid_scope")
    recorder.record(metrics.TOKENS_ISSUED)
    recorder.flush()
    events = [json.loads(line) for line in lines]

    def contributors(name: str) -> list[str]:
        body = _rule_body(resources, name)
        assert body["LogGroupNames"] == ["/aws/lambda/m2m-auth-dev-api"]
        assert body["LogFormat"] == "JSON" and body["AggregateOn"] == "Count"
        (key,) = body["Contribution"]["Keys"]
        return [
            _json_path(event, key) for event in events
            if all(_json_path(event, f["Match"]) in f["In"]
                   for f in body["Contribution"]["Filters"])
        ]

    assert contributors(obs.TOP_CLIENTS_RULE) == ["app_ok", "app_bad", "app_scope"]
    assert contributors(obs.TOP_AUTH_FAILURES_RULE) == ["app_bad"]
    for name in (obs.TOP_CLIENTS_RULE, obs.TOP_AUTH_FAILURES_RULE):
        assert resources[name]["Type"] == "AWS::CloudWatch::InsightRule"
        assert resources[name]["Properties"]["RuleState"] == "ENABLED"


# -- the dashboard ----------------------------------------------------------------------------


def _dashboard(resources: dict[str, Any]) -> dict[str, Any]:
    body = resources[obs.DASHBOARD]["Properties"]["DashboardBody"]
    parsed: dict[str, Any] = json.loads(resolve(body))
    return parsed


def _metric_names(dashboard: dict[str, Any]) -> set[tuple[str, str]]:
    names = set()
    for widget in dashboard["widgets"]:
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], str):
                names.add((row[0], row[1]))
    return names


def test_dashboard_shows_every_alarm_metric_and_top_contributor_rule(
    resources: dict[str, Any],
) -> None:
    dashboard = _dashboard(resources)
    names = _metric_names(dashboard)
    own = metrics.namespace("m2m-auth-dev")

    assert {n for ns, n in names if ns == own} == OWN_METRICS
    for namespace, name in names:
        assert namespace == own or name in AWS_METRICS[namespace], (namespace, name)
    (alarm_widget,) = [w for w in dashboard["widgets"] if w["type"] == "alarm"]
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(f"<{a}.Arn>" for a in alarms)
    rules = [w["properties"]["insightRule"]["ruleName"] for w in dashboard["widgets"]
             if "insightRule" in w["properties"]]
    assert sorted(rules) == sorted(
        resolve(r["Properties"]["RuleName"])
        for r in _of_type(resources, "AWS::CloudWatch::InsightRule").values())
    searches = json.dumps(dashboard)
    assert f'MetricName=\\"{metrics.TOKENS_REFUSED}\\"' in searches and metrics.REASON in searches
    assert "AWS/WAFV2" not in {ns for ns, _ in names}


def test_dashboard_shows_waf_only_when_enabled(
    template: dict[str, Any], dev_stage: StageConfig
) -> None:
    merge = tpl.merge_template(_with(dev_stage, waf=True), _shape(template))
    names = _metric_names(_dashboard(merge["Resources"]))
    assert ("AWS/WAFV2", "BlockedRequests") in names


def test_outputs_name_the_dashboard_and_access_logs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert "#dashboards/dashboard/" in resolve(outputs["DashboardUrl"]["Value"])
    assert outputs["AccessLogGroup"]["Value"] == {"Ref": obs.ACCESS_LOG_GROUP}


# -- deploy: the account's CloudWatch role for API Gateway -----------------------------------


def _apigateway(account: dict[str, Any] | None, error: str | None = None) -> Any:
    """An account whose API Gateway client answers GetAccount with ``account``."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("apigateway", region_name="us-east-1")
    stubber = Stubber(client)
    if error:
        stubber.add_client_error("get_account", error)
    elif account is not None:
        stubber.add_response("get_account", account)
    stubber.activate()

    class Account:
        def client(self, service: str) -> Any:
            assert service == "apigateway"
            return client

    return Account()


def test_deploy_check_explains_the_one_time_step_when_the_account_has_no_logging_role(
    dev_stage: StageConfig,
) -> None:
    problem = obs.account_logging_problem(_apigateway({"throttleSettings": {}}), dev_stage)
    assert problem is not None
    assert "api_gateway_account_role = true" in problem
    assert "aws apigateway update-account" in problem


@pytest.mark.parametrize("client", [
    lambda: _apigateway({"cloudwatchRoleArn": "arn:aws:iam::123456789012:role/logs"}),
    lambda: _apigateway(None, error="AccessDeniedException"),
])
def test_deploy_check_passes_with_a_role_or_when_it_cannot_look(
    dev_stage: StageConfig, client: Any
) -> None:
    assert obs.account_logging_problem(client(), dev_stage) is None


def test_deploy_check_trusts_a_stage_whose_stack_sets_the_role(dev_stage: StageConfig) -> None:
    stage = _with(dev_stage, api_gateway_account_role=True)
    assert obs.account_logging_problem(object(), stage) is None  # no call made


def test_make_deploy_stops_before_packaging_without_the_logging_role(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra import deploy

    class FakeAccount:
        account_id, region, caller_arn = "123456789012", "us-east-1", "arn:aws:iam::1:user/x"

        def client(self, service: str) -> Any:
            return _apigateway({}).client(service)

    def no_packaging(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("packaged despite the missing role")

    monkeypatch.setattr(deploy, "preflight", lambda: FakeAccount())
    monkeypatch.setattr(deploy, "package", no_packaging)
    assert deploy.main(["deploy", "--stage", "dev"]) == 1
    assert "CloudWatch Logs role" in capsys.readouterr().err
