"""``make deploy`` / ``make destroy``: their AWS calls on moto (STS, S3) and on
botocore's Stubber (CloudFormation: moto cannot run Chalice's SAM template)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from infra.deploy import (
    Account,
    DeployError,
    PreflightError,
    bucket_name,
    deploy_package,
    destroy_stack,
    ensure_bucket,
    preflight,
    upload_package,
    with_code_location,
)
from infra.package import Package
from infra.stack import StackError
from infra.stage import PROJECT_DIR, StageConfig

ACCOUNT_ID = "123456789012"
STACK = "m2m-auth-dev"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT_ID}:stack/{STACK}/0a1b"
CHANGE_SET = f"arn:aws:cloudformation:us-east-1:{ACCOUNT_ID}:changeSet/deploy-1/2c3d"
NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
NO_CREDENTIALS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
)
OUTPUTS = {
    "Issuer": "https://a1b2c3.execute-api.us-east-1.amazonaws.com/dev",
    "TokenUrl": "https://a1b2c3.execute-api.us-east-1.amazonaws.com/dev/oauth/token",
    "TableName": "m2m-auth-dev-Table-XYZ",
}


# -- fixtures -------------------------------------------------------------------------


class Printed(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)

    def text(self) -> str:
        return "\n".join(self)


@pytest.fixture
def say() -> Printed:
    return Printed()


def no_sleep(_: float) -> None:
    return None


@pytest.fixture
def built(tmp_path: Path, dev_stage: StageConfig) -> Package:
    """A stand-in for ``make package`` output: two functions sharing one zip."""
    out = tmp_path / "build"
    out.mkdir()
    function = {"Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "./deployment.zip", "Handler": "app.app"}}
    template = {"Resources": {"APIHandler": function, "RotateSigningKeys": function}}
    (out / "sam.json").write_text(json.dumps(template))
    with zipfile.ZipFile(out / "deployment.zip", "w") as archive:
        archive.writestr("app.py", "app = None\n")
    return Package(dev_stage, out)


@pytest.fixture
def aws() -> Iterator[Account]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        yield Account(session, "us-east-1", ACCOUNT_ID, f"arn:aws:iam::{ACCOUNT_ID}:user/ops")


@pytest.fixture
def bucket(aws: Account, say: Printed) -> str:
    """The deployment bucket, less its TLS-only policy: moto evaluates that Deny
    without ``aws:SecureTransport`` and would refuse every request."""
    s3 = aws.client("s3")
    name = ensure_bucket(s3, aws, say)
    s3.delete_bucket_policy(Bucket=name)
    return name


@pytest.fixture
def cfn() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _stack(status: str, outputs: dict[str, str] | None = None) -> dict[str, Any]:
    stack: dict[str, Any] = {
        "StackName": STACK, "StackId": STACK_ID, "CreationTime": NOW, "StackStatus": status,
    }
    if outputs:
        stack["Outputs"] = [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]
    return stack


def _event(n: int, status: str, logical: str = "Table",
           kind: str = "AWS::DynamoDB::Table", reason: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "StackId": STACK_ID, "EventId": f"event-{n}", "StackName": STACK,
        "LogicalResourceId": logical, "ResourceType": kind, "ResourceStatus": status,
        "Timestamp": NOW + timedelta(seconds=n),
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def _events(stubber: Stubber, *events: dict[str, Any]) -> None:
    """One DescribeStackEvents page, newest first as the API answers."""
    ordered = sorted(events, key=lambda e: e["Timestamp"], reverse=True)
    stubber.add_response("describe_stack_events", {"StackEvents": ordered},
                         {"StackName": STACK_ID})


def _no_stack(stubber: Stubber, name: str = STACK) -> None:
    stubber.add_client_error(
        "describe_stacks", service_error_code="ValidationError",
        service_message=f"Stack with id {name} does not exist", http_status_code=400,
        expected_params={"StackName": name},
    )


def _describe(stubber: Stubber, status: str, name: str = STACK,
              outputs: dict[str, str] | None = None) -> None:
    stubber.add_response("describe_stacks", {"Stacks": [_stack(status, outputs)]},
                         {"StackName": name})


def _change_set(stubber: Stubber, kind: str, changes: list[dict[str, Any]]) -> None:
    stubber.add_response(
        "create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID},
        {"StackName": STACK, "ChangeSetName": ANY, "ChangeSetType": kind, "TemplateURL": ANY,
         "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
         "Tags": [{"Key": "m2m-auth:stage", "Value": "dev"}], "Description": ANY},
    )
    stubber.add_response("describe_change_set",
                         {"Status": "CREATE_PENDING", "StackId": STACK_ID},
                         {"ChangeSetName": CHANGE_SET})
    stubber.add_response(
        "describe_change_set",
        {"Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE", "StackId": STACK_ID,
         "Changes": changes},
        {"ChangeSetName": CHANGE_SET},
    )


def _change(action: str, logical: str, kind: str, replacement: str = "False") -> dict[str, Any]:
    change: dict[str, Any] = {"Action": action, "LogicalResourceId": logical,
                              "ResourceType": kind}
    if action == "Modify":
        change["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": change}


# -- preflight: credentials and region, fast ---------------------------------------------------


def _without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NO_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_no_credentials_fails_in_seconds_saying_how_to_provide_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without_credentials(monkeypatch)
    started = time.monotonic()
    with pytest.raises(PreflightError, match="no AWS credentials: set AWS_PROFILE"):
        preflight(botocore.session.Session())
    assert time.monotonic() - started < 3


def test_no_region_fails_saying_how_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    with pytest.raises(PreflightError, match="no AWS region: set AWS_REGION"):
        preflight(botocore.session.Session())


def test_rejected_credentials_fail_with_aws_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    session = botocore.session.Session()

    def expired(**_: Any) -> tuple[Any, dict[str, Any]]:
        error = {"Code": "ExpiredToken", "Message": "The security token is expired"}
        return SimpleNamespace(status_code=403), {
            "Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}
        }

    session.register("before-call.sts.GetCallerIdentity", expired)
    with pytest.raises(PreflightError, match="AWS rejected the credentials \\(ExpiredToken"):
        preflight(session)


def test_preflight_names_the_account_and_region() -> None:
    with mock_aws():
        account = preflight(botocore.session.Session())
    assert (account.account_id, account.region) == (ACCOUNT_ID, "us-east-1")


def test_aws_region_alone_chooses_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN only AWS_REGION, as the README says (make test exports AWS_DEFAULT_REGION: clear it)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    with mock_aws():
        account = preflight(botocore.session.Session())
        # THEN the account, and every client built from it, use that region
        assert account.region == "eu-west-1"
        assert account.client("cloudformation").meta.region_name == "eu-west-1"
        assert bucket_name(account).endswith("-eu-west-1")


def test_aws_region_wins_over_aws_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    with mock_aws():
        account = preflight(botocore.session.Session())
    assert account.region == "eu-central-1"
    assert account.client("s3").meta.region_name == "eu-central-1"


def test_a_profile_region_is_used_when_no_variable_names_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text("[profile ops]\nregion = ap-southeast-2\n")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "ops")
    with mock_aws():
        account = preflight(botocore.session.Session())
    assert account.region == "ap-southeast-2"


def test_make_deploy_with_only_aws_region_gets_past_the_region_check(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in (*NO_CREDENTIALS, "AWS_DEFAULT_REGION")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true", AWS_REGION="eu-west-1")
    code, stderr, _ = _run_deploy(["destroy", "--stage", "dev", "--yes"], env, tmp_path)
    assert code == 2
    assert "no AWS region" not in stderr
    assert "make destroy: no AWS credentials" in stderr


def test_package_hands_aws_region_to_chalice(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.package import _child_env

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert _child_env()["AWS_DEFAULT_REGION"] == "eu-west-1"


def _run_deploy(args: list[str], env: dict[str, str], tmp_path: Path) -> tuple[int, str, float]:
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-m", "infra.deploy", *args, "--out", str(tmp_path / "out")],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    return result.returncode, result.stderr, time.monotonic() - started


def test_make_deploy_without_credentials_stops_before_packaging(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in NO_CREDENTIALS}
    env.update(AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true", AWS_REGION="eu-west-1")
    code, stderr, seconds = _run_deploy(["deploy", "--stage", "dev"], env, tmp_path)
    assert code == 2
    assert "make deploy: no AWS credentials" in stderr
    assert seconds < 15  # interpreter start-up included; no packaging, no network
    assert not (tmp_path / "out").exists()


def test_make_deploy_without_region_stops_before_packaging(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    env.update(AWS_CONFIG_FILE=os.devnull)
    code, stderr, _ = _run_deploy(["deploy", "--stage", "dev"], env, tmp_path)
    assert code == 2
    assert "make deploy: no AWS region" in stderr
    assert not (tmp_path / "out").exists()


def test_make_deploy_of_an_unknown_stage_lists_the_stages(tmp_path: Path) -> None:
    code, stderr, _ = _run_deploy(["deploy", "--stage", "prdo"], dict(os.environ), tmp_path)
    assert code == 2
    assert "stage 'prdo' is not in .chalice/config.json (stages: dev, local, prod)" in stderr


# -- the deployment bucket and the upload ---------------------------------------------------


def test_bucket_is_created_private_and_encrypted_then_reused(aws: Account, say: Printed) -> None:
    s3 = aws.client("s3")
    name = ensure_bucket(s3, aws, say)
    assert name == f"m2m-auth-deploy-{ACCOUNT_ID}-us-east-1"
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert ensure_bucket(s3, aws, say) == name
    assert [line for line in say if "creating deployment bucket" in line] == [
        f"creating deployment bucket s3://{name}"
    ]


def test_bucket_outside_us_east_1_gets_its_location(say: Printed) -> None:
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        account = Account(session, "eu-west-1", ACCOUNT_ID, "arn:aws:iam::123456789012:user/o")
        s3 = account.client("s3")
        name = ensure_bucket(s3, account, say)
        assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"


def test_a_bucket_of_another_account_is_refused(say: Printed) -> None:
    account = Account(None, "us-east-1", ACCOUNT_ID, "arn:aws:iam::123456789012:user/o")
    s3 = boto3.client("s3", region_name="us-east-1")
    with Stubber(s3) as stubber:
        stubber.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
        with pytest.raises(DeployError, match="exists but this account"):
            ensure_bucket(s3, account, say)


def test_upload_points_every_function_at_the_uploaded_zip(
    aws: Account, bucket: str, built: Package, say: Printed
) -> None:
    s3 = aws.client("s3")
    url = upload_package(s3, built, bucket, aws, say)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert len(keys) == 2
    code_key = next(k for k in keys if k.endswith(".zip"))
    template_key = next(k for k in keys if k.endswith(".template.json"))
    assert code_key.startswith(f"{STACK}/") and url.endswith(f"/{bucket}/{template_key}")
    uploaded = s3.get_object(Bucket=bucket, Key=code_key)["Body"].read()
    assert uploaded == built.artifact_path.read_bytes()
    template = json.loads(s3.get_object(Bucket=bucket, Key=template_key)["Body"].read())
    assert {r["Properties"]["CodeUri"] for r in template["Resources"].values()} == {
        f"s3://{bucket}/{code_key}"
    }
    assert json.loads((built.out_dir / "deploy-template.json").read_text()) == template


def test_unchanged_artifacts_are_not_uploaded_again(
    aws: Account, bucket: str, built: Package, say: Printed
) -> None:
    s3 = aws.client("s3")
    puts: list[str] = []
    s3.meta.events.register("provide-client-params.s3.PutObject",
                            lambda params, **_: puts.append(params["Key"]))
    first = upload_package(s3, built, bucket, aws, say)
    second = upload_package(s3, built, bucket, aws, say)
    assert first == second
    assert len(puts) == 2  # the zip and the template, once


def test_a_function_pointing_elsewhere_is_refused() -> None:
    template = {"Resources": {"F": {"Properties": {"CodeUri": "./other.zip"}}}}
    with pytest.raises(DeployError, match="not the package"):
        with_code_location(template, "s3://b/k.zip")


# -- CloudFormation: create, update, no-op, failures ----------------------------------------


def test_first_deploy_creates_the_stack_streaming_events_then_prints_outputs(
    aws: Account, bucket: str, built: Package, cfn: tuple[Any, Stubber], say: Printed
) -> None:
    client, stubber = cfn
    _no_stack(stubber)
    _change_set(stubber, "CREATE", [_change("Add", "Table", "AWS::DynamoDB::Table")])
    _events(stubber, _event(0, "REVIEW_IN_PROGRESS", STACK, "AWS::CloudFormation::Stack"))
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET})
    _events(stubber, _event(0, "REVIEW_IN_PROGRESS", STACK, "AWS::CloudFormation::Stack"),
            _event(1, "CREATE_IN_PROGRESS"), _event(2, "CREATE_COMPLETE"))
    _describe(stubber, "CREATE_IN_PROGRESS", STACK_ID)
    _events(stubber, _event(3, "CREATE_COMPLETE", STACK, "AWS::CloudFormation::Stack"),
            _event(2, "CREATE_COMPLETE"))
    _describe(stubber, "CREATE_COMPLETE", STACK_ID)
    _events(stubber, _event(3, "CREATE_COMPLETE", STACK, "AWS::CloudFormation::Stack"))
    _describe(stubber, "CREATE_COMPLETE", STACK, OUTPUTS)

    values = deploy_package(built, aws, say, no_sleep,
                            clients={"s3": aws.client("s3"), "cloudformation": client})

    assert values == OUTPUTS
    text = say.text()
    assert "(CREATE) for stack m2m-auth-dev" in text
    assert "Add     AWS::DynamoDB::Table" in text
    events = [line for line in say if line.startswith("  20:00:")]
    assert [line.split()[1:3] for line in events] == [
        ["CREATE_IN_PROGRESS", "AWS::DynamoDB::Table"],
        ["CREATE_COMPLETE", "AWS::DynamoDB::Table"],
        ["CREATE_COMPLETE", "AWS::CloudFormation::Stack"],
    ]
    assert "REVIEW_IN_PROGRESS" not in text  # history before the operation is not shown
    assert say.index("stack m2m-auth-dev: CREATE_COMPLETE") < say.index("outputs:")
    assert say[-3:] == [
        f"  Issuer     {OUTPUTS['Issuer']}",
        f"  TokenUrl   {OUTPUTS['TokenUrl']}",
        f"  TableName  {OUTPUTS['TableName']}",
    ]


def test_redeploy_updates_the_existing_stack(
    aws: Account, bucket: str, built: Package, cfn: tuple[Any, Stubber], say: Printed
) -> None:
    client, stubber = cfn
    _describe(stubber, "UPDATE_COMPLETE")
    _change_set(stubber, "UPDATE",
                [_change("Modify", "APIHandler", "AWS::Lambda::Function")])
    _events(stubber, _event(0, "UPDATE_COMPLETE", STACK, "AWS::CloudFormation::Stack"))
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET})
    _events(stubber, _event(1, "UPDATE_IN_PROGRESS", STACK, "AWS::CloudFormation::Stack"),
            _event(2, "UPDATE_COMPLETE", STACK, "AWS::CloudFormation::Stack"))
    _describe(stubber, "UPDATE_COMPLETE", STACK_ID)
    _events(stubber, _event(2, "UPDATE_COMPLETE", STACK, "AWS::CloudFormation::Stack"))
    _describe(stubber, "UPDATE_COMPLETE", STACK, OUTPUTS)

    deploy_package(built, aws, say, no_sleep,
                   clients={"s3": aws.client("s3"), "cloudformation": client})

    assert "(UPDATE)" in say.text()
    assert "stack m2m-auth-dev: UPDATE_COMPLETE" in say


def test_deploy_without_changes_executes_nothing_and_prints_outputs(
    aws: Account, bucket: str, built: Package, cfn: tuple[Any, Stubber], say: Printed
) -> None:
    client, stubber = cfn
    _describe(stubber, "UPDATE_COMPLETE")
    stubber.add_response(
        "create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID},
        {"StackName": STACK, "ChangeSetName": ANY, "ChangeSetType": "UPDATE",
         "TemplateURL": ANY, "Capabilities": ANY, "Tags": ANY, "Description": ANY},
    )
    stubber.add_response(
        "describe_change_set",
        {"Status": "FAILED", "StackId": STACK_ID, "StatusReason":
         "The submitted information didn't contain changes. Submit different information "
         "to create a change set."},
        {"ChangeSetName": CHANGE_SET},
    )
    stubber.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET})
    _describe(stubber, "UPDATE_COMPLETE", STACK, OUTPUTS)

    values = deploy_package(built, aws, say, no_sleep,
                            clients={"s3": aws.client("s3"), "cloudformation": client})

    assert values == OUTPUTS
    assert "stack m2m-auth-dev is up to date: no changes to deploy" in say


def test_a_failed_change_set_reports_cloudformation_reason(
    aws: Account, bucket: str, built: Package, cfn: tuple[Any, Stubber], say: Printed
) -> None:
    client, stubber = cfn
    _no_stack(stubber)
    stubber.add_response(
        "create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID},
        {"StackName": STACK, "ChangeSetName": ANY, "ChangeSetType": "CREATE",
         "TemplateURL": ANY, "Capabilities": ANY, "Tags": ANY, "Description": ANY},
    )
    stubber.add_response(
        "describe_change_set",
        {"Status": "FAILED", "StackId": STACK_ID,
         "StatusReason": "Transform AWS::Serverless-2016-10-31 failed with: Invalid template"},
        {"ChangeSetName": CHANGE_SET},
    )
    with pytest.raises(StackError, match="failed: Transform AWS::Serverless-2016-10-31 failed"):
        deploy_package(built, aws, say, no_sleep,
                       clients={"s3": aws.client("s3"), "cloudformation": client})


def test_a_rolled_back_deploy_fails_with_the_first_resource_failure(
    aws: Account, bucket: str, built: Package, cfn: tuple[Any, Stubber], say: Printed
) -> None:
    client, stubber = cfn
    _describe(stubber, "UPDATE_COMPLETE")
    _change_set(stubber, "UPDATE", [_change("Modify", "RestAPI", "AWS::ApiGateway::RestApi")])
    _events(stubber, _event(0, "UPDATE_COMPLETE", STACK, "AWS::CloudFormation::Stack"))
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET})
    reason = "Resource handler returned message: \"Access denied for kms:CreateKey\""
    _events(stubber, _event(1, "UPDATE_IN_PROGRESS", "SigningKey", "AWS::KMS::Key"),
            _event(2, "UPDATE_FAILED", "SigningKey", "AWS::KMS::Key", reason),
            _event(3, "UPDATE_ROLLBACK_IN_PROGRESS", STACK, "AWS::CloudFormation::Stack",
                   "The following resource(s) failed to update: [SigningKey]."))
    _describe(stubber, "UPDATE_ROLLBACK_COMPLETE", STACK_ID)
    _events(stubber, _event(4, "UPDATE_ROLLBACK_COMPLETE", STACK, "AWS::CloudFormation::Stack"),
            _event(3, "UPDATE_ROLLBACK_IN_PROGRESS", STACK, "AWS::CloudFormation::Stack"))

    with pytest.raises(StackError) as failure:
        deploy_package(built, aws, say, no_sleep,
                       clients={"s3": aws.client("s3"), "cloudformation": client})

    assert str(failure.value) == f"stack UPDATE_ROLLBACK_COMPLETE: SigningKey: {reason}"
    assert any("UPDATE_ROLLBACK_COMPLETE" in line for line in say)


def test_a_stack_left_in_rollback_complete_asks_for_destroy_first(
    aws: Account, bucket: str, built: Package, cfn: tuple[Any, Stubber], say: Printed
) -> None:
    client, stubber = cfn
    _describe(stubber, "ROLLBACK_COMPLETE")
    with pytest.raises(StackError, match="run `make destroy`"):
        deploy_package(built, aws, say, no_sleep,
                       clients={"s3": aws.client("s3"), "cloudformation": client})


def test_a_change_replacing_the_table_is_refused_and_discarded(
    aws: Account, bucket: str, built: Package, cfn: tuple[Any, Stubber], say: Printed
) -> None:
    client, stubber = cfn
    _describe(stubber, "UPDATE_COMPLETE")
    _change_set(stubber, "UPDATE",
                [_change("Modify", "Table", "AWS::DynamoDB::Table", replacement="True")])
    stubber.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET})
    with pytest.raises(DeployError, match="Table would be replaced \\(Replacement: True\\)"):
        deploy_package(built, aws, say, no_sleep,
                       clients={"s3": aws.client("s3"), "cloudformation": client})


# -- destroy --------------------------------------------------------------------------------


def test_destroy_deletes_the_stack_and_says_what_was_kept(
    aws: Account, dev_stage: StageConfig, cfn: tuple[Any, Stubber], say: Printed
) -> None:
    client, stubber = cfn
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    _describe(stubber, "UPDATE_COMPLETE")
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": "Table", "PhysicalResourceId": "m2m-auth-dev-Table-XYZ",
         "ResourceType": "AWS::DynamoDB::Table", "LastUpdatedTimestamp": NOW,
         "ResourceStatus": "CREATE_COMPLETE"},
        {"LogicalResourceId": "SigningKey", "PhysicalResourceId": key_arn,
         "ResourceType": "AWS::KMS::Key", "LastUpdatedTimestamp": NOW,
         "ResourceStatus": "CREATE_COMPLETE"},
    ]}, {"StackName": STACK_ID})
    _events(stubber, _event(0, "UPDATE_COMPLETE", STACK, "AWS::CloudFormation::Stack"))
    stubber.add_response("delete_stack", {}, {"StackName": STACK_ID})
    _events(stubber, _event(1, "DELETE_IN_PROGRESS", STACK, "AWS::CloudFormation::Stack"),
            _event(2, "DELETE_SKIPPED"))
    _describe(stubber, "DELETE_IN_PROGRESS", STACK_ID)
    _events(stubber, _event(3, "DELETE_COMPLETE", STACK, "AWS::CloudFormation::Stack"),
            _event(2, "DELETE_SKIPPED"))
    _describe(stubber, "DELETE_COMPLETE", STACK_ID)
    _events(stubber, _event(3, "DELETE_COMPLETE", STACK, "AWS::CloudFormation::Stack"))

    assert destroy_stack(dev_stage, aws, say, no_sleep, clients={"cloudformation": client})

    text = say.text()
    assert "DELETE_SKIPPED" in text  # the retained table, as CloudFormation reports it
    assert "RETAINED on purpose" in text
    assert "DynamoDB table  m2m-auth-dev-Table-XYZ" in text
    assert f"KMS key         {key_arn}" in text
    assert ("aws dynamodb update-table --region us-east-1 --table-name m2m-auth-dev-Table-XYZ "
            "--no-deletion-protection-enabled") in text
    assert f"aws kms schedule-key-deletion --region us-east-1 --key-id {key_arn}" in text


def test_destroy_without_a_stack_says_there_is_nothing_to_do(
    aws: Account, dev_stage: StageConfig, cfn: tuple[Any, Stubber], say: Printed
) -> None:
    client, stubber = cfn
    _no_stack(stubber)
    assert not destroy_stack(dev_stage, aws, say, no_sleep, clients={"cloudformation": client})
    assert say == ["no stack m2m-auth-dev in us-east-1: nothing to destroy"]


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, built: Package) -> list[str]:
    """The command's steps, recorded instead of run."""
    import infra.deploy as command

    seen: list[str] = []
    account = Account(None, "us-east-1", ACCOUNT_ID, "arn:aws:iam::123456789012:user/ops")

    def fake_preflight() -> Account:
        seen.append("preflight")
        return account

    def fake_package(stage: str, out: Path | None) -> Package:
        seen.append(f"package {stage}")
        return built

    def fake_deploy(package: Package, _: Account, **kwargs: Any) -> dict[str, str]:
        seen.append(f"deploy allow_data_replacement={kwargs['allow_data_replacement']}")
        return {}

    def fake_destroy(stage: StageConfig, _: Account) -> bool:
        seen.append(f"destroy {stage.stack_name}")
        return True

    def fake_logging_check(_: Any, stage: StageConfig) -> None:
        seen.append("api gateway logging role")

    monkeypatch.setattr(command, "preflight", fake_preflight)
    monkeypatch.setattr(command, "account_logging_problem", fake_logging_check)
    monkeypatch.setattr(command, "package", fake_package)
    monkeypatch.setattr(command, "deploy_package", fake_deploy)
    monkeypatch.setattr(command, "destroy_stack", fake_destroy)
    return seen


def test_deploy_checks_credentials_before_packaging(calls: list[str]) -> None:
    from infra.deploy import main

    assert main(["deploy", "--stage", "dev"]) == 0
    assert calls == ["preflight", "api gateway logging role", "package dev",
                     "deploy allow_data_replacement=False"]


def test_destroy_without_a_terminal_needs_yes(
    calls: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.deploy import main

    monkeypatch.setattr(sys, "stdin", SimpleNamespace(isatty=lambda: False))
    assert main(["destroy", "--stage", "prod"]) == 1
    assert "make destroy YES=1" in capsys.readouterr().err
    assert calls == ["preflight"]
    assert main(["destroy", "--stage", "prod", "--yes"]) == 0
    assert calls[-1] == "destroy m2m-auth-prod"


def test_a_failed_stack_operation_exits_non_zero_with_the_reason(
    calls: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import infra.deploy as command

    def failing(*_: Any, **__: Any) -> dict[str, str]:
        raise StackError("stack ROLLBACK_COMPLETE: Table: boom")

    monkeypatch.setattr(command, "deploy_package", failing)
    assert command.main(["deploy", "--stage", "dev"]) == 1
    assert "make deploy: stack ROLLBACK_COMPLETE: Table: boom" in capsys.readouterr().err
