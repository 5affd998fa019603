"""``aws_sigv4`` client authentication: an app is proven by being one of its IAM
principals (RFC 7521 §4.2 with our assertion type; docs/aws-iam-auth.md).

The assertion is checked and rebuilt by :mod:`.aws_sigv4`, used once, sent to STS by the
injected :class:`~.aws_sigv4.StsCaller`, and the ARN STS answers is mapped
(:mod:`.aws_arn`) to the apps that list it. One principal may be listed by several
apps: the request then names one with ``client_id``.
"""

from __future__ import annotations

import logging

from ..errors import InvalidClient, TemporarilyUnavailable
from ..store.records import AppCredentials
from ..store.repository import Store
from .assertion import AWS_SIGV4, ClientAssertion
from .aws_arn import caller_principal
from .aws_sigv4 import (
    DATE_WINDOW,
    AssertionRejected,
    StsCaller,
    StsUnreachable,
    caller_arn,
    reconstruct,
)
from .client_auth import loggable_client_id

log = logging.getLogger(__name__)

METHOD = "urn:m2m-auth:params:oauth:client-auth:aws-sigv4"
"""Our name for the method in RFC 8414 metadata and logs: an absolute URI, as RFC 7591 §2
requires of names that are not IANA-registered (it was ``aws_sigv4`` until 2026-12)."""
REPLAY_NAMESPACE = "aws-sigv4"
"""Single use: the signature names one signed request; it is kept until the request
would be too old anyway (``X-Amz-Date`` + the date window)."""


class AwsIamMethod:
    """``AssertionMethod`` for ``urn:m2m-auth:params:oauth:client-assertion-type:aws-sigv4``."""

    method = METHOD

    def __init__(self, store: Store, sts: StsCaller, regions: frozenset[str]) -> None:
        self._store = store
        self._sts = sts
        self._regions = regions

    def handles(self, assertion: ClientAssertion) -> bool:
        return assertion.assertion_type == AWS_SIGV4

    def authenticate(self, assertion: ClientAssertion, issuer: str, now: int) -> AppCredentials:
        try:
            request = reconstruct(assertion.assertion, issuer, self._regions, now)
        except AssertionRejected as exc:
            log.info("client authentication failed method=%s: %s", METHOD, exc)
            raise InvalidClient() from None
        if not self._store.use_once(REPLAY_NAMESPACE, request.signature,
                                    request.signed_at + DATE_WINDOW):
            log.info("client authentication failed method=%s: assertion replayed", METHOD)
            raise InvalidClient()
        try:
            arn = caller_arn(self._sts.call(request))
        except StsUnreachable as exc:
            log.warning("STS unavailable method=%s region=%s: %s", METHOD, request.region, exc)
            raise TemporarilyUnavailable("AWS STS could not be reached; retry shortly.") from None
        except AssertionRejected as exc:
            log.info("client authentication failed method=%s: %s", METHOD, exc)
            raise InvalidClient() from None
        principal = caller_principal(arn)
        if principal is None:
            log.info("client authentication failed method=%s: %s is not a role or user",
                     METHOD, arn)
            raise InvalidClient()
        client_ids = self._store.apps_for_aws_principal(principal.key)
        wanted = assertion.client_id
        candidates = client_ids if wanted is None else [c for c in client_ids if c == wanted]
        if len(candidates) != 1:
            log.info(
                "client authentication failed method=%s principal=%s client_id=%s: "
                "listed by %d apps (%s)", METHOD, principal.key,
                loggable_client_id(wanted) if wanted else "-", len(client_ids),
                "none matches" if client_ids else "none",
            )
            raise InvalidClient()
        credentials = self._store.get_credentials(candidates[0])
        if credentials is None or all(
            p.key != principal.key for p in credentials.aws_principals
        ):
            log.info("client authentication failed method=%s principal=%s: app gone",
                     METHOD, principal.key)
            raise InvalidClient()
        return credentials
