"""HTTP edge: turn Chalice requests into protocol input and errors into responses.

Every OAuth endpoint response is JSON with ``Cache-Control: no-store`` and
``Pragma: no-cache`` (RFC 6749 §5.1); errors are RFC 6749 §5.2 bodies.
Unexpected failures are logged (never with a secret or token) and answered
as ``server_error`` so no stack trace or Chalice error body reaches a client.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from ..aws import metrics
from ..errors import (
    FieldError,
    InvalidCursor,
    InvalidRequest,
    IssuerUnknown,
    OAuthError,
    PayloadTooLarge,
    PreconditionFailed,
    Problem,
    ServerError,
    SigningFailed,
    SigningThrottled,
    StoreError,
    TemporarilyUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from ..oauth.claims import MAX_ISSUER_LENGTH

# Cold start: the request types (dataclasses), the audit actor and the admin text check
# load on the first request that needs them (bench/import_bench.py).
if TYPE_CHECKING:
    from ..admin.audit import Actor
    from ..oauth.request import IncomingRequest

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
JSON_TYPE = "application/json"
_COMPACT = json.JSONEncoder(separators=(",", ":"))
"""Response bodies: one encoder, where ``json.dumps`` with options builds one per call."""


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        body=_COMPACT.encode(body),
        status_code=status,
        headers={"Content-Type": JSON_TYPE, **(headers or {})},
    )


def oauth_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(body, status, {**NO_STORE, **(headers or {})})


def oauth_error_response(error: OAuthError) -> Response:
    body = {"error": error.error, "error_description": error.description}
    return oauth_response(body, error.status, {**error.extra_headers, **error.headers()})


def _as_oauth_error(exc: Exception) -> OAuthError:
    if isinstance(exc, OAuthError):
        return exc
    if isinstance(exc, IssuerUnknown):
        return InvalidRequest(str(exc))
    if isinstance(exc, SigningThrottled):
        log.warning("KMS throttled a signing request: %s", exc)
        return TemporarilyUnavailable("The server is busy; retry shortly.")
    if isinstance(exc, SigningFailed | StoreError):
        log.error("request failed: %s: %s", type(exc).__name__, exc)
        return ServerError("The server could not complete the request.")
    log.exception("unexpected error")
    return ServerError("The server could not complete the request.")


def _rendered(call: Callable[[], Response]) -> tuple[Response, OAuthError | None]:
    try:
        return call(), None
    except Exception as exc:  # the one place OAuth errors become responses
        error = _as_oauth_error(exc)
        return oauth_error_response(error), error


def oauth_endpoint(view: Callable[..., Response]) -> Callable[..., Response]:
    """Render every outcome of an OAuth view as an RFC 6749 JSON response, and count
    client authentication failures."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        response, error = _rendered(lambda: view(*args, **kwargs))
        _record_outcome(error, None)
        return response

    return wrapper


def token_endpoint(
    current_request: Callable[[], Request],
) -> Callable[[Callable[[IncomingRequest], Response]], Callable[[], Response]]:
    """``oauth_endpoint`` for the token endpoint: the view gets the request as protocol
    input, built and parsed once, and every outcome is counted (tokens issued, refused by
    reason) and logged as one JSON line with the presented client id."""

    def decorate(view: Callable[[IncomingRequest], Response]) -> Callable[[], Response]:
        @functools.wraps(view)
        def wrapper() -> Response:
            parsed: list[IncomingRequest] = []

            def call() -> Response:
                parsed.append(incoming(current_request()))
                return view(parsed[0])

            response, error = _rendered(call)
            _record_outcome(error, parsed[0] if parsed else None, token=True)
            return response

        return wrapper

    return decorate


def _record_outcome(
    error: OAuthError | None, request: IncomingRequest | None, *, token: bool = False
) -> None:
    """Metrics never change a response: a failure here is logged and forgotten."""
    recorder = metrics.current()
    try:
        if error is not None and error.error == "invalid_client":
            recorder.record(metrics.AUTHENTICATION_FAILURES)
        if token:
            grant_type = None if request is None else presented_grant_type(request)
            if error is None:
                recorder.record(metrics.TOKENS_ISSUED, grant_type=grant_type)
            else:
                recorder.record(metrics.TOKENS_REFUSED, reason=error.error)
            recorder.outcome(
                None if request is None else presented_client_id(request),
                "issued" if error is None else "refused",
                None if error is None else error.error,
                grant_type,
            )
        recorder.flush()
    except Exception as exc:  # never a trace: it could quote the request
        log.warning("could not record metrics: %s", type(exc).__name__)


def presented_grant_type(request: IncomingRequest) -> str | None:
    """The request's ``grant_type`` if it is one the token endpoint knows, ``other`` if
    it is another value (never echoed: metrics and logs hold a bounded set), ``None``
    if there is none."""
    from ..oauth.grant_types import KNOWN  # names only

    try:
        grant_type = request.parameters.single("grant_type")
    except OAuthError:
        return None
    if grant_type is None:
        return None
    return grant_type if grant_type in KNOWN else "other"


def presented_client_id(request: IncomingRequest) -> str | None:
    """The client id the request presented (Basic or body), as it may be logged; None
    if it presented none. Reads the parameters the endpoint already parsed."""
    from ..oauth.client_auth import extract_credentials, loggable_client_id  # not at cold start

    try:
        params = request.parameters
    except OAuthError:
        return None
    try:
        client_id: str | None = extract_credentials(request, params).client_id
    except OAuthError:  # no secret: an assertion method names the app in client_id
        try:
            client_id = params.single("client_id")
        except OAuthError:
            return None
    return None if client_id is None else loggable_client_id(client_id)


def _header_values(request: Request) -> dict[str, tuple[str, ...]]:
    """Every value of every header: API Gateway's ``multiValueHeaders`` where the event
    has them (its ``headers`` keeps only the last of repeated fields), else ``headers``."""
    event = request.to_original_event()
    multi = event.get("multiValueHeaders") if isinstance(event, dict) else None
    values: dict[str, tuple[str, ...]] = {}
    if isinstance(multi, dict) and multi:
        for name, found in multi.items():
            if isinstance(found, list):
                values.setdefault(str(name).lower(), ())
                values[str(name).lower()] += tuple(str(v) for v in found)
    for name, value in request.headers.items():
        values.setdefault(name, (str(value),))
    return values


class _HeaderValues(Mapping[str, tuple[str, ...]]):
    """:func:`_header_values`, collected on first use: a plain bearer token request
    never reads a header field beyond the two the edge passes on by name."""

    def __init__(self, request: Request) -> None:
        self._request = request
        self._values: dict[str, tuple[str, ...]] | None = None

    def _collected(self) -> dict[str, tuple[str, ...]]:
        if self._values is None:
            self._values = _header_values(self._request)
        return self._values

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return self._collected()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._collected())

    def __len__(self) -> int:
        return len(self._collected())

    def __repr__(self) -> str:
        return repr(self._collected())


def _client_certificate(request: Request) -> str | None:
    """The PEM client certificate API Gateway verified (mutual TLS on a custom domain,
    ``requestContext.identity.clientCert``); local mode's TLS server fills in the same."""
    identity = (request.context or {}).get("identity")
    cert = identity.get("clientCert") if isinstance(identity, dict) else None
    pem = cert.get("clientCertPem") if isinstance(cert, dict) else None
    return pem if isinstance(pem, str) and pem else None


def incoming(request: Request) -> IncomingRequest:
    from ..oauth.request import IncomingRequest

    if request.query_params and {"client_secret", "client_id"} & set(request.query_params):
        # RFC 6749 §2.3.1: credentials MUST NOT be in the request URI (it gets logged)
        raise InvalidRequest("Client credentials must not be sent in the query string.")
    raw = request.raw_body
    body = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    return IncomingRequest(
        body=body,
        content_type=request.headers.get("content-type"),
        authorization=request.headers.get("authorization"),
        headers=_HeaderValues(request),
        method=request.method,
        client_certificate=_client_certificate(request),
    )


def issuer_for(request: Request, configured: str | None, *, allow_host: bool = False) -> str:
    """The configured ``ISSUER``, else ``https://{domainName}/{stage}`` from API
    Gateway's request context, else (local mode only) the Host the client used."""
    if configured:
        return configured
    context = request.context or {}
    domain, stage = context.get("domainName"), context.get("stage")
    if domain and stage:
        issuer = f"https://{domain}/{stage}"
    elif allow_host:
        issuer = f"http://{request.headers.get('host', '127.0.0.1')}"
    else:
        log.error("no ISSUER configured and the event has no requestContext.domainName "
                  "and stage: set ISSUER, or send API Gateway's full event (docs/errors.md)")
        raise IssuerUnknown
    if len(issuer) > MAX_ISSUER_LENGTH:
        log.error("derived issuer is longer than %d characters; set ISSUER", MAX_ISSUER_LENGTH)
        raise ServerError("The server's issuer is not configured.")
    return issuer


# ---- admin endpoints: RFC 9457 problem details -------------------------------

PROBLEM_TYPE = "application/problem+json"
MAX_ADMIN_BODY = 64 * 1024
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
# Digits read from a query parameter or header: far more than any limit or version needs,
# far less than the 4300 digits past which int() raises ValueError.
MAX_DIGITS = 20


def problem_response(problem: Problem) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:m2m-auth:problem:{problem.slug}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in problem.errors]
    body.update(problem.extensions())
    return Response(
        body=json.dumps(body, separators=(",", ":")),
        status_code=problem.status,
        headers={"Content-Type": PROBLEM_TYPE, "Cache-Control": "no-store",
                 **problem.headers()},
    )


class _Unavailable(Problem):
    status, title, slug = 503, "Service Unavailable", "service-unavailable"


class _ServerProblem(Problem):
    status, title, slug = 500, "Internal Server Error", "server-error"


def _as_problem(exc: Exception) -> Problem:
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, IssuerUnknown):
        return Problem(str(exc))
    if isinstance(exc, InvalidCursor):
        return Problem("The 'next' cursor is not one this server handed out.")
    if isinstance(exc, StoreError | SigningFailed):
        log.error("admin request failed: %s: %s", type(exc).__name__, exc)
        return _Unavailable("A backing service failed; retry shortly.")
    log.exception("unexpected error")
    return _ServerProblem("The server could not complete the request.")


def problem_endpoint(view: Callable[..., Response]) -> Callable[..., Response]:
    """Render every failure of a view as RFC 9457 problem details (admin routes, the
    RFC 8414 metadata document)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except Exception as exc:  # the one place problems become responses
            return problem_response(_as_problem(exc))

    return wrapper


admin_endpoint = problem_endpoint


def read_json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object: 415 for other types, 413 over 64 KiB, 400 if malformed
    or if any string in it (member names included) is not Unicode text."""
    raw = request.raw_body
    body = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    if len(body) > MAX_ADMIN_BODY:
        raise PayloadTooLarge(f"The request body exceeds {MAX_ADMIN_BODY} bytes.")
    content_type = (request.headers.get("content-type") or JSON_TYPE).split(";")[0].strip()
    if content_type.lower() != JSON_TYPE:
        raise UnsupportedMediaType("The request body must be application/json.")
    if not body.strip():
        return {}
    try:
        # invalid UTF-8 becomes lone surrogates, reported below by field like \ud800 escapes
        value = json.loads(body.decode("utf-8", "surrogateescape"), parse_int=_json_integer)
    except (ValueError, RecursionError) as exc:
        raise Problem("The request body is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise Problem("The request body must be a JSON object.")
    from ..admin.validation import invalid_text

    if errors := invalid_text(value):  # the one text check for every admin payload
        raise ValidationFailed("The request has strings that are not valid Unicode text.",
                               errors)
    return value


def _json_integer(digits: str) -> int | float:
    """A JSON integer; one longer than ``int()`` converts (4300 digits) becomes an infinity,
    which every numeric field refuses by name, instead of failing the whole body."""
    try:
        return int(digits)
    except ValueError:
        return -math.inf if digits.startswith("-") else math.inf


def caller(request: Request, local_mode: bool) -> Actor:
    """The IAM principal API Gateway authenticated (``local`` in local mode)."""
    context = request.context or {}
    arn = (context.get("identity") or {}).get("userArn")
    principal = arn or ("local" if local_mode else "unknown")
    from ..admin.audit import Actor

    return Actor(principal=str(principal), request_id=context.get("requestId"))


def if_match(request: Request) -> int | None:
    """``If-Match: "<version>"`` (RFC 9110 §13.1.1); ``*`` or absent means no condition."""
    value = (request.headers.get("if-match") or "").strip()
    if not value or value == "*":
        return None
    tag = value.removeprefix("W/").strip('"')
    if not (tag.isascii() and tag.isdigit()) or len(tag) > MAX_DIGITS:
        raise PreconditionFailed("If-Match must be an ETag returned by this API.")
    return int(tag)


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def page_params(request: Request) -> tuple[int, str | None]:
    params = dict(request.query_params or {})
    unknown = set(params) - {"limit", "next"}
    if unknown:
        raise Problem(f"Unknown query parameters: {', '.join(sorted(unknown))}.")
    raw = params.get("limit", str(DEFAULT_LIMIT))
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_DIGITS or not (
        1 <= int(raw) <= MAX_LIMIT
    ):
        raise ValidationFailed(
            "Invalid limit.", [FieldError("limit", f"must be an integer from 1 to {MAX_LIMIT}")]
        )
    return int(raw), params.get("next") or None


def admin_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(body, status, {"Cache-Control": "no-store", **(headers or {})})


def paged_json(
    request: Request,
    items: Sequence[Any],
    key: Callable[[Any], str],
    view: Callable[[Any], Any],
    headers: dict[str, str] | None = None,
) -> Response:
    """One page of a listing (``limit`` and ``next`` from the query): ``{"items", "next"}``,
    each item drawn by ``view``, ordered and resumed by ``key``."""
    from ..store.paging import page  # admin listings only, never the token path

    listed = page(items, key, *page_params(request))
    return admin_json({"items": [view(i) for i in listed.items], "next": listed.next},
                      headers=headers)


def no_content() -> Response:
    return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})
