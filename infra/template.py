"""The CloudFormation merged into Chalice's packaged template (``--merge-template``).

Chalice deep-merges dicts and replaces lists, so this template adds resources
(the table, the signing key, log groups, alarms, the admin policy) and replaces
whole lists where Chalice's are too broad: the functions' role ``Policies``
(Chalice copies ``.chalice/policy*.json``, which can only name resources by
pattern) become statements scoped to the ARNs of this stack's resources.

Wildcards that remain, each because AWS offers no narrower form:

- ``Resource: "*"`` inside a KMS key policy means "this key"; it is the only
  value a key policy accepts.
- ``kms:CreateKey`` has no resource-level permission (the key does not exist
  yet), so it is ``Resource: "*"``, restricted by request-tag and key-spec conditions.
- ``kms:TagResource`` while creating a key must cover all keys of the account and
  region (KMS developer guide, "Controlling access to tags": the key does not exist
  yet, so only an IAM policy on ``key/*`` can allow it), restricted by request tags.
  IAM has no condition that tells tagging during ``CreateKey`` from tagging an
  existing key, so the rotation role could put this stack's tags on another key that
  carries none. That grants nothing: no statement of this stack allows a KMS action
  on a key because of its tags. The token function's role names the first key by its
  ARN (a policy of its own, ``ApiHandlerFirstKeyPolicy``: the key policy names the
  role, so inside the role the reference would be a cycle); every key the rotation
  creates carries a key policy (chalicelib/tokens/key_policy.py) naming the token
  role and the rotation role as principals, which KMS honours without any IAM allow
  (KMS developer guide, "Key policies"). The rotation's reads, ``kms:ReplicateKey``
  (multi-region stages) and ``kms:ScheduleKeyDeletion`` of the keys it created come
  from those key policies too; its IAM policy has none of them but for the first
  key's reads, by ARN. Tags stay as labels (and as conditions of the explicit
  denies, which only take permissions away): an explicit deny keeps the role from
  re-tagging keys that already belong to another stack, and denies refuse
  ``kms:ScheduleKeyDeletion`` on any key without this stack's rotation tags or with
  a window shorter than 30 days.
- ``execute-api`` ARNs have one ``*`` for the HTTP method and one for the path
  below ``/admin``.
"""

from __future__ import annotations

from typing import Any

from chalicelib.oauth.metadata import JWKS_PATH, TOKEN_PATH
from chalicelib.store.schema import TTL_ATTRIBUTE, table_definition
from chalicelib.tokens.key_policy import (
    DELETION_WINDOW_DAYS,
    KEY_ADMIN_ACTIONS,
    ROTATION_READ_ACTIONS,
    TOKEN_KEY_ACTIONS,
)

from . import mtls_domain, multi_region, observability, snapstart
from .gateway_responses import swagger_extension
from .names import (
    ACCOUNT_KEYS,
    ADMIN_POLICY,
    ADMIN_PREFIX,
    ALARM_TOPIC,
    API_FIRST_KEY_POLICY,
    API_FUNCTION,
    API_LOG_GROUP,
    API_ROLE,
    CREATED_BY_TAG,
    CUSTOM_DOMAIN,
    CUSTOM_DOMAIN_MAPPING,
    FIVE_MINUTES,
    KMS_THROTTLE_FILTER,
    KMS_THROTTLE_LOG_TERM,
    ONE_DAY,
    REST_API,
    ROTATION_FIRST_KEY_POLICY,
    ROTATION_FUNCTION,
    ROTATION_LOG_GROUP,
    ROTATION_ROLE,
    ROTATOR_TAG_VALUE,
    SERVICE_TAG,
    SIGNING_KEY,
    SIGNING_KEY_ALIAS,
    SIGNING_KEY_TAG_VALUE,
    STACK_TAG,
    TABLE,
    AppShape,
    get_att,
    logs_statement,
    ref,
    role_policy,
    sub,
)
from .stage import StageConfig

# What the DynamoDB adapter calls (chalicelib/store/dynamodb.py). TransactWriteItems
# has no IAM action of its own: each item needs Put/Update/Delete/ConditionCheck.
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
]
# The rotation reads the keys partition and writes key records and audit records
# (TransactWriteItems of Puts); it never deletes, updates or batch-writes.
ROTATION_TABLE_ACTIONS = ["dynamodb:Query", "dynamodb:PutItem"]
# KEY_ADMIN_ACTIONS (chalicelib/tokens/key_policy.py): administration of a key
# through IAM, without kms:Sign or kms:GetPublicKey. The rotation only reads the
# first key: CloudFormation owns (and retains) it, so the rotation never deletes it.
ROTATION_KEY_ACTIONS = ROTATION_READ_ACTIONS
ROTATION_KEY_SPECS = ["RSA_2048", "ECC_NIST_P256"]

def merge_template(stage: StageConfig, app: AppShape) -> dict[str, Any]:
    """The template ``chalice package --merge-template`` merges for ``stage``."""
    if stage.multi_region and stage.region is None:
        raise ValueError("a multi-region stage is packaged per region: stage.for_region(...)")
    resources: dict[str, Any] = {
        TABLE: _table(),
        SIGNING_KEY: _signing_key(stage, app),
        SIGNING_KEY_ALIAS: {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": stage.key_alias, "TargetKeyId": ref(SIGNING_KEY)},
        },
        API_LOG_GROUP: _log_group(stage, "api"),
        API_ROLE: {"Properties": {"Policies": [role_policy(API_ROLE, _api_statements())]}},
        API_FIRST_KEY_POLICY: _first_key_policy(API_ROLE, "SignWithTheFirstKey",
                                                TOKEN_KEY_ACTIONS),
        API_FUNCTION: {"DependsOn": [API_FIRST_KEY_POLICY],
                       "Properties": _function_properties(stage, API_LOG_GROUP)},
        REST_API: {"Properties": _rest_api_properties(stage, app)},
        ADMIN_POLICY: _admin_policy(stage),
        ALARM_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": sub("${AWS::StackName} alarms")},
        },
        "Api5xxRateAlarm": _api_5xx_alarm(stage),
        KMS_THROTTLE_FILTER: _kms_throttle_filter(),
        "KmsThrottlingAlarm": _kms_throttle_alarm(stage),
    }
    resources[REST_API]["Properties"]["DefinitionBody"].update(_gateway_responses(stage))
    resources.update(observability.resources(stage, app))
    if observability.rest_api_depends_on(stage):
        resources[REST_API]["DependsOn"] = observability.rest_api_depends_on(stage)
    if stage.custom_domain:
        _add_custom_domain(resources, stage)
    mtls_domain.apply(resources, stage,
                      resources[API_FUNCTION]["Properties"]["Environment"]["Variables"])
    if app.has_rotation:
        resources[ROTATION_LOG_GROUP] = _log_group(stage, "rotation")
        resources[ROTATION_ROLE] = {
            "Properties": {"Policies": [role_policy(ROTATION_ROLE, _rotation_statements(stage))]}
        }
        # The rotation only ever reads the first key (CloudFormation owns it).
        resources[ROTATION_FIRST_KEY_POLICY] = _first_key_policy(
            ROTATION_ROLE, "ReadTheFirstKey", ROTATION_KEY_ACTIONS)
        resources[ROTATION_FUNCTION] = {"DependsOn": [ROTATION_FIRST_KEY_POLICY],
                                        "Properties": _rotation_function_properties(stage)}
        resources["RotationErrorsAlarm"] = _rotation_errors_alarm()
    if stage.snapstart:
        snapstart.apply(resources, app)
    template: dict[str, Any] = {
        "Description": f"m2m-auth OAuth 2.0 machine-to-machine authorization server "
        f"({stage.stage})",
        "Resources": resources,
        "Outputs": {**_outputs(stage), **mtls_domain.outputs(stage),
                    **observability.outputs(stage)},
    }
    if stage.multi_region:
        multi_region.apply(template, stage, app)
    return template


# -- data -------------------------------------------------------------------


def _table() -> dict[str, Any]:
    """The table of chalicelib/store/schema.py, kept whatever happens to the stack."""
    definition = table_definition("unused")
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BillingMode": definition["BillingMode"],
            "AttributeDefinitions": definition["AttributeDefinitions"],
            "KeySchema": definition["KeySchema"],
            "GlobalSecondaryIndexes": definition["GlobalSecondaryIndexes"],
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
            # KMS encryption with the AWS managed key aws/dynamodb (auditable in CloudTrail;
            # no monthly key fee).
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Tags": [{"Key": SERVICE_TAG, "Value": "table"}],
        },
    }


def _signing_key(stage: StageConfig, app: AppShape) -> dict[str, Any]:
    """The first signing key. Losing it invalidates every live token: never deleted
    or replaced by CloudFormation.

    The functions' roles are named by ``aws:PrincipalArn`` conditions rather than as
    principals: KMS then does not reject the policy while a just-created role is
    still propagating through IAM, and a re-created role (new unique id, same ARN)
    keeps its access. Their IAM policies must allow the same actions too.
    """
    account_root = {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")}

    def only(role: str) -> dict[str, Any]:
        return {"ArnEquals": {"aws:PrincipalArn": get_att(role, "Arn")}}

    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": account_root,
            "Action": KEY_ADMIN_ACTIONS,
            "Resource": "*",  # in a key policy, "*" is this key
        },
        {
            "Sid": "OnlyTheTokenFunctionSigns",
            "Effect": "Allow",
            "Principal": account_root,
            "Action": TOKEN_KEY_ACTIONS,
            "Resource": "*",
            "Condition": only(API_ROLE),
        },
    ]
    if app.has_rotation:
        statements.append(
            {
                "Sid": "RotationFunctionReadsKey",
                "Effect": "Allow",
                "Principal": account_root,
                "Action": ROTATION_KEY_ACTIONS,
                "Resource": "*",
                "Condition": only(ROTATION_ROLE),
            }
        )
    return {
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": sub("${AWS::StackName} token signing key (first current key)"),
            "KeySpec": stage.key_spec,
            "KeyUsage": "SIGN_VERIFY",
            "Enabled": True,
            "PendingWindowInDays": 30,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": statements},
            "Tags": [
                {"Key": SERVICE_TAG, "Value": SIGNING_KEY_TAG_VALUE},
                {"Key": CREATED_BY_TAG, "Value": "cloudformation"},
                {"Key": STACK_TAG, "Value": ref("AWS::StackName")},
            ],
        },
    }


# -- functions and their roles ----------------------------------------------


def _log_group(stage: StageConfig, function: str) -> dict[str, Any]:
    """Logs go with the stack (their retention bounds them anyway); a retained
    group would also block the next deployment of the stage, its name being fixed."""
    return {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "LogGroupName": sub(f"/aws/lambda/${{AWS::StackName}}-{function}"),
            "RetentionInDays": stage.log_retention_days,
        },
    }


def _function_properties(stage: StageConfig, log_group: str) -> dict[str, Any]:
    """Point the function at this stack's table, key and log group. Other
    environment variables come from .chalice/config.json and stay. The runtime and
    architecture are the stage's: Chalice would name the Python that runs it."""
    return {
        "Runtime": stage.lambda_target.runtime,
        "Architectures": [stage.lambda_target.architecture],
        "Environment": {
            "Variables": {
                "TABLE_NAME": ref(TABLE),
                "SIGNING_KEY_ID": get_att(SIGNING_KEY, "Arn"),
                "M2M_STACK": ref("AWS::StackName"),
            }
        },
        "LoggingConfig": {"LogGroup": ref(log_group)},
    }


def _rotation_function_properties(stage: StageConfig) -> dict[str, Any]:
    """The rotation names both roles in the key policy of every key it creates."""
    properties = _function_properties(stage, ROTATION_LOG_GROUP)
    properties["Environment"]["Variables"].update(
        SIGNER_ROLE_ARN=get_att(API_ROLE, "Arn"),
        ROTATION_ROLE_ARN=get_att(ROTATION_ROLE, "Arn"),
    )
    return properties


def _table_statement(actions: list[str] = TABLE_ACTIONS) -> dict[str, Any]:
    return {
        "Sid": "ReadWriteOwnTable",
        "Effect": "Allow",
        "Action": actions,
        "Resource": [get_att(TABLE, "Arn"), sub(f"${{{TABLE}.Arn}}/index/*")],
    }


def _api_statements() -> list[dict[str, Any]]:
    """The token/admin function: its table and its logs; signing with the first key is
    in its own policy (_first_key_policy). Keys the rotation creates name the role in
    their own key policy, which is enough: nothing grants the role a key by its tags.
    It cannot create, decrypt with, tag or delete any key."""
    return [logs_statement(API_LOG_GROUP), _table_statement()]


def _first_key_policy(role: str, sid: str, actions: list[str]) -> dict[str, Any]:
    """``actions`` on the first key, named by its ARN, for ``role``. The first key's
    policy names the account and conditions on the role's ARN (it leaves the decision
    to IAM), so the role needs this allow; the key policy referring to the role, this
    statement cannot sit in the role itself (a dependency cycle): the policy is a
    resource of its own, and the function waits for it."""
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": f"{role}FirstSigningKey",
            "Roles": [ref(role)],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": sid,
                "Effect": "Allow",
                "Action": actions,
                "Resource": get_att(SIGNING_KEY, "Arn"),
            }]},
        },
    }


def _rotation_statements(stage: StageConfig) -> list[dict[str, Any]]:
    """The scheduled rotation function alone creates and tags signing keys; it reads
    them and schedules the deletion of retired ones through their key policy only."""
    tag_values: dict[str, Any] = {
        f"aws:RequestTag/{SERVICE_TAG}": SIGNING_KEY_TAG_VALUE,
        f"aws:RequestTag/{CREATED_BY_TAG}": ROTATOR_TAG_VALUE,
        f"aws:RequestTag/{STACK_TAG}": ref("AWS::StackName"),
    }
    only_service_tags = {"aws:TagKeys": [SERVICE_TAG, CREATED_BY_TAG, STACK_TAG]}
    request_tags = {
        "StringEquals": tag_values,
        "ForAllValues:StringEquals": only_service_tags,
    }
    create_conditions = {
        "StringEquals": {
            **tag_values,
            "kms:KeyUsage": "SIGN_VERIFY",
            "kms:KeySpec": ROTATION_KEY_SPECS,  # either value
        },
        "ForAllValues:StringEquals": only_service_tags,
    }
    return [
        logs_statement(ROTATION_LOG_GROUP),
        _table_statement(ROTATION_TABLE_ACTIONS),
        {
            # kms:CreateKey has no resource-level permission: the key does not exist
            # yet, so AWS accepts only "*". The conditions allow only signing keys
            # tagged as this service's, created by the rotator.
            "Sid": "CreateTaggedSigningKeys",
            "Effect": "Allow",
            "Action": "kms:CreateKey",
            "Resource": "*",
            "Condition": create_conditions,
        },
        {
            # Tagging during CreateKey must be allowed on every key of the account and
            # Region; only the service's three tags, with these values, may be set.
            # Tags grant nothing here (no statement of the stack's roles allows a key
            # by its tags), so this statement lets the role label keys, not use them.
            "Sid": "TagNewSigningKeys",
            "Effect": "Allow",
            "Action": "kms:TagResource",
            "Resource": sub(ACCOUNT_KEYS),
            "Condition": request_tags,
        },
        # The keys it creates name the role in their own key policy; the first key is
        # read through ROTATION_FIRST_KEY_POLICY.
        *_rotation_denies(),
    ]


def _rotation_denies() -> list[dict[str, Any]]:
    """Explicit denies: they hold whatever another policy (a key's default policy,
    a later statement) allows."""
    stack_tag = f"aws:ResourceTag/{STACK_TAG}"

    def deny(sid: str, actions: list[str], condition: dict[str, Any]) -> dict[str, Any]:
        return {"Sid": sid, "Effect": "Deny", "Action": actions,
                "Resource": sub(ACCOUNT_KEYS), "Condition": condition}

    return [
        # A key that already carries a stack tag belongs to that stack: never
        # re-tag it into this one (a key being created has no tags yet).
        deny("NeverRetagAnotherStacksKeys", ["kms:TagResource", "kms:UntagResource"], {
            "Null": {stack_tag: "false"},
            "StringNotEquals": {stack_tag: ref("AWS::StackName")},
        }),
        deny("ScheduleDeletionOnlyOfThisStacksKeys", ["kms:ScheduleKeyDeletion"],
             {"StringNotEquals": {stack_tag: ref("AWS::StackName")}}),
        deny("ScheduleDeletionOnlyOfRotatedKeys", ["kms:ScheduleKeyDeletion"],
             {"StringNotEquals": {f"aws:ResourceTag/{CREATED_BY_TAG}": ROTATOR_TAG_VALUE}}),
        deny("ScheduleDeletionOnlyWithTheLongestWindow", ["kms:ScheduleKeyDeletion"], {
            "NumericNotEquals": {
                "kms:ScheduleKeyDeletionPendingWindowInDays": str(DELETION_WINDOW_DAYS)
            }
        }),
    ]


# -- API Gateway --------------------------------------------------------------


def _add_custom_domain(resources: dict[str, Any], stage: StageConfig) -> None:
    """The domain, mapped at its root to this stage, as the only way in: the issuer
    is then ``https://<domain>`` without a path, so RFC 8414 §3.1 clients find the
    metadata at ``/.well-known/oauth-authorization-server`` of the host."""
    regional = stage.custom_domain_endpoint == "REGIONAL"
    certificate = "RegionalCertificateArn" if regional else "CertificateArn"
    resources[CUSTOM_DOMAIN] = {
        "Type": "AWS::ApiGateway::DomainName",
        "Properties": {
            "DomainName": stage.custom_domain,
            certificate: stage.certificate_arn,
            "EndpointConfiguration": {"Types": [stage.custom_domain_endpoint]},
            "SecurityPolicy": "TLS_1_2",
        },
    }
    resources[CUSTOM_DOMAIN_MAPPING] = {
        "Type": "AWS::ApiGateway::BasePathMapping",
        "Properties": {
            "DomainName": ref(CUSTOM_DOMAIN),
            "RestApiId": ref(REST_API),
            # SAM's stage reference (a plain name could be mapped before SAM creates
            # the stage: "Invalid stage identifier specified").
            "Stage": ref(f"{REST_API}.Stage"),
        },
    }
    resources[REST_API]["Properties"]["DisableExecuteApiEndpoint"] = True
    variables = resources[API_FUNCTION]["Properties"]["Environment"]["Variables"]
    variables["ISSUER"] = stage.issuer


def _rest_api_properties(stage: StageConfig, app: AppShape) -> dict[str, Any]:

    return {
        # One name for the API and its CloudWatch metrics' ApiName dimension.
        "Name": ref("AWS::StackName"),
        "DefinitionBody": {"info": {"title": ref("AWS::StackName")}},
        **observability.rest_api_properties(stage, app),
    }


def _gateway_responses(stage: StageConfig) -> dict[str, Any]:
    """API Gateway's own answers (unknown path, SigV4 refusals, throttling, its
    failures) as JSON for OAuth clients and problem readers alike
    (infra/gateway_responses.py, docs/errors.md); the same for every stage."""
    return {"x-amazon-apigateway-gateway-responses": swagger_extension()}


def admin_resource_arns(stage: StageConfig) -> list[dict[str, Any]]:
    """``execute-api:Invoke`` ARNs of the admin routes: any method, ``/admin``
    and everything below it, on this API's stage only."""
    base = (
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
        f"${{{REST_API}}}/{stage.api_gateway_stage}/*{ADMIN_PREFIX}"
    )
    return [sub(base), sub(base + "/*")]


def _admin_policy(stage: StageConfig) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "Description": f"Call the {stage.stack_name} admin API (execute-api:Invoke on "
            f"{ADMIN_PREFIX} routes only). Attach it to operators' roles.",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "InvokeAdminRoutesOnly",
                        "Effect": "Allow",
                        "Action": "execute-api:Invoke",
                        "Resource": admin_resource_arns(stage),
                    }
                ],
            },
        },
    }


# -- alarms -------------------------------------------------------------------


def _api_metric(metric: str, stage: StageConfig, metric_id: str) -> dict[str, Any]:
    return {
        "Id": metric_id,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/ApiGateway",
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "ApiName", "Value": ref("AWS::StackName")},
                    {"Name": "Stage", "Value": stage.api_gateway_stage},
                ],
            },
            "Period": FIVE_MINUTES,
            "Stat": "Sum",
        },
    }


def _api_5xx_alarm(stage: StageConfig) -> dict[str, Any]:
    rate = (
        f"IF(requests >= {stage.alarm_5xx_min_requests}, 100 * errors / requests, 0)"
    )
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": f"More than {stage.alarm_5xx_percent:g}% of API requests "
            "answered 5xx in 5 minutes",
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": stage.alarm_5xx_percent,
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref(ALARM_TOPIC)],
            "Metrics": [
                _api_metric("5XXError", stage, "errors"),
                _api_metric("Count", stage, "requests"),
                {"Id": "rate", "Expression": rate, "Label": "5xx responses (%)",
                 "ReturnData": True},
            ],
        },
    }


def _kms_throttle_filter() -> dict[str, Any]:
    """KMS publishes no throttling metric per key: count the log line the API
    function writes when KMS throttles a signing request (503 to the client)."""
    return {
        "Type": "AWS::Logs::MetricFilter",
        "Properties": {
            "LogGroupName": ref(API_LOG_GROUP),
            "FilterPattern": f'"{KMS_THROTTLE_LOG_TERM}"',
            "MetricTransformations": [
                {
                    "MetricNamespace": sub("m2m-auth/${AWS::StackName}"),
                    "MetricName": "KmsThrottledRequests",
                    "MetricValue": "1",
                }
            ],
        },
    }


def _kms_throttle_alarm(stage: StageConfig) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "DependsOn": KMS_THROTTLE_FILTER,
        "Properties": {
            "AlarmDescription": f"KMS throttled at least {stage.alarm_kms_throttles} signing "
            "requests in 5 minutes (clients got 503)",
            "Namespace": sub("m2m-auth/${AWS::StackName}"),
            "MetricName": "KmsThrottledRequests",
            "Statistic": "Sum",
            "Period": FIVE_MINUTES,
            "EvaluationPeriods": 1,
            "Threshold": stage.alarm_kms_throttles,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref(ALARM_TOPIC)],
        },
    }


def _rotation_errors_alarm() -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": "The daily signing-key rotation failed",
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": ref(ROTATION_FUNCTION)}],
            "Statistic": "Sum",
            "Period": ONE_DAY,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref(ALARM_TOPIC)],
        },
    }


# -- outputs ------------------------------------------------------------------


def _url(stage: StageConfig, path: str) -> Any:
    """``issuer + path``: the configured ISSUER, else the API Gateway stage URL
    (what the app derives from the request context)."""
    if stage.issuer:
        return stage.issuer + path
    return sub(
        f"https://${{{REST_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
        f"/{stage.api_gateway_stage}{path}"
    )


def _outputs(stage: StageConfig) -> dict[str, Any]:
    def output(description: str, value: Any) -> dict[str, Any]:
        return {"Description": description, "Value": value}

    domain_outputs = {}
    if stage.custom_domain:
        kind = "Regional" if stage.custom_domain_endpoint == "REGIONAL" else "Distribution"
        domain_outputs = {
            "CustomDomainTarget": output(
                f"DNS alias or CNAME target for {stage.custom_domain}",
                get_att(CUSTOM_DOMAIN, f"{kind}DomainName"),
            ),
            "CustomDomainHostedZoneId": output(
                "Hosted zone id for a Route 53 alias record",
                get_att(CUSTOM_DOMAIN, f"{kind}HostedZoneId"),
            ),
        }
    return {
        **domain_outputs,
        "Issuer": output("OAuth issuer (iss of every token)", _url(stage, "")),
        "TokenUrl": output("Token endpoint (client credentials grant)", _url(stage, TOKEN_PATH)),
        "JwksUrl": output("JWK Set verifiers fetch", _url(stage, JWKS_PATH)),
        "AdminBaseUrl": output("Admin API (SigV4, execute-api)", _url(stage, ADMIN_PREFIX)),
        "AdminPolicyArn": output("Managed policy to attach to admin roles", ref(ADMIN_POLICY)),
        "TableName": output("DynamoDB table (retained on stack deletion)", ref(TABLE)),
        "SigningKeyArn": output(
            "First KMS signing key (retained on stack deletion)", get_att(SIGNING_KEY, "Arn")
        ),
        "SigningKeyAlias": output("Alias of the first signing key", stage.key_alias),
        "TokenRoleArn": output(
            "Token function's role: the principal a key you register must let sign "
            "(kms:Sign, kms:GetPublicKey, kms:DescribeKey) in its key policy",
            get_att(API_ROLE, "Arn")),
        "AlarmTopicArn": output("SNS topic the alarms notify: subscribe to it", ref(ALARM_TOPIC)),
    }
