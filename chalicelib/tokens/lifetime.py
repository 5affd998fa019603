"""How long access tokens live, and how much of that an issued token is reused.

Plain constants, apart from the records that carry them, so that admin input
validation can check them at cold start without loading the storage records.
"""

from __future__ import annotations

DEFAULT_TOKEN_LIFETIME = 3600
MIN_TOKEN_LIFETIME = 60
MAX_TOKEN_LIFETIME = 86400
DEFAULT_TOKEN_REUSE = 0.5
"""Reuse an issued token while at least this fraction of its lifetime is left."""
