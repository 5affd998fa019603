"""SnapStart: the runtime hooks the composition root registers (chalicelib/runtime.py,
chalicelib/aws/snapstart.py), with a fake of the Lambda runtime's snapshot_restore_py."""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.aws import snapstart

PROJECT = Path(__file__).resolve().parents[2]


class FakeLambdaHooks:
    """What snapshot_restore_py offers: registration, and Lambda running the hooks."""

    def __init__(self) -> None:
        self.before: list[Callable[[], None]] = []
        self.after: list[Callable[[], None]] = []

    def module(self) -> types.ModuleType:
        module = types.ModuleType(snapstart.HOOKS_MODULE)
        module.register_before_snapshot = self.before.append  # type: ignore[attr-defined]
        module.register_after_restore = self.after.append  # type: ignore[attr-defined]
        return module

    def snapshot(self) -> None:
        for hook in reversed(self.before):  # Lambda: reverse order of registration
            hook()

    def restore(self) -> None:
        for hook in self.after:
            hook()


@pytest.fixture
def lambda_hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLambdaHooks]:
    fake = FakeLambdaHooks()
    monkeypatch.setitem(sys.modules, snapstart.HOOKS_MODULE, fake.module())
    yield fake


def test_the_composition_root_registers_one_hook_of_each_kind(
    lambda_hooks: FakeLambdaHooks,
) -> None:
    assert runtime.register_snapstart_hooks() is True
    assert (len(lambda_hooks.before), len(lambda_hooks.after)) == (1, 1)


def test_without_the_lambda_runtime_nothing_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, snapstart.HOOKS_MODULE, None)  # import fails
    assert runtime.register_snapstart_hooks() is False


def test_importing_the_handler_registers_the_hooks_where_lambda_offers_them() -> None:
    # A fresh interpreter, as Lambda's INIT: the fake module first, then the handler
    code = (
        "import json, sys, types\n"
        "calls = []\n"
        "m = types.ModuleType('snapshot_restore_py')\n"
        "m.register_before_snapshot = lambda f: calls.append('before')\n"
        "m.register_after_restore = lambda f: calls.append('after')\n"
        "sys.modules['snapshot_restore_py'] = m\n"
        "import app\n"
        "print(json.dumps(calls))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT,  # noqa: S603
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["before", "after"]


def test_restored_containers_do_not_share_the_snapshots_random_sequence(
    lambda_hooks: FakeLambdaHooks,
) -> None:
    runtime.register_snapstart_hooks()
    snapshot = random.getstate()  # what every container restored from one snapshot holds
    # Without the hook, two containers would draw the same numbers (botocore's jitter)
    first_plain = random.random()
    random.setstate(snapshot)
    assert random.random() == first_plain
    # With it, each restored container draws its own
    draws = []
    for _container in range(2):
        random.setstate(snapshot)
        lambda_hooks.restore()
        draws.append(random.random())
    assert draws[0] != draws[1] and first_plain not in draws


def test_services_built_before_the_snapshot_are_built_again_after_restore(
    lambda_hooks: FakeLambdaHooks, monkeypatch: pytest.MonkeyPatch,
    memory_services: runtime.Services,
) -> None:
    runtime.register_snapstart_hooks()
    # GIVEN services (clients, connections, caches) that exist when the snapshot is taken
    runtime.install(memory_services)
    rebuilt: list[runtime.Services] = []

    def build() -> runtime.Services:
        rebuilt.append(memory_services)
        return memory_services

    monkeypatch.setattr(runtime, "build_default_services", build)
    assert runtime.services() is memory_services and rebuilt == []
    # WHEN a container is restored from it THEN its first request builds its own
    lambda_hooks.restore()
    runtime.services()
    assert len(rebuilt) == 1


def test_the_snapshot_hook_builds_no_services(
    lambda_hooks: FakeLambdaHooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.register_snapstart_hooks()

    def refuse() -> Any:
        raise AssertionError("built before the snapshot")

    monkeypatch.setattr(runtime, "build_default_services", refuse)
    lambda_hooks.snapshot()
    assert runtime._services is None


def test_the_snapshot_holds_every_module_the_first_request_imports() -> None:
    # A fresh interpreter: after the before-snapshot hook, building the services for
    # the first request (offline: clients are built, never called) imports nothing new
    # of ours, the SDK, cryptography or PyJWT
    code = (
        "import json, sys\n"
        "import app\n"
        "from chalicelib import runtime\n"
        "runtime.prepare_snapshot()\n"
        "before = set(sys.modules)\n"
        "runtime.build_default_services()\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "TABLE_NAME": "t",
           "SIGNING_KEY_ID": "alias/t"}
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env,  # noqa: S603
                         capture_output=True, text=True, check=True)
    late = [m for m in json.loads(out.stdout)
            if m.split(".")[0] in {"chalicelib", "boto3", "cryptography", "jwt"}]
    assert late == []


def test_a_failing_hook_is_logged_and_still_fails(
    lambda_hooks: FakeLambdaHooks, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("no")

    snapstart.register(broken, broken)
    with caplog.at_level(logging.ERROR, logger="chalicelib.aws.snapstart"), \
            pytest.raises(RuntimeError):
        lambda_hooks.restore()
    assert "SnapStart after_restore hook failed" in caplog.text
