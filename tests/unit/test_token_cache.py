"""The in-container token cache: bounded, least recently used out first."""

from __future__ import annotations

from chalicelib.oauth.reuse import CachedToken, TokenCache


def cached(name: str, expires_at: int = 1000, lifetime: int = 1000) -> CachedToken:
    return CachedToken(f"token-{name}", expires_at, lifetime, "s", f"jti-{name}")


def test_keeps_at_most_max_entries_dropping_the_least_recently_used() -> None:
    cache = TokenCache(max_entries=2)
    cache.keep("a", cached("a"))
    cache.keep("b", cached("b"))
    assert cache.find("a", 0, 0.5) is not None  # a is now the most recent
    cache.keep("c", cached("c"))

    assert len(cache) == 2
    assert cache.find("b", 0, 0.5) is None
    assert cache.find("a", 0, 0.5) == cached("a")
    assert cache.find("c", 0, 0.5) == cached("c")


def test_a_token_with_less_than_the_fraction_left_is_dropped() -> None:
    cache = TokenCache()
    cache.keep("a", cached("a", expires_at=1000, lifetime=1000))
    assert cache.find("a", 500, 0.5) is not None
    assert cache.find("a", 501, 0.5) is None
    assert len(cache) == 0


def test_repr_never_shows_the_token() -> None:
    assert "token-a" not in repr(cached("a"))
