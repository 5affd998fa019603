"""The STS adapter: sends a request :mod:`chalicelib.oauth.aws_sigv4` rebuilt, over
botocore's HTTP layer (pooled urllib3 connections, certificate checks, no redirects,
no retries of a signed request), with short timeouts. The URL is always the one the
protocol code derived from an allow-listed region, never one a client supplied.

Local mode only (``Settings.sts_connect_to``): ``connect_to`` sends the request (same
Host and signed headers) to the embedded moto server instead. moto 5 ignores ``Accept:
application/json`` and answers JSON only for a ``ContentType=JSON`` request parameter,
so the body sent there gets ``&ContentType=JSON``. moto checks no signature; production
never takes this path (Settings reads the override only in local mode).
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError
from botocore.httpsession import URLLib3Session

from ..oauth.aws_sigv4 import MAX_REPLY_BYTES, StsReply, StsRequest, StsUnreachable

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0


class HttpStsCaller:
    """``StsCaller`` over one pooled HTTP session per container."""

    def __init__(self, connect_to: str | None = None, session: Any | None = None) -> None:
        self._connect_to = connect_to.rstrip("/") if connect_to else None
        self._session = session or URLLib3Session(
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), max_pool_connections=10
        )

    def _target(self, request: StsRequest) -> tuple[str, dict[str, str], bytes]:
        headers = dict(request.headers)
        if self._connect_to is None:
            return request.url, headers, request.body
        headers.pop("Content-Length", None)
        return f"{self._connect_to}/", headers, request.body + b"&ContentType=JSON"

    def call(self, request: StsRequest) -> StsReply:
        url, headers, body = self._target(request)
        prepared = AWSRequest(method="POST", url=url, headers=headers, data=body).prepare()
        try:
            response = self._session.send(prepared)
            body = response.content
        except BotoCoreError as exc:
            log.warning("STS unreachable region=%s error=%s", request.region,
                        type(exc).__name__)
            raise StsUnreachable(type(exc).__name__) from exc
        return StsReply(
            status=int(response.status_code),
            content_type=str(response.headers.get("content-type", "")),
            body=bytes(body[:MAX_REPLY_BYTES + 1]),
        )
