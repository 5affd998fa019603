"""Admin use cases for client secrets: at most three active, plaintext shown once."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import (
    Conflict,
    NotFound,
)
from ..oauth.client_secret import (
    CLIENT_ID_SHAPE,
    SECRET_ID_SHAPE,
    hash_secret,
    new_secret,
    new_secret_id,
)
from ..store.records import (
    ClientSecret,
)
from . import validation as v
from .audit import SYSTEM, Actor, log_record, new_record
from .usecase import UseCases, stored

MAX_ACTIVE_SECRETS = 3


@dataclass(frozen=True)
class IssuedSecret:
    """A new secret: the only moment its plaintext exists outside the client."""

    client_id: str
    secret_id: str
    client_secret: str
    created_at: int
    expires_at: int | None

    def __repr__(self) -> str:
        return f"IssuedSecret(client_id={self.client_id!r}, secret_id={self.secret_id!r})"


def new_client_secret(
    client_id: str, lifetime: int | None, now: int
) -> tuple[ClientSecret, IssuedSecret]:
    """A new secret's stored record (hash only) and the one-time plaintext."""
    plaintext = new_secret()
    expires_at = now + lifetime if lifetime is not None else None
    secret = ClientSecret(
        secret_id=new_secret_id(), secret_hash=hash_secret(plaintext),
        created_at=now, expires_at=expires_at,
    )
    return secret, IssuedSecret(client_id, secret.secret_id, plaintext, now, expires_at)


class SecretAdmin(UseCases):
    def add_secret(
        self, client_id: str, expires_in: int | None = None, actor: Actor = SYSTEM
    ) -> IssuedSecret:
        errors = v.Errors()
        lifetime = v.expires_in(errors, "expires_in", expires_in)
        errors.raise_if_any()
        credentials = self.get_app(client_id)
        active = [s for s in credentials.secrets if s.is_active(self._now())]
        if len(active) >= MAX_ACTIVE_SECRETS:
            raise Conflict(
                f"The app already has {MAX_ACTIVE_SECRETS} active secrets; revoke one first."
            )
        secret, issued = new_client_secret(client_id, lifetime, self._now())
        audit = new_record(actor, "secret.create", f"app/{client_id}/secrets/{secret.secret_id}",
                           {"secret_id": secret.secret_id, "expires_at": secret.expires_at},
                           self._now())
        with stored(f"No app with client_id {client_id[:64]!r}."):
            # bumping the app's version serialises concurrent additions (at most 3 active)
            self._store.add_secret(client_id, secret, credentials.app.version, audit)
        log_record(audit)
        return issued

    def revoke_secret(self, client_id: str, secret_id: str, actor: Actor = SYSTEM) -> None:
        if not (CLIENT_ID_SHAPE.fullmatch(client_id) and SECRET_ID_SHAPE.fullmatch(secret_id)):
            raise NotFound(f"No secret {secret_id[:64]!r} for app {client_id[:64]!r}.")
        audit = new_record(actor, "secret.revoke", f"app/{client_id}/secrets/{secret_id}",
                           {"secret_id": secret_id}, self._now())
        with stored(f"No secret {secret_id!r} for app {client_id!r}."):
            self._store.delete_secret(client_id, secret_id, audit)
        log_record(audit)
