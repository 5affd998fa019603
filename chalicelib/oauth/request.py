"""Request syntax of the OAuth endpoints (RFC 6749 §3.2, §2.3.1; RFC 7662 §2.1; RFC 7009 §2.1).

The body is form-encoded (RFC 6749 Appendix B) or, as many M2M clients send
it, a flat JSON object of strings. Either way each parameter may appear at
most once, and an empty value counts as omitted (RFC 6749 §3.1).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import unquote, unquote_plus

from ..errors import InvalidClient, InvalidRequest

MAX_BODY_BYTES = 16 * 1024
MAX_FIELDS = 64
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class IncomingRequest:
    """What the protocol layer needs of an HTTP request, free of any framework.

    Built once per request at the edge (:func:`chalicelib.routes.http.incoming`); its
    body is parsed once, on first use of :attr:`parameters`, whoever asks first."""

    body: bytes
    content_type: str | None = None
    authorization: str | None = None
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Every header field by lower-cased name, with every value it was sent with (a
    proof-of-possession header sent twice must be visible as such, RFC 9449 §4.3)."""
    method: str = "POST"
    client_certificate: str | None = None
    """The PEM client certificate the TLS layer verified (API Gateway mutual TLS:
    ``requestContext.identity.clientCert.clientCertPem``), if any (RFC 8705)."""

    def header_values(self, name: str) -> tuple[str, ...]:
        return self.headers.get(name.lower(), ())

    @cached_property
    def parameters(self) -> Parameters:
        """The body's parameters (RFC 6749 §3.2), parsed on first use; a parse error is
        raised again on every use."""
        return parse_parameters(self)

    @cached_property
    def basic_credentials(self) -> tuple[str, str]:
        """``(client_id, client_secret)`` of the ``Authorization: Basic`` header (RFC 6749
        §2.3.1), decoded on first use (client authentication, then the outcome log line's
        client id); malformed → ``invalid_client``, raised again on every use."""
        return _basic(self.authorization or "")


def _basic(authorization: str) -> tuple[str, str]:
    """Decode ``Basic base64(urlencode(id) ":" urlencode(secret))`` (RFC 6749 §2.3.1)."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient("Only the Basic authentication scheme is supported.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidClient("The Basic credentials are malformed.") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("The Basic credentials are malformed.")
    return unquote_plus(client_id), unquote_plus(secret)


@dataclass(frozen=True)
class Parameters:
    """Request parameters, each name mapped to every value it was sent with."""

    values: Mapping[str, tuple[str, ...]]
    not_strings: frozenset[str] = frozenset()
    """JSON members whose value is not a string: an error only if the endpoint reads them
    (unknown parameters are ignored, RFC 6749 §3.2)."""

    def _check(self, name: str) -> None:
        if name in self.not_strings:
            raise InvalidRequest(f"The '{name}' parameter must be a string.")

    def single(self, name: str) -> str | None:
        """The parameter's value; ``None`` if omitted or empty; repeated → invalid_request."""
        if name in self.not_strings:  # _check, inlined: read many times per request
            self._check(name)
        found = self.values.get(name)
        if found is None:
            return None
        if len(found) > 1:
            raise InvalidRequest(f"The '{name}' parameter must not be repeated.")
        return found[0] or None

    def all(self, name: str) -> tuple[str, ...]:
        """Every non-empty value of a parameter that may repeat (RFC 8707 ``resource``)."""
        self._check(name)
        return tuple(v for v in self.values.get(name, ()) if v != "")


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    main, _, rest = content_type.partition(";")
    params = {}
    for part in rest.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            params[key.strip().lower()] = value.strip().strip('"').lower()
    return main.strip().lower(), params


def _collect(pairs: list[tuple[str, Any]]) -> dict[str, tuple[str, ...]]:
    collected: dict[str, list[str]] = {}
    for name, value in pairs:
        collected.setdefault(name, []).append(value)
    return {name: tuple(values) for name, values in collected.items()}


def _form_text(part: str) -> str:
    """One name or value of the form encoding: ``+`` is a space, then percent-decoding
    (strict UTF-8)."""
    part = part.replace("+", " ")
    return unquote(part, errors="strict") if "%" in part else part


def _parse_form(body: bytes) -> dict[str, tuple[str, ...]]:
    """The body as ``parse_qsl(text, keep_blank_values=True, strict_parsing=True,
    max_num_fields=MAX_FIELDS, errors="strict")`` reads it, without its generality
    (``tests/unit/test_request_parsing.py`` holds the two to the same answers)."""
    invalid = "The request body is not valid form-urlencoded UTF-8."
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(invalid) from exc
    if not text:
        return {}
    fields = text.split("&")
    if len(fields) > MAX_FIELDS:
        raise InvalidRequest(invalid)
    collected: dict[str, list[str]] = {}
    for field_ in fields:
        name, sep, value = field_.partition("=")
        if not sep:  # a field without "=" (or empty) is malformed in strict parsing
            raise InvalidRequest(invalid)
        try:
            collected.setdefault(_form_text(name), []).append(_form_text(value))
        except UnicodeDecodeError as exc:
            raise InvalidRequest(invalid) from exc
    return {name: tuple(values) for name, values in collected.items()}


class _JsonObject(list[tuple[str, Any]]):
    """A JSON object as its (name, value) pairs, so duplicate names stay visible."""


def _parse_json(body: bytes) -> Parameters:
    try:
        pairs = json.loads(body.decode("utf-8"), object_pairs_hook=_JsonObject)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidRequest("The request body is not valid JSON.") from exc
    if not isinstance(pairs, _JsonObject):
        raise InvalidRequest("The JSON request body must be an object.")
    if len(pairs) > MAX_FIELDS:
        raise InvalidRequest("The request has too many parameters.")
    kept: list[tuple[str, str]] = []
    not_strings: set[str] = set()
    for name, value in pairs:
        if value is None:
            continue  # null counts as omitted, like an empty value
        if not isinstance(value, str):
            not_strings.add(name)
            continue
        try:  # JSON escapes can spell lone surrogates, which are not text
            name.encode("utf-8")
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidRequest("The JSON request body is not valid Unicode.") from exc
        kept.append((name, value))
    return Parameters(_collect(kept), frozenset(not_strings))


def parse_parameters(request: IncomingRequest) -> Parameters:
    """Parse the body of a POST to an OAuth endpoint."""
    if len(request.body) > MAX_BODY_BYTES:
        raise InvalidRequest(f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    if request.content_type == FORM:  # what most clients send, exactly
        return Parameters(_parse_form(request.body))
    if request.content_type is None or not request.content_type.strip():
        if request.body.strip():
            raise InvalidRequest(f"The Content-Type must be {FORM} or {JSON}.")
        return Parameters({})
    media_type, params = _media_type(request.content_type)
    charset = params.get("charset", "utf-8")
    if charset not in ("utf-8", "utf8"):
        raise InvalidRequest("Only the UTF-8 charset is supported.")
    if media_type == FORM:
        return Parameters(_parse_form(request.body))
    if media_type == JSON:
        return _parse_json(request.body) if request.body.strip() else Parameters({})
    raise InvalidRequest(f"The Content-Type must be {FORM} or {JSON}.")
