"""``make deploy STAGE=<name>`` and ``make destroy STAGE=<name>``.

deploy: check credentials and region (seconds, before anything is built), package
the stage (infra/package.py), upload the zip and template to this account's
deployment bucket, create a change set, execute it while streaming the stack's
events, print the outputs. destroy: delete the stack, then say which resources
were kept (the table and the signing keys) and how to delete them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import regions
from .artifact import ArtifactError
from .observability import account_logging_problem
from .package import Package, PackageError, package
from .region import resolve_region
from .stack import (
    StackError,
    StackWatcher,
    create_change_set,
    data_loss_changes,
    describe_changes,
    describe_stack,
    format_outputs,
    outputs,
    stack_resources,
    wait_for_stack,
)
from .stage import StageConfig, StageError, load_stage

Say = Callable[[str], None]
Sleep = Callable[[float], None]
# Fail fast: a missing network or a wrong endpoint must not hang the user.
FAST = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
LOCAL_CODE = ("CodeUri", "ContentUri")


class DeployError(RuntimeError):
    """The deployment cannot go on; the message says why and what to do."""


class PreflightError(DeployError):
    """No usable credentials or region: nothing was built or sent."""


@dataclass(frozen=True)
class Account:
    session: Any  # boto3.Session
    region: str
    account_id: str
    caller_arn: str

    @property
    def partition(self) -> str:
        return self.caller_arn.split(":")[1] if self.caller_arn.count(":") >= 2 else "aws"

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region, config=FAST)

    def in_region(self, region: str) -> Account:
        """The same credentials, another region (multi-region stages)."""
        return replace(self, region=region)


def preflight(botocore_session: Any | None = None) -> Account:
    """Credentials and region, or a ``PreflightError`` saying how to provide them."""
    import boto3
    import botocore.session

    session = botocore_session or botocore.session.get_session()
    try:
        region = resolve_region(session)
        if not region:
            raise PreflightError(
                "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or `region` in the "
                "profile named by AWS_PROFILE, e.g. `AWS_REGION=eu-west-1 make deploy`"
            )
        credentials = session.get_credentials()
    except (BotoCoreError, ClientError) as exc:
        raise PreflightError(f"cannot load AWS credentials: {exc}") from exc
    if credentials is None:
        raise PreflightError(
            "no AWS credentials: set AWS_PROFILE (after `aws configure` or `aws sso login`), "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    boto = boto3.Session(botocore_session=session)
    sts = boto.client("sts", region_name=region, config=FAST)
    try:
        identity = sts.get_caller_identity()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise PreflightError(
            f"AWS rejected the credentials ({error.get('Code')}: {error.get('Message')}); "
            "refresh them (e.g. `aws sso login`) and try again"
        ) from exc
    except BotoCoreError as exc:
        # No network, an expired SSO session, a broken credential process...
        raise PreflightError(
            f"cannot check the AWS credentials with STS in {region}: {exc}"
        ) from exc
    return Account(boto, region, identity["Account"], identity["Arn"])


# -- the deployment bucket ------------------------------------------------------


def bucket_name(account: Account) -> str:
    return f"m2m-auth-deploy-{account.account_id}-{account.region}"


def ensure_bucket(s3: Any, account: Account, say: Say) -> str:
    """This account's private deployment bucket in the region, created once."""
    name = bucket_name(account)
    try:
        s3.head_bucket(Bucket=name, ExpectedBucketOwner=account.account_id)
        return name
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code == "403":
            raise DeployError(
                f"bucket {name} exists but this account ({account.account_id}) cannot use it"
            ) from exc
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
    say(f"creating deployment bucket s3://{name}")
    create: dict[str, Any] = {"Bucket": name}
    if account.region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": account.region}
    s3.create_bucket(**create)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(_tls_only_policy(name, account.partition)))
    return name


def _tls_only_policy(bucket: str, partition: str = "aws") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:*",
                "Resource": [f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def upload(s3: Any, bucket: str, key: str, body: bytes, account: Account) -> None:
    """Put ``body`` unless the content-addressed key is already there. (S3 answers
    403, not 404, for a missing key to callers without s3:ListBucket: upload then.)"""
    try:
        s3.head_object(Bucket=bucket, Key=key, ExpectedBucketOwner=account.account_id)
        return
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code not in ("403", "404", "NoSuchKey", "NotFound", "AccessDenied"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body, ExpectedBucketOwner=account.account_id)


def upload_package(
    s3: Any, built: Package, bucket: str, account: Account, say: Say
) -> str:
    """Upload the zip, point every function at it, upload the template; return its URL
    (what ``aws cloudformation package`` does; the template is over CloudFormation's
    51,200-byte inline limit, so it always goes through S3)."""
    prefix = built.stage.stack_name
    code = built.artifact_path.read_bytes()
    code_key = f"{prefix}/{hashlib.sha256(code).hexdigest()}.zip"
    say(f"uploading {built.artifact_path.name} ({len(code) / 1_000_000:.1f} MB) "
        f"to s3://{bucket}/{code_key}")
    upload(s3, bucket, code_key, code, account)
    template = with_code_location(built.template(), f"s3://{bucket}/{code_key}")
    deploy_template = built.out_dir / "deploy-template.json"
    text = json.dumps(template, indent=1, sort_keys=True)
    deploy_template.write_text(text + "\n")
    body = text.encode()
    template_key = f"{prefix}/{hashlib.sha256(body).hexdigest()}.template.json"
    upload(s3, bucket, template_key, body, account)
    return f"{s3.meta.endpoint_url}/{bucket}/{template_key}"


def with_code_location(template: dict[str, Any], uri: str) -> dict[str, Any]:
    """Replace the local ``./deployment.zip`` of every function with ``uri``."""
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in LOCAL_CODE:
            value = properties.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                if Path(value).name != "deployment.zip":
                    raise DeployError(f"{name}.{key} points at {value}, which is not the package")
                properties[key] = uri
    return template


# -- deploy and destroy ---------------------------------------------------------------


def deploy_package(
    built: Package,
    account: Account,
    say: Say = print,
    sleep: Sleep = time.sleep,
    allow_data_replacement: bool = False,
    clients: dict[str, Any] | None = None,
    parameters: dict[str, str] | None = None,
) -> dict[str, str]:
    """Upload, change set, execute, wait; return the stack's outputs."""
    clients = clients or {}
    s3 = clients.get("s3") or account.client("s3")
    cfn = clients.get("cloudformation") or account.client("cloudformation")
    stack = built.stage.stack_name
    bucket = ensure_bucket(s3, account, say)
    template_url = upload_package(s3, built, bucket, account, say)
    tags = {"m2m-auth:stage": built.stage.stage}
    change_set = create_change_set(cfn, stack, template_url, tags, say, sleep,
                                   parameters=parameters)
    if change_set is None:
        say(f"stack {stack} is up to date: no changes to deploy")
    else:
        say("changes:")
        for line in describe_changes(change_set.changes):
            say(line)
        risky = data_loss_changes(change_set.changes)
        if risky and not allow_data_replacement:
            cfn.delete_change_set(ChangeSetName=change_set.arn)
            raise DeployError(
                "refusing to deploy: " + "; ".join(risky) + ". The stack would switch to a new, "
                "empty table or a new signing key (the old ones are retained). If that is "
                "really what you want, run again with --allow-data-replacement."
            )
        watcher = StackWatcher(cfn, change_set.stack_id, say)
        watcher.mark_existing()
        say(f"executing change set; events of stack {stack}:")
        cfn.execute_change_set(ChangeSetName=change_set.arn)
        status = wait_for_stack(cfn, change_set.stack_id, watcher, sleep)
        say(f"stack {stack}: {status}")
    found = describe_stack(cfn, stack)
    values = outputs(found or {})
    say("outputs:")
    for line in format_outputs(values):
        say(line)
    return values


def destroy_stack(
    stage: StageConfig,
    account: Account,
    say: Say = print,
    sleep: Sleep = time.sleep,
    clients: dict[str, Any] | None = None,
) -> bool:
    """Delete the stage's stack; True if there was one."""
    cfn = (clients or {}).get("cloudformation") or account.client("cloudformation")
    stack = stage.stack_name
    found = describe_stack(cfn, stack)
    if found is None:
        say(f"no stack {stack} in {account.region}: nothing to destroy")
        return False
    status = found["StackStatus"]
    if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise DeployError(f"stack {stack} is busy ({status}); wait for it to finish")
    stack_id = found["StackId"]
    kept = stack_resources(cfn, stack_id)
    watcher = StackWatcher(cfn, stack_id, say)
    watcher.mark_existing()
    say(f"deleting stack {stack}; events:")
    cfn.delete_stack(StackName=stack_id)
    wait_for_stack(cfn, stack_id, watcher, sleep)
    say(f"stack {stack} deleted.")
    table = kept.get("Table") or kept.get("GlobalTable")
    for line in retained_notice(stage, account, table, kept.get("SigningKey")):
        say(line)
    return True


def retained_notice(
    stage: StageConfig, account: Account, table: str | None, key_id: str | None
) -> list[str]:
    region = account.region
    table_text = table or "(none was created)"
    key_text = key_id or "(none was created)"
    lines = [
        "",
        "RETAINED on purpose (DeletionPolicy: Retain), and still billed until you delete them:",
        f"  DynamoDB table  {table_text}   (apps, secret hashes, grants, key records, audit)",
        f"  KMS key         {key_text}   ($1/month; every token it signed stops verifying "
        "once it is gone)",
        "  plus the signing keys the rotation function created that were not yet retired "
        "and scheduled for deletion (tag m2m-auth:stack).",
        "",
        "To delete them for good (irreversible):",
    ]
    if table:
        lines += [
            f"  aws dynamodb update-table --region {region} --table-name {table} "
            "--no-deletion-protection-enabled",
            f"  aws dynamodb delete-table --region {region} --table-name {table}",
        ]
    if key_id:
        lines.append(
            f"  aws kms schedule-key-deletion --region {region} --key-id {key_id} "
            "--pending-window-in-days 7"
        )
    lines += [
        f"  aws resourcegroupstaggingapi get-resources --region {region} "
        "--resource-type-filters kms:key --tag-filters "
        f"Key=m2m-auth:stack,Values={stage.stack_name}",
        "    (then schedule-key-deletion for each rotated key that belonged to "
        f"{stage.stack_name})",
        f"The deployment bucket s3://{bucket_name(account)} keeps the uploaded packages "
        "of every stage: `aws s3 rb --force` it once no stage is deployed.",
    ]
    return lines


# -- command line ---------------------------------------------------------------------


def _confirm(stack: str, region: str) -> bool:
    """Ask on a terminal; without one, only ``--yes`` (``make destroy YES=1``) deletes."""
    if not sys.stdin.isatty():
        return False
    answer = input(f"Delete stack {stack} in {region}? Type the stack name to confirm: ")
    return answer.strip() == stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.deploy", description=__doc__)
    parser.add_argument("command", choices=["deploy", "destroy"])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, default=None, help="build folder (build/<stage>)")
    parser.add_argument("--yes", action="store_true", help="destroy without asking")
    parser.add_argument(
        "--allow-data-replacement",
        action="store_true",
        help="deploy even if the table or the signing key would be replaced",
    )
    args = parser.parse_args(argv)
    prefix = f"make {args.command}"
    try:
        stage = load_stage(args.stage)
        account = preflight()
        print(f"AWS account {account.account_id}, region {account.region}, "
              f"as {account.caller_arn}")
        if stage.multi_region:
            if args.command == "deploy":
                regions.run_regions(stage, account, args.allow_data_replacement,
                                    deploy_package)
                return 0
            if not args.yes and not _confirm(stage.stack_name, ", ".join(stage.regions)):
                print(f"{prefix}: not confirmed, nothing deleted (without a terminal, "
                      "confirm with --yes, i.e. `make destroy YES=1`)", file=sys.stderr)
                return 1
            regions.destroy_regions(stage, account, destroy_stack)
            return 0
        if stage.regions:  # one region named by the stage wins over the environment's
            account = account.in_region(stage.regions[0])
        if args.command == "deploy":
            problem = account_logging_problem(account, stage)
            if problem:
                raise DeployError(problem)
            built = package(args.stage, args.out)
            deploy_package(built, account, allow_data_replacement=args.allow_data_replacement)
        else:
            if not args.yes and not _confirm(stage.stack_name, account.region):
                print(f"{prefix}: not confirmed, nothing deleted (without a terminal, "
                      "confirm with --yes, i.e. `make destroy YES=1`)", file=sys.stderr)
                return 1
            destroy_stack(stage, account)
    except (StageError, PreflightError) as exc:
        print(f"{prefix}: {exc}", file=sys.stderr)
        return 2
    except (DeployError, PackageError, ArtifactError, StackError,
            regions.RegionsFailed) as exc:
        print(f"{prefix}: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"{prefix}: AWS error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
