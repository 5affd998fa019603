"""Abuse protection, access logs, metrics, alarms and the dashboard of a stage's stack.

``merge_template`` (infra/template.py) adds what this module builds:

- API Gateway throttles per method: ``POST /oauth/token``, every ``/admin`` method, and a
  stage default for every other (public) method. API Gateway keeps one token bucket per
  method, so a flood on a public route never drains an admin method's bucket; what all
  methods share is the account's regional throttle, which ``check_throttles`` keeps the
  public methods from using up.
- An optional AWS WAF web ACL on the stage: AWS's IP-reputation list, and a per-IP rate
  rule on ``/oauth/*`` answering 429 with an RFC 6749 body.
- JSON access logs (no headers but the user agent, no query strings, no bodies).
- Alarms on authentication failures and throttled requests (429s / requests), an
  EventBridge rule on KMS calls that disable or delete keys, Contributor Insights rules
  for the top clients, and a CloudWatch dashboard with all of it.

Metric names come from chalicelib/aws/metrics.py, the module that emits them.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws import metrics
from chalicelib.oauth.metadata import TOKEN_PATH

from .names import (
    ADMIN_PREFIX,
    ALARM_TOPIC,
    API_FUNCTION,
    API_LOG_GROUP,
    FIVE_MINUTES,
    REST_API,
    ROTATION_ROLE,
    AppShape,
    get_att,
    ref,
    sub,
)
from .stage import OpsSettings, StageConfig, StageError, Throttle

# Logical ids this module adds.
ACCESS_LOG_GROUP = "ApiAccessLogGroup"
THROTTLED_FILTER = "ThrottledRequestsMetricFilter"
AUTH_FAILURES_ALARM = "AuthenticationFailuresAlarm"
THROTTLED_ALARM = "ThrottledRequestsAlarm"
KEY_EVENTS_RULE = "SigningKeyProtectionRule"
ALARM_TOPIC_POLICY = "AlarmTopicPolicy"
TOP_CLIENTS_RULE = "TopClientsByTokenRequests"
TOP_AUTH_FAILURES_RULE = "TopClientsByAuthenticationFailures"
DASHBOARD = "Dashboard"
WEB_ACL = "WebAcl"
WEB_ACL_ASSOCIATION = "WebAclAssociation"
ACCOUNT_ROLE = "ApiGatewayCloudWatchRole"
ACCOUNT_SETTINGS = "ApiGatewayAccount"

NAMESPACE = sub(metrics.NAMESPACE_PREFIX + "${AWS::StackName}")
THROTTLED_REQUESTS = "ThrottledRequests"
KMS_THROTTLED_REQUESTS = "KmsThrottledRequests"  # template.py's metric filter
IP_REPUTATION_GROUP = "AWSManagedRulesAmazonIpReputationList"
OAUTH_PATH_TERM = "/oauth/"
WAF_WINDOW_SECONDS = 300
KEY_PROTECTION_EVENTS = ["DisableKey", "ScheduleKeyDeletion", "DisableKeyRotation"]

# API Gateway access log: JSON, one line per request. $context variables only: no
# header but the user agent, no query string ($context.resourcePath is the route
# template, e.g. /admin/apps/{app_id}), no body.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "principal": "$context.identity.userArn",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "responseLength": "$context.responseLength",
    "userAgent": "$context.identity.userAgent",
    "errorType": "$context.error.responseType",
    "wafResponseCode": "$context.wafResponseCode",
}
THROTTLED_STATUS = "429"

THROTTLED_BODY = json.dumps({
    "error": "temporarily_unavailable",
    "error_description": "Too many requests from this address; retry later.",
}, separators=(",", ":"))


# -- throttles ------------------------------------------------------------------------------


def method_path(path: str) -> str:
    """A route as ``MethodSettings.ResourcePath`` names it: ``/`` becomes ``~1``."""
    return "/" + path.replace("/", "~1")


def admin_methods(app: AppShape) -> list[tuple[str, str]]:
    return [
        (path, method)
        for path, methods in app.routes
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")
        for method in methods
    ]


def public_methods(app: AppShape) -> list[tuple[str, str]]:
    admin = set(admin_methods(app))
    return [(p, m) for p, methods in app.routes for m in methods if (p, m) not in admin]


def check_throttles(ops: OpsSettings, app: AppShape) -> None:
    """Every public method at its limit together must leave the admin methods their
    capacity within the account's regional throttle."""
    public = [ops.token_throttle if (p, m) == (TOKEN_PATH, "POST") else ops.public_throttle
              for p, m in public_methods(app)]
    public_rate = sum(t.rate for t in public)
    admin_rate = ops.admin_throttle.rate * len(admin_methods(app))
    if public_rate + admin_rate > ops.account_rate_limit:
        raise StageError(
            f"the public methods may take {public_rate:g} requests/s and the admin methods "
            f"{admin_rate:g}, more than account_rate_limit={ops.account_rate_limit:g}: "
            "lower token_rate_limit or public_rate_limit in infra/stages.toml"
        )


def method_settings(stage: StageConfig, app: AppShape) -> list[dict[str, Any]]:
    """The stage default (public methods), then the token endpoint and each admin method."""
    ops = stage.ops
    check_throttles(ops, app)

    def setting(path: str, method: str, throttle: Throttle) -> dict[str, Any]:
        return {"ResourcePath": path, "HttpMethod": method,
                "ThrottlingRateLimit": throttle.rate, "ThrottlingBurstLimit": throttle.burst}

    settings = [setting("/*", "*", ops.public_throttle)]
    if any(p == TOKEN_PATH and "POST" in m for p, m in app.routes) or not app.routes:
        settings.append(setting(method_path(TOKEN_PATH), "POST", ops.token_throttle))
    settings += [setting(method_path(p), m, ops.admin_throttle) for p, m in admin_methods(app)]
    return settings


def rest_api_properties(stage: StageConfig, app: AppShape) -> dict[str, Any]:
    """What this module sets on Chalice's ``AWS::Serverless::Api``."""
    return {
        "MethodSettings": method_settings(stage, app),
        "AccessLogSetting": {
            "DestinationArn": get_att(ACCESS_LOG_GROUP, "Arn"),
            "Format": json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":")),
        },
    }


# -- resources ------------------------------------------------------------------------------


def resources(stage: StageConfig, app: AppShape) -> dict[str, Any]:
    """Every resource this module adds to the stack, by logical id."""
    found: dict[str, Any] = {
        ACCESS_LOG_GROUP: _access_log_group(stage),
        THROTTLED_FILTER: _throttled_filter(),
        AUTH_FAILURES_ALARM: _auth_failures_alarm(stage),
        THROTTLED_ALARM: _throttled_alarm(stage),
        KEY_EVENTS_RULE: _key_events_rule(stage, app),
        ALARM_TOPIC_POLICY: _alarm_topic_policy(),
        TOP_CLIENTS_RULE: _insight_rule(TOP_CLIENTS_RULE, None),
        TOP_AUTH_FAILURES_RULE: _insight_rule(TOP_AUTH_FAILURES_RULE, "invalid_client"),
        DASHBOARD: _dashboard(stage, app),
    }
    if stage.ops.waf:
        found[WEB_ACL] = _web_acl(stage)
        found[WEB_ACL_ASSOCIATION] = _web_acl_association(stage)
    if stage.ops.api_gateway_account_role:
        found[ACCOUNT_ROLE] = _account_role()
        found[ACCOUNT_SETTINGS] = {
            "Type": "AWS::ApiGateway::Account",
            # Account-wide: deleting this stack leaves the setting (other APIs log with it).
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"CloudWatchRoleArn": get_att(ACCOUNT_ROLE, "Arn")},
        }
    return found


def rest_api_depends_on(stage: StageConfig) -> list[str]:
    """The stage can only log once the account's CloudWatch role is set."""
    return [ACCOUNT_SETTINGS] if stage.ops.api_gateway_account_role else []


def outputs(stage: StageConfig) -> dict[str, Any]:
    return {
        "DashboardUrl": {
            "Description": "CloudWatch dashboard of this stage",
            "Value": sub("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region="
                         f"${{AWS::Region}}#dashboards/dashboard/${{{DASHBOARD}}}"),
        },
        "AccessLogGroup": {"Description": "API Gateway access logs (JSON)",
                           "Value": ref(ACCESS_LOG_GROUP)},
    }


def _access_log_group(stage: StageConfig) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "LogGroupName": sub("/aws/apigateway/${AWS::StackName}-access"),
            "RetentionInDays": stage.log_retention_days,
        },
    }


def _account_role() -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "DeletionPolicy": "Retain",  # the account setting above keeps pointing at it
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": "API Gateway writes CloudWatch logs of every API in this account "
                           "and region (set by an m2m-auth stack)",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow",
                               "Principal": {"Service": "apigateway.amazonaws.com"},
                               "Action": "sts:AssumeRole"}],
            },
            "ManagedPolicyArns": [sub(
                "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs"
            )],
        },
    }


# -- WAF ----------------------------------------------------------------------------------


def _visibility(name: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
            "MetricName": name}


def _web_acl(stage: StageConfig) -> dict[str, Any]:
    oauth_paths = {
        "ByteMatchStatement": {
            "FieldToMatch": {"UriPath": {}},
            # The stage name or a custom domain's base path may come first; decoding and
            # lowercasing first means no spelling of the path slips past.
            "PositionalConstraint": "CONTAINS",
            "SearchString": OAUTH_PATH_TERM,
            "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"},
                                    {"Priority": 1, "Type": "LOWERCASE"}],
        }
    }
    return {
        "Type": "AWS::WAFv2::WebACL",
        "Properties": {
            "Name": sub("${AWS::StackName}"),
            "Description": f"m2m-auth {stage.stage} - IP reputation list, per-IP rate on /oauth/",
            "Scope": "REGIONAL",  # API Gateway stages, edge-optimized ones included
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": _visibility(f"{stage.stack_name}-all"),
            "CustomResponseBodies": {
                "oauth-throttled": {"ContentType": "APPLICATION_JSON",
                                    "Content": THROTTLED_BODY},
            },
            "Rules": [
                {
                    "Name": "aws-ip-reputation",
                    "Priority": 0,
                    "OverrideAction": {"None": {}},
                    "Statement": {"ManagedRuleGroupStatement": {
                        "VendorName": "AWS", "Name": IP_REPUTATION_GROUP}},
                    "VisibilityConfig": _visibility(f"{stage.stack_name}-ip-reputation"),
                },
                {
                    "Name": "oauth-rate-per-ip",
                    "Priority": 1,
                    "Action": {"Block": {"CustomResponse": {
                        "ResponseCode": 429, "CustomResponseBodyKey": "oauth-throttled"}}},
                    "Statement": {"RateBasedStatement": {
                        "Limit": stage.ops.waf_rate_limit,
                        "EvaluationWindowSec": WAF_WINDOW_SECONDS,
                        "AggregateKeyType": "IP",
                        "ScopeDownStatement": oauth_paths,
                    }},
                    "VisibilityConfig": _visibility(f"{stage.stack_name}-oauth-rate"),
                },
            ],
        },
    }


def _web_acl_association(stage: StageConfig) -> dict[str, Any]:
    # ${RestAPI.Stage} (resolved by SAM) also makes the association wait for the stage.
    return {
        "Type": "AWS::WAFv2::WebACLAssociation",
        "Properties": {
            "ResourceArn": sub(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/"
                f"${{{REST_API}}}/stages/${{{REST_API}.Stage}}"
            ),
            "WebACLArn": get_att(WEB_ACL, "Arn"),
        },
    }


# -- metrics and alarms -------------------------------------------------------------------


def _throttled_filter() -> dict[str, Any]:
    """API Gateway has no 429 metric of its own: count them in the access log."""
    return {
        "Type": "AWS::Logs::MetricFilter",
        "Properties": {
            "LogGroupName": ref(ACCESS_LOG_GROUP),
            "FilterPattern": f'{{ $.status = "{THROTTLED_STATUS}" }}',
            "MetricTransformations": [{
                "MetricNamespace": NAMESPACE,
                "MetricName": THROTTLED_REQUESTS,
                "MetricValue": "1",
                "Unit": "Count",
            }],
        },
    }


def _own_metric(name: str, metric_id: str) -> dict[str, Any]:
    return {"Id": metric_id, "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": NAMESPACE, "MetricName": name},
        "Period": FIVE_MINUTES, "Stat": "Sum"}}


def _auth_failures_alarm(stage: StageConfig) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": f"Clients failed authentication at least "
            f"{stage.ops.alarm_auth_failures} times in 5 minutes (guessing, or a client "
            "with a revoked secret); the dashboard shows the top clients",
            "Namespace": NAMESPACE,
            "MetricName": metrics.AUTHENTICATION_FAILURES,
            "Statistic": "Sum",
            "Period": FIVE_MINUTES,
            "EvaluationPeriods": 1,
            "Threshold": stage.ops.alarm_auth_failures,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref(ALARM_TOPIC)],
        },
    }


def _api_count(stage: StageConfig) -> dict[str, Any]:
    return {"Id": "requests", "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "Count", "Dimensions": [
            {"Name": "ApiName", "Value": ref("AWS::StackName")},
            {"Name": "Stage", "Value": stage.api_gateway_stage}]},
        "Period": FIVE_MINUTES, "Stat": "Sum"}}


def _throttled_alarm(stage: StageConfig) -> dict[str, Any]:
    ops = stage.ops
    rate = f"IF(requests >= {ops.alarm_throttled_min_requests}, 100 * throttled / requests, 0)"
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "DependsOn": THROTTLED_FILTER,
        "Properties": {
            "AlarmDescription": f"More than {ops.alarm_throttled_percent:g}% of API requests "
            "were throttled (429) in 5 minutes",
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": ops.alarm_throttled_percent,
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref(ALARM_TOPIC)],
            "Metrics": [
                _own_metric(THROTTLED_REQUESTS, "throttled"),
                _api_count(stage),
                {"Id": "rate", "Expression": rate, "Label": "throttled requests (%)",
                 "ReturnData": True},
            ],
        },
    }


def key_events_pattern(stage: StageConfig, app: AppShape) -> dict[str, Any]:
    """CloudTrail's record of a call that disables a key, its rotation, or deletes it.

    CloudTrail events carry no key tags, and the keys the rotation function creates
    are unknown at deploy time: the rule watches every key of the account and region.
    The rotation function's own ``ScheduleKeyDeletion`` of retired keys is expected and
    left out (it is the only role-session that matches ``anything-but`` this role).
    """
    common = {"eventSource": ["kms.amazonaws.com"]}
    alternatives: list[dict[str, Any]] = [
        {**common, "eventName": ["DisableKey", "DisableKeyRotation"]},
    ]
    if app.has_rotation:
        rotation_role = get_att(ROTATION_ROLE, "Arn")
        alternatives += [
            # Root, IAM users, federated users...: no role session to compare.
            {**common, "eventName": ["ScheduleKeyDeletion"],
             "userIdentity": {"type": [{"anything-but": "AssumedRole"}]}},
            {**common, "eventName": ["ScheduleKeyDeletion"],
             "userIdentity": {"sessionContext": {"sessionIssuer": {
                 "arn": [{"anything-but": rotation_role}]}}}},
        ]
    else:
        alternatives[0]["eventName"] = list(KEY_PROTECTION_EVENTS)
    return {
        "source": ["aws.kms"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"$or": alternatives},
    }


def _key_events_rule(stage: StageConfig, app: AppShape) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": "KMS DisableKey, DisableKeyRotation or ScheduleKeyDeletion "
            "(other than the rotation function retiring keys): tokens may stop verifying",
            "State": "ENABLED",
            "EventPattern": key_events_pattern(stage, app),
            "Targets": [{
                "Id": "alarm-topic",
                "Arn": ref(ALARM_TOPIC),
                "InputTransformer": {
                    "InputPathsMap": {
                        "call": "$.detail.eventName",
                        "key": "$.detail.requestParameters.keyId",
                        "who": "$.detail.userIdentity.arn",
                        "when": "$.time",
                    },
                    "InputTemplate": sub(
                        '"${AWS::StackName}: KMS <call> on key <key> by <who> at <when>. '
                        'If this is a signing key of the stack, tokens it signed stop '
                        'verifying once it is disabled or deleted."'
                    ),
                },
            }],
        },
    }


def _alarm_topic_policy() -> dict[str, Any]:
    """The account keeps its rights on the topic; CloudWatch alarms of this account and
    this stack's EventBridge rule may publish."""
    topic = ref(ALARM_TOPIC)
    return {
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {
            "Topics": [topic],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountManagesTopic",
                        "Effect": "Allow",
                        "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}"
                                                 ":root")},
                        "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes",
                                   "sns:Subscribe", "sns:ListSubscriptionsByTopic",
                                   "sns:Publish"],
                        "Resource": topic,
                    },
                    {
                        "Sid": "CloudWatchAlarmsPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudwatch.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": topic,
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")},
                            "ArnLike": {"aws:SourceArn": sub(
                                "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:"
                                "${AWS::AccountId}:alarm:*")},
                        },
                    },
                    {
                        "Sid": "KeyEventsRulePublishes",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": topic,
                        "Condition": {"ArnEquals": {
                            "aws:SourceArn": get_att(KEY_EVENTS_RULE, "Arn")}},
                    },
                ],
            },
        },
    }


# -- Contributor Insights -----------------------------------------------------------------


def insight_rule_body(reason: str | None) -> dict[str, Any]:
    """Top ``client_id`` values of the API function's ``token_outcome`` lines."""
    filters: list[dict[str, Any]] = [{"Match": "$.event", "In": [metrics.OUTCOME_EVENT]}]
    if reason is not None:
        filters.append({"Match": "$.reason", "In": [reason]})
    return {
        "Schema": {"Name": "CloudWatchLogRule", "Version": 1},
        "LogGroupNames": [f"${{{API_LOG_GROUP}}}"],
        "LogFormat": "JSON",
        "Contribution": {"Keys": ["$.client_id"], "Filters": filters},
        "AggregateOn": "Count",
    }


def insight_rule_name(logical_id: str) -> str:
    """``<stack>-<logical id>``, for ``Fn::Sub`` (the rule's name is also what the
    dashboard names: the resource offers no attribute for it)."""
    return f"${{AWS::StackName}}-{logical_id}"


def _insight_rule(logical_id: str, reason: str | None) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::InsightRule",
        "Properties": {
            "RuleName": sub(insight_rule_name(logical_id)),
            "RuleState": "ENABLED",
            "RuleBody": sub(json.dumps(insight_rule_body(reason), separators=(",", ":"))),
        },
    }


# -- dashboard ----------------------------------------------------------------------------


def _widget(title: str, metric_rows: list[list[Any]], *, stat: str = "Sum",
            width: int = 8) -> dict[str, Any]:
    return {"type": "metric", "width": width, "height": 6, "properties": {
        "title": title, "region": "${AWS::Region}", "stat": stat, "period": FIVE_MINUTES,
        "view": "timeSeries", "metrics": metric_rows}}


def dashboard_body(stage: StageConfig, app: AppShape) -> dict[str, Any]:
    """The dashboard as CloudWatch reads it, with ``${...}`` for ``Fn::Sub``."""
    ns = metrics.NAMESPACE_PREFIX + "${AWS::StackName}"
    api = ["ApiName", "${AWS::StackName}", "Stage", stage.api_gateway_stage]
    function = ["FunctionName", f"${{{API_FUNCTION}}}"]
    widgets: list[dict[str, Any]] = [
        {"type": "alarm", "width": 24, "height": 3, "properties": {
            "title": "Alarms", "alarms": [f"${{{a}.Arn}}" for a in _alarm_ids(app)]}},
        _widget("Tokens", [
            [ns, metrics.TOKENS_ISSUED, {"label": "issued"}],
            [ns, metrics.TOKENS_REFUSED, {"label": "refused"}],
        ]),
        {"type": "metric", "width": 8, "height": 6, "properties": {
            "title": "Tokens refused by reason", "region": "${AWS::Region}",
            "period": FIVE_MINUTES, "view": "timeSeries", "metrics": [[{
                # The namespace has "-": quoted, as SEARCH wants non-alphanumerics.
                "expression": f"SEARCH('{{\"{ns}\",{metrics.REASON}}} "
                              f"MetricName=\"{metrics.TOKENS_REFUSED}\"', 'Sum', "
                              f"{FIVE_MINUTES})",
                "id": "reasons"}]]}},
        _widget("Authentication failures", [[ns, metrics.AUTHENTICATION_FAILURES]]),
        _widget("KMS Sign latency (ms)", [
            [ns, metrics.KMS_SIGN_LATENCY, {"stat": "p50", "label": "p50"}],
            [ns, metrics.KMS_SIGN_LATENCY, {"stat": "p99", "label": "p99"}],
        ], stat="p50"),
        _widget("KMS throttled signing requests", [[ns, KMS_THROTTLED_REQUESTS]]),
        _widget("API requests and errors", [
            ["AWS/ApiGateway", "Count", *api],
            ["AWS/ApiGateway", "4XXError", *api],
            ["AWS/ApiGateway", "5XXError", *api],
            [ns, THROTTLED_REQUESTS, {"label": "429 throttled"}],
        ]),
        _widget("API latency (ms)", [
            ["AWS/ApiGateway", "Latency", *api, {"stat": "p50", "label": "p50"}],
            ["AWS/ApiGateway", "Latency", *api, {"stat": "p99", "label": "p99"}],
        ], stat="p50"),
        _widget("Token function", [
            ["AWS/Lambda", "Invocations", *function],
            ["AWS/Lambda", "Errors", *function],
            ["AWS/Lambda", "Throttles", *function],
        ]),
        _insight_widget("Top clients by token requests", TOP_CLIENTS_RULE),
        _insight_widget("Top clients by authentication failures", TOP_AUTH_FAILURES_RULE),
    ]
    if stage.ops.waf:
        acl = ["WebACL", "${AWS::StackName}", "Region", "${AWS::Region}"]
        widgets.append(_widget("WAF", [
            ["AWS/WAFV2", "BlockedRequests", *acl, "Rule", "ALL"],
            ["AWS/WAFV2", "AllowedRequests", *acl, "Rule", "ALL"],
        ]))
    return {"widgets": widgets}


def _insight_widget(title: str, rule: str) -> dict[str, Any]:
    return {"type": "metric", "width": 12, "height": 6, "properties": {
        "title": title, "region": "${AWS::Region}", "view": "timeSeries",
        "insightRule": {"maxContributorCount": 10, "orderBy": "Sum",
                        "ruleName": insight_rule_name(rule)}}}


def _alarm_ids(app: AppShape) -> list[str]:
    ids = ["Api5xxRateAlarm", "KmsThrottlingAlarm", AUTH_FAILURES_ALARM, THROTTLED_ALARM]
    return ids + (["RotationErrorsAlarm"] if app.has_rotation else [])


def _dashboard(stage: StageConfig, app: AppShape) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": sub("${AWS::StackName}-${AWS::Region}"),
            "DashboardBody": sub(json.dumps(dashboard_body(stage, app), separators=(",", ":"))),
        },
    }



# -- deploy-time check --------------------------------------------------------------------

ACCOUNT_ROLE_STEP = (
    "aws iam create-role --role-name APIGatewayCloudWatchLogs --assume-role-policy-document "
    "'{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
    "{\"Service\":\"apigateway.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}'\n"
    "  aws iam attach-role-policy --role-name APIGatewayCloudWatchLogs --policy-arn "
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs\n"
    "  aws apigateway update-account --patch-operations "
    "op=replace,path=/cloudwatchRoleArn,value=<that role's ARN>"
)


def account_logging_problem(account: Any, stage: StageConfig) -> str | None:
    """Why API Gateway could not write this stage's access logs, or None.

    API Gateway logs through one CloudWatch role per account and region; without it,
    CloudFormation fails to create the stage, minutes into the deployment. ``account``
    is infra.deploy's ``Account`` (anything with ``client(service)``)."""
    if stage.ops.api_gateway_account_role:
        return None  # the stack sets it
    try:
        role = account.client("apigateway").get_account().get("cloudwatchRoleArn")
    except (ClientError, BotoCoreError):  # not allowed to look: CloudFormation will tell
        return None
    if role:
        return None
    return (
        "API Gateway has no CloudWatch Logs role in this account and region, so it cannot "
        "write the stage's access logs. Either set api_gateway_account_role = true for the "
        f"stage in infra/stages.toml (the stack then sets it, account-wide), or once:\n  "
        f"{ACCOUNT_ROLE_STEP}"
    )
