"""Declarative configuration: `m2m export` and `m2m apply -f m2m.yaml` (docs/declarative.md).

`document` reads and writes the file, `state` reads the server, `plan` (pure) compares
the two, `apply` runs the plan through the admin API.
"""

from __future__ import annotations

from m2m_client.declarative.apply import ApplyFailed, ApplyResult, NewSecret, execute, plan_lines
from m2m_client.declarative.document import (
    DocumentError,
    dump_yaml,
    export_document,
    parse_document,
    validate_document,
)
from m2m_client.declarative.plan import Plan, PlanError, Step, make_plan
from m2m_client.declarative.state import read_state

__all__ = [
    "ApplyFailed", "ApplyResult", "DocumentError", "NewSecret", "Plan", "PlanError", "Step",
    "dump_yaml", "execute", "export_document", "make_plan", "parse_document", "plan_lines",
    "read_state", "validate_document",
]
