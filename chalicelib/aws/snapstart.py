"""Lambda SnapStart runtime hooks: code run before Lambda snapshots an initialised
function and after it restores a container from that snapshot (docs/runtime.md).

The hooks come from the ``snapshot_restore_py`` module that the Lambda Python
runtimes (3.12 and later) include. It is not a requirement (the runtime's own copy
is the one that talks to Lambda), so it is imported guardedly: nothing is
registered where it is absent (tests, local mode, python3.11). Lambda runs the
hooks only when SnapStart is on.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from types import ModuleType

log = logging.getLogger(__name__)

Hook = Callable[[], None]
HOOKS_MODULE = "snapshot_restore_py"


def _hooks_module() -> ModuleType | None:
    try:
        return importlib.import_module(HOOKS_MODULE)
    except ImportError:
        return None


def register(before_snapshot: Hook, after_restore: Hook) -> bool:
    """Register both hooks with the Lambda runtime; False where it has none."""
    hooks = _hooks_module()
    if hooks is None:
        return False
    hooks.register_before_snapshot(_logged("before_snapshot", before_snapshot))
    hooks.register_after_restore(_logged("after_restore", after_restore))
    return True


def _logged(name: str, hook: Hook) -> Hook:
    """The hook, with one log line when it fails: a failing before-snapshot hook
    fails the version's publication, a failing after-restore hook the restore."""

    def run() -> None:
        try:
            hook()
        except Exception:
            log.exception("SnapStart %s hook failed", name)
            raise

    return run
