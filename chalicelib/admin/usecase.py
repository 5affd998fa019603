"""What every admin use case shares: the store, the clock, the two lookups all of
them start from, and how store errors and If-Match become problems. No HTTP here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import (
    Conflict,
    ItemChanged,
    ItemMissing,
    NotFound,
    PreconditionFailed,
)
from ..oauth.client_secret import (
    CLIENT_ID_SHAPE,
)
from ..store.records import (
    Api,
    AppCredentials,
    Quota,
)
from ..store.repository import Store

API_ID_SHAPE = re.compile(r"api_[0-9a-f]{16}")
CONCURRENT = "The item was changed by another request; read it again and retry."


def check_if_match(if_match: int | None, version: int) -> None:
    if if_match is not None and if_match != version:
        raise PreconditionFailed(
            f"If-Match names version {if_match}; the current version is {version}."
        )


def changed(if_match: int | None) -> Exception:
    return PreconditionFailed(CONCURRENT) if if_match is not None else Conflict(CONCURRENT)


@contextmanager
def stored(missing: str, if_match: int | None = None) -> Iterator[None]:
    """Store errors as problems: a vanished item is 404; a version that moved is 412
    when the caller named one (If-Match), else 409."""
    try:
        yield
    except ItemMissing as exc:
        raise NotFound(missing) from exc
    except ItemChanged as exc:
        raise changed(if_match) from exc



class UseCases:
    """Base of the per-aggregate admin use cases (composed in :mod:`.provisioning`)."""

    def __init__(
        self, store: Store, clock: Callable[[], float], default_quota: Quota | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._default_quota = default_quota

    def _now(self) -> int:
        return int(self._clock())

    def get_api(self, api_id: str) -> Api:
        # ids are ours: anything else is unknown without a read (and cannot break
        # DynamoDB's 2,048-byte key limit)
        api = self._store.get_api(api_id) if API_ID_SHAPE.fullmatch(api_id) else None
        if api is None:
            raise NotFound(f"No API with id {api_id[:64]!r}.")
        return api


    def get_app(self, client_id: str) -> AppCredentials:
        credentials = (
            self._store.get_credentials(client_id)
            if CLIENT_ID_SHAPE.fullmatch(client_id) else None
        )
        if credentials is None:
            raise NotFound(f"No app with client_id {client_id[:64]!r}.")
        return credentials
