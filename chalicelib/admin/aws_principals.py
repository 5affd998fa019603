"""Admin use cases for the IAM principals an app authenticates as (docs/aws-iam-auth.md).

Principals are immutable: add and remove. Both change the app's set of principals, so
both bump the app's version (``If-Match`` names it, as on the app itself), which also
serialises concurrent additions against the limit. Audited in the same transaction.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from ..errors import Conflict, NotFound
from ..oauth.aws_arn import MAX_ARN_LENGTH, registered_principal
from ..store.records import AwsPrincipal
from . import validation as v
from .audit import SYSTEM, Actor, log_record, new_record
from .usecase import UseCases, check_if_match, stored

MAX_AWS_PRINCIPALS = 20
PRINCIPAL_ID_SHAPE = re.compile(r"awsp_[0-9a-f]{16}")
ARN_RULE = (
    "must be an IAM role or user ARN: arn:aws:iam::<12-digit account>:role/<name> or "
    ":user/<name> (a path is allowed and ignored)"
)


def new_principal_id() -> str:
    return "awsp_" + secrets.token_hex(8)


def principal_arn(errors: v.Errors, field: str, value: Any) -> tuple[str, str]:
    """The ARN as given and its normal form (``oauth.aws_arn``)."""
    principal = registered_principal(value) if isinstance(value, str) else None
    if principal is None:
        errors.add(field, ARN_RULE if not isinstance(value, str) or len(value) <= MAX_ARN_LENGTH
                   else f"must be at most {MAX_ARN_LENGTH} characters")
        return "", ""
    return value, principal.key


class AwsPrincipalAdmin(UseCases):
    def list_aws_principals(self, client_id: str) -> tuple[tuple[AwsPrincipal, ...], int]:
        """The app's principals (oldest first) and the app's version."""
        credentials = self.get_app(client_id)
        ordered = sorted(credentials.aws_principals, key=lambda p: (p.created_at, p.principal_id))
        return tuple(ordered), credentials.app.version

    def add_aws_principal(
        self, client_id: str, arn: Any, if_match: int | None = None, actor: Actor = SYSTEM
    ) -> tuple[AwsPrincipal, int]:
        """Register a principal; returns it and the app's new version."""
        errors = v.Errors()
        arn, key = principal_arn(errors, "arn", arn)
        errors.raise_if_any()
        credentials = self.get_app(client_id)
        check_if_match(if_match, credentials.app.version)
        for existing in credentials.aws_principals:
            if existing.key == key:
                raise Conflict(
                    f"The app already lists this principal as {existing.principal_id}."
                )
        if len(credentials.aws_principals) >= MAX_AWS_PRINCIPALS:
            raise Conflict(f"An app lists at most {MAX_AWS_PRINCIPALS} AWS principals.")
        now = self._now()
        principal = AwsPrincipal(new_principal_id(), arn, key, now)
        audit = new_record(
            actor, "aws_principal.create",
            f"app/{client_id}/aws-principals/{principal.principal_id}",
            {"principal_id": principal.principal_id, "arn": arn}, now,
        )
        with stored(f"No app with client_id {client_id[:64]!r}.", if_match):
            self._store.add_aws_principal(client_id, principal, credentials.app.version, audit)
        log_record(audit)
        return principal, credentials.app.version + 1

    def remove_aws_principal(
        self, client_id: str, principal_id: str, if_match: int | None = None,
        actor: Actor = SYSTEM,
    ) -> None:
        missing = f"No AWS principal {principal_id[:64]!r} for app {client_id[:64]!r}."
        if not PRINCIPAL_ID_SHAPE.fullmatch(principal_id):
            raise NotFound(missing)
        credentials = self.get_app(client_id)
        check_if_match(if_match, credentials.app.version)
        principal = next(
            (p for p in credentials.aws_principals if p.principal_id == principal_id), None
        )
        if principal is None:
            raise NotFound(missing)
        audit = new_record(
            actor, "aws_principal.delete", f"app/{client_id}/aws-principals/{principal_id}",
            {"principal_id": principal_id, "arn": principal.arn}, self._now(),
        )
        with stored(missing, if_match):
            self._store.delete_aws_principal(
                client_id, principal, credentials.app.version, audit
            )
        log_record(audit)
