"""One region's stack of a multi-region stage (docs/multi-region.md).

``infra/template.py`` builds the single-region template; for a stage listing several
regions, ``apply`` turns it into the stack of ``stage.region``:

- home region: the table becomes one ``AWS::DynamoDB::GlobalTable`` (logical id
  ``GlobalTable``, a fixed name) with a replica in every region of the stage, and the
  first signing key becomes a multi-Region primary key;
- every other region: no table resource (the functions use the local replica by
  name) and an ``AWS::KMS::ReplicaKey`` of the home key (parameter
  ``PrimarySigningKeyArn``, filled in by ``make deploy`` from the home stack);
- every region: a regional custom domain with the region's certificate, a Route 53
  latency record for the stage's domain and a health check on the region's own JWKS
  (execute-api endpoint, which therefore stays enabled), and ``HOME_REGION`` /
  ``HOME_ADMIN_URL`` for the admin routes, which refuse writes outside home.

The scheduled rotation runs in the home region only: its role there may create
multi-Region primary keys, and the key policy it gives each of them lets it replicate
them to the stage's other regions, with the same key policy on every replica (every
region's token function role signs through it, no IAM statement grants a rotated key);
in the other regions its role may only write its log.
"""

from __future__ import annotations

from typing import Any

from chalicelib.oauth.metadata import JWKS_PATH

from .names import (
    ADMIN_PREFIX,
    API_FUNCTION,
    CUSTOM_DOMAIN,
    REST_API,
    ROTATION_FIRST_KEY_POLICY,
    ROTATION_FUNCTION,
    ROTATION_LOG_GROUP,
    ROTATION_ROLE,
    SIGNING_KEY,
    TABLE,
    AppShape,
    get_att,
    logs_statement,
    ref,
    role_policy,
    sub,
)
from .stage import StageConfig

GLOBAL_TABLE = "GlobalTable"
HEALTH_CHECK = "RegionHealthCheck"
LATENCY_RECORD = "LatencyRecord"
PRIMARY_KEY_PARAMETER = "PrimarySigningKeyArn"
HOME_ADMIN_PARAMETER = "HomeAdminUrl"
HEALTH_CHECK_INTERVAL = 30
HEALTH_CHECK_FAILURES = 3
REPLICA_SSE_KEY = "alias/aws/dynamodb"


def table_name(stage: StageConfig) -> str:
    """The global table's name: the same in every region (secondaries find their
    replica by it)."""
    return stage.stack_name


def key_arns(stage: StageConfig) -> list[Any]:
    """``key/*`` of this account in every region of the stage."""
    return [sub(f"arn:${{AWS::Partition}}:kms:{region}:${{AWS::AccountId}}:key/*")
            for region in stage.regions]


def execute_api_url(stage: StageConfig, path: str) -> Any:
    """This region's own endpoint: the custom domain routes by latency, so the home
    region's admin API and the health checks use the execute-api host."""
    return sub(
        f"https://${{{REST_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
        f"/{stage.api_gateway_stage}{path}"
    )


def apply(template: dict[str, Any], stage: StageConfig, app: AppShape) -> None:
    home = stage.is_home
    _replace_table(template, stage, home)
    resources: dict[str, Any] = template["Resources"]  # rewritten by _replace_table
    if home:
        resources[SIGNING_KEY]["Properties"]["MultiRegion"] = True
    else:
        _replica_key(template)
    _regional_domain(template, stage)
    variables = resources[API_FUNCTION]["Properties"]["Environment"]["Variables"]
    # Admin writes: the home region, or the region an operator promoted (make promote).
    writes_here = stage.region == stage.write_region
    home_admin = (execute_api_url(stage, ADMIN_PREFIX) if writes_here
                  else ref(HOME_ADMIN_PARAMETER))
    variables.update(HOME_REGION=stage.write_region, HOME_ADMIN_URL=home_admin)
    if not writes_here:
        _parameters(template, admin_url=True)
    if app.has_rotation:
        _rotation(resources, stage, home)
    outputs = template["Outputs"]
    outputs["AdminBaseUrl"]["Value"] = execute_api_url(stage, ADMIN_PREFIX)
    outputs["AdminBaseUrl"]["Description"] = (
        "This region's admin API (SigV4); writes are accepted in the home region only")
    outputs["Region"] = {"Description": "Region of this stack", "Value": stage.region}
    outputs["HomeRegion"] = {"Description": "Home region of the stage (admin writes, "
                             "rotation)", "Value": stage.home_region}
    outputs["HealthCheckId"] = {"Description": "Route 53 health check of this region",
                                "Value": ref(HEALTH_CHECK)}


# -- data ---------------------------------------------------------------------------


def _replace_table(template: dict[str, Any], stage: StageConfig, home: bool) -> None:
    resources = template["Resources"]
    table = resources.pop(TABLE)
    name = table_name(stage)
    arn = f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{name}"
    if home:
        resources[GLOBAL_TABLE] = _global_table(table, stage)
        replacements: dict[str, Any] = {
            "ref": ref(GLOBAL_TABLE), "arn": get_att(GLOBAL_TABLE, "Arn"),
            "sub": f"${{{GLOBAL_TABLE}.Arn}}",
        }
    else:
        replacements = {"ref": name, "arn": sub(arn), "sub": arn}
    template["Resources"] = _rewrite(resources, replacements)
    template["Outputs"] = _rewrite(template["Outputs"], replacements)


def _rewrite(node: Any, replacements: dict[str, Any]) -> Any:
    """Every reference to the single-region table, pointed at the global one."""
    if isinstance(node, dict):
        if node == {"Ref": TABLE}:
            return replacements["ref"]
        if node == {"Fn::GetAtt": [TABLE, "Arn"]}:
            return replacements["arn"]
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            return {"Fn::Sub": node["Fn::Sub"].replace(f"${{{TABLE}.Arn}}",
                                                       replacements["sub"])}
        return {k: _rewrite(v, replacements) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v, replacements) for v in node]
    return node


def _global_table(table: dict[str, Any], stage: StageConfig) -> dict[str, Any]:
    """The table of template._table as a global table with a replica per region.

    Default (eventual, multi-region) consistency: every region keeps serving
    reads and writes while another is cut off; strong consistency would make every
    write wait on a second region (and stop writes when a majority is unreachable),
    and the service writes only admin data (home only) and per-region counters."""
    props = table["Properties"]
    replica = {
        "PointInTimeRecoverySpecification": props["PointInTimeRecoverySpecification"],
        "DeletionProtectionEnabled": True,
        "SSESpecification": {"KMSMasterKeyId": REPLICA_SSE_KEY},
        "Tags": props["Tags"],
    }
    return {
        "Type": "AWS::DynamoDB::GlobalTable",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "TableName": table_name(stage),
            "BillingMode": props["BillingMode"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"],
            "TimeToLiveSpecification": props["TimeToLiveSpecification"],
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            # Replication between regions reads the table's stream.
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "Replicas": [{"Region": region, **replica} for region in stage.regions],
        },
    }


# -- keys ---------------------------------------------------------------------------


def _replica_key(template: dict[str, Any]) -> None:
    """The first key in a secondary region: a replica of the home stack's primary
    (same key id and material, so the same kid), with its own key policy naming
    this stack's token function (the rotation does not run here)."""
    key = template["Resources"][SIGNING_KEY]
    props = key["Properties"]
    statements = [s for s in props["KeyPolicy"]["Statement"]
                  if s.get("Sid") != "RotationFunctionReadsKey"]
    key["Type"] = "AWS::KMS::ReplicaKey"
    key["Properties"] = {
        "PrimaryKeyArn": ref(PRIMARY_KEY_PARAMETER),
        "Description": sub("${AWS::StackName} token signing key (replica of the home "
                           "region's first key)"),
        "Enabled": True,
        "PendingWindowInDays": props["PendingWindowInDays"],
        "KeyPolicy": {"Version": "2012-10-17", "Statement": statements},
        "Tags": props["Tags"],
    }
    _parameters(template, primary_key=True)


def _parameters(template: dict[str, Any], admin_url: bool = False,
                primary_key: bool = False) -> None:
    """What ``make deploy`` passes from the other stacks' outputs."""
    parameters = template.setdefault("Parameters", {})
    if admin_url:
        parameters[HOME_ADMIN_PARAMETER] = {
            "Type": "String",
            "Description": "Admin URL of the region taking admin writes (make deploy sets it)",
            "AllowedPattern": r"^https://\S+$",
        }
    if primary_key:
        parameters[PRIMARY_KEY_PARAMETER] = {
            "Type": "String",
            "Description": "ARN of the home stack's first signing key (make deploy sets it)",
            "AllowedPattern": r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/mrk-[0-9a-f-]{32,36}$",
        }


# -- one issuer URL ---------------------------------------------------------------------


def _regional_domain(template: dict[str, Any], stage: StageConfig) -> None:
    """Route 53 latency routing between the regions' custom domains, each record
    withdrawn while its region's health check fails."""
    resources = template["Resources"]
    # The health check (and the home admin API) reach the region's own endpoint.
    resources[REST_API]["Properties"].pop("DisableExecuteApiEndpoint", None)
    resources[HEALTH_CHECK] = {
        "Type": "AWS::Route53::HealthCheck",
        "Properties": {
            "HealthCheckConfig": {
                "Type": "HTTPS",
                "FullyQualifiedDomainName": sub(
                    f"${{{REST_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"),
                "ResourcePath": f"/{stage.api_gateway_stage}{JWKS_PATH}",
                "Port": 443,
                "EnableSNI": True,
                "RequestInterval": HEALTH_CHECK_INTERVAL,
                "FailureThreshold": HEALTH_CHECK_FAILURES,
            },
            "HealthCheckTags": [
                {"Key": "Name", "Value": sub("${AWS::StackName} ${AWS::Region} JWKS")},
            ],
        },
    }
    resources[LATENCY_RECORD] = {
        "Type": "AWS::Route53::RecordSet",
        "Properties": {
            "HostedZoneId": stage.hosted_zone_id,
            "Name": f"{stage.custom_domain}.",
            "Type": "A",
            "SetIdentifier": f"{stage.stack_name}-{stage.region}",
            "Region": stage.region,
            "HealthCheckId": ref(HEALTH_CHECK),
            "AliasTarget": {
                "DNSName": get_att(CUSTOM_DOMAIN, "RegionalDomainName"),
                "HostedZoneId": get_att(CUSTOM_DOMAIN, "RegionalHostedZoneId"),
                "EvaluateTargetHealth": True,
            },
        },
    }


# -- rotation -------------------------------------------------------------------------


def _rotation(resources: dict[str, Any], stage: StageConfig, home: bool) -> None:
    variables = resources[ROTATION_FUNCTION]["Properties"]["Environment"]["Variables"]
    variables.update(
        # The rotation stays with the multi-Region primaries, in the home region, even
        # while admin writes are promoted elsewhere.
        HOME_REGION=stage.home_region,
        STAGE_REGIONS=",".join(stage.regions),
        # Every region's token function role (one stack name in every region; the
        # rotation names them in the key policy of each replica it creates).
        SIGNER_ROLE_PATTERN=sub(
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}-"
            "ApiHandlerRole-*"),
    )
    policy = resources[ROTATION_ROLE]["Properties"]["Policies"][0]
    if not home:
        # The function runs on its schedule here too, and returns at once; the replica
        # of the first key does not name its role.
        resources[ROTATION_ROLE]["Properties"]["Policies"] = [
            role_policy(ROTATION_ROLE, [logs_statement(ROTATION_LOG_GROUP)])]
        resources.pop(ROTATION_FIRST_KEY_POLICY)
        resources[ROTATION_FUNCTION].pop("DependsOn")
        return
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    everywhere = key_arns(stage)
    for statement in statements:
        sid = statement.get("Sid", "")
        if sid == "CreateTaggedSigningKeys":
            # Primaries only, in the home region.
            statement["Condition"]["StringEquals"]["aws:RequestedRegion"] = stage.home_region
            statement["Condition"]["Bool"] = {"kms:MultiRegion": "true"}
        elif sid == "TagNewSigningKeys" or statement.get("Effect") == "Deny":
            statement["Resource"] = everywhere
    # kms:ReplicateKey of a primary it created, and the replicas' reads and deletion,
    # come from the key policy the rotation gives each key and replica
    # (chalicelib/tokens/key_policy.py), limited there to the stage's other regions.
    statements += [
        {
            # ReplicateKey needs kms:CreateKey in the replica's region (no resource
            # exists yet: "*"), there only.
            "Sid": "CreateReplicasInStageRegions",
            "Effect": "Allow",
            "Action": "kms:CreateKey",
            "Resource": "*",
            "Condition": {"StringEquals": {
                "aws:RequestedRegion": list(stage.secondary_regions)}},
        },
    ]
