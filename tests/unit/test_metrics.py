"""The embedded-metric-format emitter (chalicelib/aws/metrics.py): names, units, dimensions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.aws import metrics
from chalicelib.config import Settings
from chalicelib.runtime import metrics_recorder

NAMESPACE = "m2m-auth/m2m-auth-dev"


def _emit(**recorded: Any) -> list[dict[str, Any]]:
    lines: list[str] = []
    recorder = metrics.EmfRecorder(NAMESPACE, write=lines.append, clock=lambda: 1700000000.5)
    for call in recorded["calls"]:
        recorder.record(*call[:2], reason=call[2] if len(call) > 2 else None)
    recorder.flush()
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    return [json.loads(line) for line in lines]


def _directives(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for directive in document["_aws"]["CloudWatchMetrics"]:
        assert directive["Namespace"] == NAMESPACE
        for metric in directive["Metrics"]:
            found[metric["Name"]] = {"Unit": metric["Unit"], "Dimensions": directive["Dimensions"]}
    return found


def test_writes_counts_and_latency_without_dimensions_in_one_document() -> None:
    (document,) = _emit(calls=[(metrics.AUTHENTICATION_FAILURES, 1),
                               (metrics.KMS_SIGN_LATENCY, 12.5)])

    assert document["_aws"]["Timestamp"] == 1700000000500
    assert _directives(document) == {
        "AuthenticationFailures": {"Unit": "Count", "Dimensions": [[]]},
        "KmsSignLatency": {"Unit": "Milliseconds", "Dimensions": [[]]},
    }
    assert document["AuthenticationFailures"] == 1
    assert document["KmsSignLatency"] == 12.5


def test_refusals_carry_the_reason_dimension_and_a_total() -> None:
    documents = _emit(calls=[
        (metrics.TOKENS_REFUSED, 1, "invalid_client"),
        (metrics.AUTHENTICATION_FAILURES, 1, "ignored: not a dimension of this metric"),
    ])

    by_reason = {d.get("Reason"): d for d in documents}
    assert set(by_reason) == {"invalid_client", None}
    refused = by_reason["invalid_client"]
    assert _directives(refused) == {
        "TokensRefused": {"Unit": "Count", "Dimensions": [["Reason"], []]},
    }
    assert refused["TokensRefused"] == 1
    assert _directives(by_reason[None]) == {
        "AuthenticationFailures": {"Unit": "Count", "Dimensions": [[]]},
    }


def test_tokens_issued_carry_the_grant_type_dimension_and_a_total() -> None:
    exchange = "urn:ietf:params:oauth:grant-type:token-exchange"
    lines: list[str] = []
    recorder = metrics.EmfRecorder(NAMESPACE, write=lines.append)
    recorder.record(metrics.TOKENS_ISSUED, grant_type="client_credentials")
    recorder.record(metrics.TOKENS_ISSUED, grant_type=exchange)
    recorder.record(metrics.TOKENS_ISSUED, grant_type=exchange)
    recorder.record(metrics.TOKENS_ISSUED)  # no grant type known
    recorder.flush()

    by_type = {d["GrantType"]: d for d in map(json.loads, lines)}
    assert set(by_type) == {"client_credentials", exchange, "other"}
    assert by_type[exchange]["TokensIssued"] == [1, 1]
    assert _directives(by_type[exchange]) == {
        "TokensIssued": {"Unit": "Count", "Dimensions": [["GrantType"], []]},
    }


def test_repeated_values_become_a_list_and_flush_starts_over() -> None:
    lines: list[str] = []
    recorder = metrics.EmfRecorder(NAMESPACE, write=lines.append)
    recorder.record(metrics.KMS_SIGN_LATENCY, 3)
    recorder.record(metrics.KMS_SIGN_LATENCY, 4)
    recorder.flush()
    recorder.flush()

    assert len(lines) == 1
    assert json.loads(lines[0])["KmsSignLatency"] == [3, 4]


def test_every_declared_metric_uses_only_bounded_dimensions() -> None:
    for name, (unit, dimension_sets) in metrics.METRICS.items():
        assert unit in ("Count", "Milliseconds"), name
        for dimension_set in dimension_sets:
            assert set(dimension_set) <= {metrics.REASON, metrics.GRANT_TYPE}, name


def test_refuses_a_metric_it_does_not_declare() -> None:
    recorder = metrics.EmfRecorder(NAMESPACE, write=lambda line: None)
    with pytest.raises(ValueError, match="unknown metric"):
        recorder.record("TokensIssuedPerClient")


def test_outcome_line_is_separate_json_and_metrics_name_no_client() -> None:
    lines: list[str] = []
    recorder = metrics.EmfRecorder(NAMESPACE, write=lines.append)
    recorder.record(metrics.TOKENS_REFUSED, reason="invalid_scope")
    recorder.outcome("app_0123", "refused", "invalid_scope", "client_credentials")
    recorder.flush()

    outcome, emf = (json.loads(line) for line in lines)
    assert outcome == {"event": "token_outcome", "client_id": "app_0123", "outcome": "refused",
                       "reason": "invalid_scope", "grant_type": "client_credentials"}
    assert "_aws" not in outcome
    assert "app_0123" not in json.dumps(emf)


def test_local_mode_records_nothing_and_aws_uses_the_stack_namespace() -> None:
    local = Settings.from_env({"TABLE_NAME": "t", "M2M_LOCAL_MODE": "1"})
    deployed = Settings.from_env({"TABLE_NAME": "t", "M2M_STACK": "m2m-auth-dev"})

    assert isinstance(metrics_recorder(local), metrics.NullRecorder)
    recorder = metrics_recorder(deployed)
    assert isinstance(recorder, metrics.EmfRecorder)
    lines: list[str] = []
    recorder._write = lines.append  # noqa: SLF001 - where the line goes is not the point
    recorder.record(metrics.TOKENS_ISSUED)
    recorder.flush()
    assert json.loads(lines[0])["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE


def test_without_a_writer_lines_go_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    recorder = metrics.EmfRecorder(NAMESPACE)
    recorder.record(metrics.AUTHENTICATION_FAILURES)
    recorder.flush()
    recorder.flush()  # nothing recorded since: nothing written

    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["AuthenticationFailures"] == 1
