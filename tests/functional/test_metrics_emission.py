"""Token requests write EMF metrics and one structured outcome line, never a client id
in a metric, and never at the cost of the response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import runtime
from chalicelib.aws import metrics
from chalicelib.store.records import KeyState
from tests.conftest import TABLE, AwsBackend, Demo, make_settings, seed_demo
from tests.fakes import FakeClock
from tests.functional.conftest import FORM, basic, form, token_request

NAMESPACE = "m2m-auth/test-stack"


class Captured:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def emf(self) -> dict[str, Any]:
        """Metric name -> (value, unit, dimension sets, Reason or GrantType) over every
        EMF line."""
        found: dict[str, Any] = {}
        for document in self.documents():
            for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
                assert directive["Namespace"] == NAMESPACE
                for metric in directive["Metrics"]:
                    found[metric["Name"]] = (document[metric["Name"]], metric["Unit"],
                                             directive["Dimensions"],
                                             document.get("Reason", document.get("GrantType")))
        return found

    def outcomes(self) -> list[dict[str, Any]]:
        return [d for d in self.documents() if d.get("event") == "token_outcome"]


@pytest.fixture
def captured(aws: AwsBackend, clock: FakeClock) -> Iterator[tuple[Captured, Any, Demo]]:
    from chalicelib.aws.kms_signer import KmsSigner
    from chalicelib.store.dynamodb import DynamoDBStore

    sink = Captured()
    recorder = metrics.EmfRecorder(NAMESPACE, write=sink.lines.append)
    services = runtime.build_services(
        make_settings(), DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms, recorder), clock
    )
    services.keyring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    demo = seed_demo(services)
    import app as chalice_app

    runtime.install(services)
    metrics.use(recorder)
    try:
        with Client(chalice_app.app) as client:
            yield sink, client.http, demo
    finally:
        metrics.use(metrics.NullRecorder())


def test_an_issued_token_emits_tokens_issued_and_kms_sign_latency(
    captured: tuple[Captured, Any, Demo],
) -> None:
    sink, http, demo = captured

    assert token_request(http, demo).status_code == 200

    emf = sink.emf()
    assert set(emf) == {"TokensIssued", "KmsSignLatency"}
    assert emf["TokensIssued"] == (1, "Count", [["GrantType"], []], "client_credentials")
    latency, unit, dimensions, _ = emf["KmsSignLatency"]
    assert (unit, dimensions) == ("Milliseconds", [[]]) and latency >= 0
    assert sink.outcomes() == [{"event": "token_outcome", "client_id": demo.client_id,
                                "outcome": "issued", "reason": None,
                                "grant_type": "client_credentials"}]
    emf_text = json.dumps([d for d in sink.documents() if "_aws" in d])
    assert demo.client_id not in emf_text and demo.client_secret not in "".join(sink.lines)


def test_a_wrong_secret_counts_a_refusal_by_reason_and_an_authentication_failure(
    captured: tuple[Captured, Any, Demo],
) -> None:
    sink, http, demo = captured

    response = http.post(
        "/oauth/token",
        headers={**FORM, **basic(demo.client_id, "m2msec_wrong")},
        body=form(grant_type="client_credentials", audience="https://api.example.com/orders"),
    )

    assert response.status_code == 401
    emf = sink.emf()
    assert emf["TokensRefused"] == (1, "Count", [["Reason"], []], "invalid_client")
    assert emf["AuthenticationFailures"][:3] == (1, "Count", [[]])
    assert "TokensIssued" not in emf and "KmsSignLatency" not in emf
    assert sink.outcomes() == [{"event": "token_outcome", "client_id": demo.client_id,
                                "outcome": "refused", "reason": "invalid_client",
                                "grant_type": "client_credentials"}]
    assert "m2msec_wrong" not in "".join(sink.lines)


def test_a_refusal_without_credentials_logs_no_client(
    captured: tuple[Captured, Any, Demo],
) -> None:
    sink, http, _ = captured

    response = http.post("/oauth/token", headers=FORM,
                         body=form(grant_type="password", client_id="x", client_secret="y"))

    assert response.status_code == 400
    assert sink.emf()["TokensRefused"][3] == "unsupported_grant_type"
    assert sink.outcomes()[0]["grant_type"] == "other"  # an unknown value is never echoed
    # "x" is not the shape of a client id: never logged (it could be a swapped secret)
    assert sink.outcomes()[0]["client_id"] == "<malformed>"


def test_a_client_assertion_request_logs_the_client_id_it_names(
    captured: tuple[Captured, Any, Demo],
) -> None:
    # GIVEN a secretless client (an assertion method) that names itself in client_id
    sink, http, demo = captured

    response = http.post("/oauth/token", headers=FORM, body=form(
        grant_type="client_credentials", audience="https://api.example.com/orders",
        client_id=demo.client_id,
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion="not.a.jwt"))

    # THEN the top-clients rules still see which app it claimed to be
    assert response.status_code == 401
    assert sink.outcomes() == [{"event": "token_outcome", "client_id": demo.client_id,
                                "outcome": "refused", "reason": "invalid_client",
                                "grant_type": "client_credentials"}]
    assert "not.a.jwt" not in "".join(sink.lines)


def test_introspection_with_a_bad_client_counts_an_authentication_failure_only(
    captured: tuple[Captured, Any, Demo],
) -> None:
    sink, http, demo = captured

    response = http.post("/oauth/introspect",
                         headers={**FORM, **basic(demo.client_id, "m2msec_wrong")},
                         body=form(token="abc"))

    assert response.status_code == 401
    assert set(sink.emf()) == {"AuthenticationFailures"}
    assert sink.outcomes() == []


def test_a_failing_recorder_never_changes_the_response(
    captured: tuple[Captured, Any, Demo],
) -> None:
    _, http, demo = captured

    class Broken(metrics.NullRecorder):
        def flush(self) -> None:
            raise OSError("stdout closed")

    metrics.use(Broken())
    assert token_request(http, demo).status_code == 200
