"""Settings for AWS IAM client authentication: the STS region allow-list, and the STS
address override that only local mode honours."""

from __future__ import annotations

import pytest

from chalicelib.config import ConfigurationError, Settings

BASE = {"TABLE_NAME": "t", "AWS_REGION": "eu-central-1"}


def test_regions_default_to_the_services_own_region() -> None:
    assert Settings.from_env(BASE).aws_iam_regions == frozenset({"eu-central-1"})


def test_regions_are_a_comma_separated_list() -> None:
    settings = Settings.from_env({**BASE, "AWS_IAM_STS_REGIONS": "us-east-1, eu-west-1,"})

    assert settings.aws_iam_regions == frozenset({"us-east-1", "eu-west-1"})


@pytest.mark.parametrize("value", ["us-east-1,evil.example", "US-EAST-1", "us-east-1/x"])
def test_rejects_what_is_not_a_region(value: str) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env({**BASE, "AWS_IAM_STS_REGIONS": value})


def test_sts_endpoint_override_is_ignored_outside_local_mode() -> None:
    env = {**BASE, "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
           "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:5001"}

    assert Settings.from_env(env).sts_connect_to is None
    assert Settings.from_env({**env, "M2M_LOCAL_MODE": "1"}).sts_connect_to == (
        "http://127.0.0.1:5001"
    )
    del env["AWS_ENDPOINT_URL_STS"]
    assert Settings.from_env({**env, "M2M_LOCAL_MODE": "1"}).sts_connect_to == (
        "http://127.0.0.1:5000"
    )
