"""The aws_sigv4 assertion method on the in-memory store: principal → app mapping and
the checks around it (the STS answer is a fake; signatures are covered in
test_aws_sigv4.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import InvalidClient, TemporarilyUnavailable
from chalicelib.oauth.assertion import AWS_SIGV4, ClientAssertion
from chalicelib.oauth.aws_iam import AwsIamMethod
from chalicelib.store.memory import MemoryStore
from chalicelib.store.records import App, ClientSecret
from tests.aws_sigv4_support import (
    ISSUER,
    NOW,
    ROLE_ARN,
    SignatureCheckingSts,
    assertion_of,
    json_reply,
    sign,
)

CLIENT_ID = "a" * 26


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    store.create_app(App(CLIENT_ID, "Billing"), ClientSecret("sec_1", "v1$x$y", NOW))
    return store


def authenticate(store: MemoryStore, sts: SignatureCheckingSts, client_id: str | None = None,
                 assertion: str | None = None) -> str:
    method = AwsIamMethod(store, sts, frozenset({"us-east-1"}))
    presented = ClientAssertion(AWS_SIGV4, assertion or assertion_of(sign()), client_id)
    return method.authenticate(presented, ISSUER, NOW).app.client_id


def test_handles_only_its_assertion_type(store: MemoryStore) -> None:
    method = AwsIamMethod(store, SignatureCheckingSts(), frozenset({"us-east-1"}))

    assert method.handles(ClientAssertion(AWS_SIGV4, "x"))
    assert not method.handles(ClientAssertion(AWS_SIGV4.replace("aws-sigv4", "jwt"), "x"))


def test_maps_the_assumed_role_to_the_app_listing_the_role(store: MemoryStore) -> None:
    from chalicelib.admin.provisioning import Provisioning

    Provisioning(store, lambda: float(NOW)).add_aws_principal(CLIENT_ID, ROLE_ARN)

    assert authenticate(store, SignatureCheckingSts()) == CLIENT_ID


def test_refuses_when_the_apps_own_partition_no_longer_lists_the_principal(
    store: MemoryStore,
) -> None:
    # a lookup item without its principal item (never written so; defence in depth)
    from chalicelib.admin.provisioning import Provisioning

    Provisioning(store, lambda: float(NOW)).add_aws_principal(CLIENT_ID, ROLE_ARN)
    listed = store.get_credentials(CLIENT_ID)
    assert listed is not None and listed.aws_principals
    without = replace(listed, aws_principals=())
    store.get_credentials = lambda client_id: without  # type: ignore[method-assign]

    with pytest.raises(InvalidClient):
        authenticate(store, SignatureCheckingSts())


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123456789012:root",
    "arn:aws:sts::123456789012:federated-user/Billing",
    "arn:aws:iam::123456789012:role/Billing",  # a role ARN is never what STS answers
])
def test_refuses_answers_that_are_not_an_assumed_role_or_a_user(
    store: MemoryStore, arn: str
) -> None:
    from chalicelib.admin.provisioning import Provisioning

    Provisioning(store, lambda: float(NOW)).add_aws_principal(CLIENT_ID, ROLE_ARN)
    sts = SignatureCheckingSts(answer=json_reply(arn))

    with pytest.raises(InvalidClient):
        authenticate(store, sts)


def test_sts_down_is_temporarily_unavailable(store: MemoryStore) -> None:
    with pytest.raises(TemporarilyUnavailable):
        authenticate(store, SignatureCheckingSts(down=True))
