"""Per-app token quotas and usage counts (issue 9 §2), through the app on moto:
fresh tokens are counted atomically outside the app's partition, an enforced quota
refuses with 429 while reused tokens keep being served, monitor mode only warns."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.config import ConfigurationError
from chalicelib.oauth.quota import QuotaExceeded
from chalicelib.store.dynamodb import DynamoDBStore
from tests.conftest import AUDIENCE, ISSUER, TABLE, AwsBackend, Demo, make_settings, seed_demo
from tests.fakes import FakeClock
from tests.functional.admin_helpers import error_fields, problem, send
from tests.functional.conftest import body_json, token_request
from tests.unit.oauth_client import basic, form_request

JSON = {"Content-Type": "application/json"}
HOUR = 3600


def admin(http: Any, method: str, path: str, body: Any = None) -> Any:
    response = send(http, method, "/admin" + path, body)
    assert response.status_code < 300, response.body
    return body_json(response) if response.body else None


def set_quota(http: Any, demo: Demo, quota: Any) -> None:
    admin(http, "PATCH", f"/apps/{demo.client_id}", {"quota": quota})


def reuse_off(http: Any, demo: Demo) -> None:
    admin(http, "PATCH", f"/apis/{demo.api_id}", {"token_reuse": None})


@pytest.fixture
def wide(moto_services: runtime.Services) -> Demo:
    return seed_demo(moto_services, scopes=("orders:read", "orders:write"))


@pytest.fixture
def at_hour_start(clock: FakeClock) -> FakeClock:
    """Ten minutes into a UTC hour (resets are 3000 s away, the day's further)."""
    clock.now = float(int(clock.now) - int(clock.now) % HOUR + 600)
    return clock


# ---- enforced ------------------------------------------------------------------------


def test_enforced_quota_refuses_the_next_fresh_token_with_429_while_reused_ones_are_served(
    http: Any, wide: Demo, at_hour_start: FakeClock
) -> None:
    set_quota(http, wide, {"per_hour": 2, "per_day": 100})
    read = token_request(http, wide, scope="orders:read")
    write = token_request(http, wide, scope="orders:write")
    assert read.status_code == write.status_code == 200
    assert read.headers["RateLimit-Policy"] == '"hour";q=2;w=3600, "day";q=100;w=86400'
    assert write.headers["RateLimit"].startswith('"hour";r=0;t=3000, "day";r=98;t=')

    # WHEN a third fresh token is asked for
    refused = token_request(http, wide, scope="orders:read orders:write")

    # THEN 429 in the RFC 6749 §5.2 shape, with Retry-After and the RateLimit fields
    assert refused.status_code == 429
    assert body_json(refused)["error"] == "too_many_requests"
    assert set(body_json(refused)) == {"error", "error_description"}
    assert refused.headers["Retry-After"] == "3000"
    assert refused.headers["Cache-Control"] == "no-store"
    assert refused.headers["RateLimit-Policy"] == '"hour";q=2;w=3600, "day";q=100;w=86400'
    assert refused.headers["RateLimit"].startswith('"hour";r=0;t=3000, "day";r=98;t=')
    # AND a token already issued is still served (reuse never counts)
    again = token_request(http, wide, scope="orders:read")
    assert again.status_code == 200
    assert body_json(again)["access_token"] == body_json(read)["access_token"]
    assert again.headers["RateLimit"].startswith('"hour";r=0;')


def test_retry_after_is_the_time_until_the_day_resets_when_the_day_is_used_up(
    http: Any, demo: Demo, at_hour_start: FakeClock
) -> None:
    reuse_off(http, demo)
    set_quota(http, demo, {"per_day": 1})
    assert token_request(http, demo).status_code == 200

    refused = token_request(http, demo)

    now = int(at_hour_start.now)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(86400 - now % 86400)
    assert refused.headers["RateLimit-Policy"] == '"day";q=1;w=86400'


def test_the_window_resets(http: Any, demo: Demo, at_hour_start: FakeClock) -> None:
    reuse_off(http, demo)
    set_quota(http, demo, {"per_hour": 1})
    assert token_request(http, demo).status_code == 200
    assert token_request(http, demo).status_code == 429

    at_hour_start.advance(2999)
    assert token_request(http, demo).status_code == 429
    at_hour_start.advance(1)  # the next UTC hour

    renewed = token_request(http, demo)
    assert renewed.status_code == 200
    assert renewed.headers["RateLimit"] == '"hour";r=0;t=3600'


def test_apps_without_a_quota_get_no_ratelimit_fields(http: Any, demo: Demo) -> None:
    response = token_request(http, demo)
    assert response.status_code == 200
    assert "RateLimit" not in response.headers and "RateLimit-Policy" not in response.headers


def test_a_refused_token_costs_no_kms_call(
    http: Any, demo: Demo, aws: AwsBackend
) -> None:
    reuse_off(http, demo)
    set_quota(http, demo, {"per_hour": 1})
    token_request(http, demo)
    aws.counter.reset()

    assert token_request(http, demo).status_code == 429
    assert aws.counter.calls == {"dynamodb:Query": 1, "dynamodb:UpdateItem": 1}


# ---- monitor mode ----------------------------------------------------------------------


def test_monitor_mode_never_refuses_and_logs_the_overrun_as_a_warning(
    http: Any, demo: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    reuse_off(http, demo)
    set_quota(http, demo, {"per_hour": 1, "enforce": False})

    with caplog.at_level(logging.INFO, logger="chalicelib"):
        statuses = [token_request(http, demo).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"token quota exceeded (monitor mode) client_id={demo.client_id} hour=2/1",
        f"token quota exceeded (monitor mode) client_id={demo.client_id} hour=3/1",
    ]


# ---- races -----------------------------------------------------------------------------


@pytest.fixture
def atomic_requests(aws: AwsBackend) -> None:
    """A lock per DynamoDB request models its per-request atomicity (moto has none);
    requests of different threads still interleave freely (GUIDE field notes)."""
    lock = threading.Lock()
    make_call = aws.dynamodb._make_api_call

    def atomic(operation: str, params: Any) -> Any:
        with lock:
            return make_call(operation, params)

    aws.dynamodb._make_api_call = atomic


def test_twenty_racing_requests_against_a_quota_of_ten_get_exactly_ten_fresh_tokens(
    atomic_requests: None, aws: AwsBackend, clock: FakeClock,
    moto_services: runtime.Services, demo: Demo,
) -> None:
    # GIVEN two containers on one table, no reuse, an enforced quota of 10 an hour
    p = moto_services.provisioning
    p.update_api(demo.api_id, {"token_reuse": None})
    p.update_app(demo.client_id, {"quota": {"per_hour": 10}})
    other = runtime.build_services(
        make_settings(), DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock
    )
    containers = [moto_services, other]
    barrier = threading.Barrier(20)
    outcomes: Counter[str] = Counter()
    tokens: set[str] = set()
    lock = threading.Lock()

    def ask(i: int) -> None:
        request = form_request({"grant_type": "client_credentials", "audience": AUDIENCE},
                               basic(demo.client_id, demo.client_secret))
        barrier.wait()
        try:
            token = containers[i % 2].token.handle(request, ISSUER).access_token
            outcome = "ok"
        except QuotaExceeded:
            outcome, token = "429", ""
        except Exception as exc:  # counted, so the assertion shows it
            outcome, token = type(exc).__name__, ""
        with lock:
            outcomes[outcome] += 1
            tokens.add(token)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes == Counter({"ok": 10, "429": 10})
    assert len(tokens - {""}) == 10
    _, usage = p.usage(demo.client_id)
    assert usage.hourly[-1][1] == 10 and usage.daily[-1][1] == 10


# ---- usage -----------------------------------------------------------------------------


def test_usage_shows_48_hourly_and_30_daily_counts_of_fresh_tokens_only(
    http: Any, demo: Demo, at_hour_start: FakeClock
) -> None:
    token_request(http, demo)
    token_request(http, demo)  # reused: not counted
    at_hour_start.advance(HOUR)
    admin(http, "POST", f"/apps/{demo.client_id}/revoke-tokens", {})
    token_request(http, demo)
    token_request(http, demo)  # reused

    usage = admin(http, "GET", f"/apps/{demo.client_id}/usage")

    assert usage["client_id"] == demo.client_id and usage["quota"] is None
    assert len(usage["hourly"]) == 48 and len(usage["daily"]) == 30
    assert [h["count"] for h in usage["hourly"][-2:]] == [1, 1]
    assert sum(h["count"] for h in usage["hourly"]) == 2
    now = int(at_hour_start.now)
    assert usage["hourly"][-1]["start"] == _iso(now - now % HOUR)
    assert usage["daily"][-1]["start"] == _iso(now - now % 86400)
    assert sum(d["count"] for d in usage["daily"]) == 2


def test_usage_keeps_thirty_days(http: Any, demo: Demo, clock: FakeClock) -> None:
    reuse_off(http, demo)
    token_request(http, demo)
    clock.advance(29 * 86400)
    token_request(http, demo)

    usage = admin(http, "GET", f"/apps/{demo.client_id}/usage")
    assert [d["count"] for d in usage["daily"]][0] == 1
    assert [d["count"] for d in usage["daily"]][-1] == 1
    clock.advance(86400)
    assert sum(d["count"] for d in admin(http, "GET",
                                         f"/apps/{demo.client_id}/usage")["daily"]) == 1


def test_usage_of_an_unknown_app_is_a_404_problem(http: Any) -> None:
    problem(send(http, "GET", "/admin/apps/" + "a" * 26 + "/usage"), 404, "not-found")


def test_counters_stay_out_of_the_token_query(
    http: Any, demo: Demo, aws: AwsBackend
) -> None:
    reuse_off(http, demo)
    for _ in range(3):
        token_request(http, demo)
    partition = aws.dynamodb.query(
        TableName=TABLE, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"APP#{demo.client_id}"}},
    )["Items"]
    assert all(not i["sk"]["S"].startswith("DAY#") for i in partition)
    [counter] = aws.dynamodb.query(
        TableName=TABLE, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USAGE#{demo.client_id}"}},
    )["Items"]
    day = int(counter["sk"]["S"] != "") and datetime.strptime(
        counter["sk"]["S"][4:], "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    assert int(counter["ttl"]["N"]) - day >= 30 * 86400 + 86400  # kept >= 30 days after


# ---- the quota setting ---------------------------------------------------------------


def test_quota_is_set_on_create_and_update_and_removed_with_null(http: Any) -> None:
    created = send(http, "POST", "/admin/apps", {
        "name": "Partner", "quota": {"per_hour": 100, "enforce": False}})
    app = body_json(created)
    assert app["quota"] == {"per_hour": 100, "per_day": None, "enforce": False}
    updated = admin(http, "PATCH", f"/apps/{app['client_id']}",
                    {"quota": {"per_day": 5000}})
    assert updated["quota"] == {"per_hour": None, "per_day": 5000, "enforce": True}
    assert admin(http, "PATCH", f"/apps/{app['client_id']}", {"quota": None})["quota"] is None


@pytest.mark.parametrize(
    ("quota", "fields"),
    [
        ({}, ["quota"]),
        ({"enforce": True}, ["quota"]),
        ({"per_hour": 0}, ["quota.per_hour"]),
        ({"per_hour": -1}, ["quota.per_hour"]),
        ({"per_hour": 1.5}, ["quota.per_hour"]),
        ({"per_hour": "10"}, ["quota.per_hour"]),
        ({"per_hour": True}, ["quota.per_hour"]),
        ({"per_day": 10**10}, ["quota.per_day"]),
        ({"per_day": 10, "enforce": "yes"}, ["quota.enforce"]),
        ({"per_day": 10, "burst": 3}, ["quota.burst"]),
        ([10], ["quota"]),
        ("10/h", ["quota"]),
        (10, ["quota"]),
    ],
)
def test_rejects_bad_quota_payloads_with_a_problem(
    http: Any, demo: Demo, quota: Any, fields: list[str]
) -> None:
    created = send(http, "POST", "/admin/apps", {"name": "Partner", "quota": quota})
    assert error_fields(problem(created, 400, "validation")) == fields
    updated = send(http, "PATCH", f"/admin/apps/{demo.client_id}", {"quota": quota})
    assert error_fields(problem(updated, 400, "validation")) == fields


def test_the_stage_default_quota_applies_to_new_apps_without_one(
    aws: AwsBackend, clock: FakeClock
) -> None:
    settings = make_settings(DEFAULT_APP_QUOTA=json.dumps({"per_day": 1000, "enforce": False}))
    services = runtime.build_services(
        settings, DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock
    )
    app, _ = services.provisioning.create_app(name="New")
    explicit, _ = services.provisioning.create_app(name="Unlimited", quota=None)

    assert app.quota is not None and (app.quota.per_day, app.quota.enforce) == (1000, False)
    assert explicit.quota is None


@pytest.mark.parametrize("value", ["{", "[]", '{"per_hour": 0}', '{"enforce": true}'])
def test_rejects_a_bad_stage_default_quota(value: str) -> None:
    with pytest.raises(ConfigurationError, match="DEFAULT_APP_QUOTA"):
        make_settings(DEFAULT_APP_QUOTA=value)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
