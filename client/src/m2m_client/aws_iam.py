"""`AwsIam`: authenticate to the token endpoint as an IAM role or user, with no secret.

Each fetch signs a fresh `sts:GetCallerIdentity` request with botocore's SigV4 signer
and botocore's credential chain (Lambda's and ECS's role credentials, instance profiles,
`AWS_PROFILE`, SSO, environment variables). The request is never sent to STS by the
client: the server rebuilds it, sends it, and maps the answer to an app. The signature
covers `X-M2M-Auth-Server-ID` = the server's issuer identifier, so the assertion is good
for that server only, for a few minutes, once (a random signed `X-M2M-Auth-Nonce`
makes every assertion unique). Wire format: docs/aws-iam-auth.md.

    token_client = TokenClient(
        "https://auth.example.com/oauth/token", client_id="...",  # client_id: optional
        credentials=AwsIam(), audience="https://api.example.com/orders",
    )
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError
from botocore.session import Session as BotocoreSession

from m2m_client.errors import TokenError

ASSERTION_TYPE = "urn:m2m-auth:params:oauth:client-assertion-type:aws-sigv4"
BODY = "Action=GetCallerIdentity&Version=2011-06-15"
SERVER_ID_HEADER = "X-M2M-Auth-Server-ID"
NONCE_HEADER = "X-M2M-Auth-Nonce"
CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
# What goes into the assertion; the server sets Host from its own STS endpoint.
SENT_HEADERS = (
    "Authorization", "X-Amz-Date", "X-Amz-Security-Token", SERVER_ID_HEADER, NONCE_HEADER,
    "Content-Type",
)


def sts_endpoint(region: str) -> str:
    """The regional STS endpoint the server sends the request to (it must sign for it)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}/"


def encode_assertion(headers: dict[str, str]) -> str:
    """Unpadded base64url of `{"headers": {...}, "body": BODY}` (compact JSON)."""
    document = json.dumps({"headers": headers, "body": BODY}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode("ascii").rstrip("=")


class AwsIam:
    """Client credentials for `TokenClient(credentials=...)`: the caller's IAM identity.

    `region` is the STS region to sign for; it must be on the server's allow-list
    (`AWS_IAM_STS_REGIONS`, by default the server's own region). Default: `AWS_REGION`,
    then botocore's configured region (`AWS_DEFAULT_REGION`, the profile).
    `session` (a botocore session) or `profile` choose the credentials; default: the
    standard chain.
    """

    assertion_type = ASSERTION_TYPE

    def __init__(
        self,
        region: str | None = None,
        *,
        profile: str | None = None,
        session: BotocoreSession | None = None,
    ) -> None:
        self._session = session or BotocoreSession(profile=profile)
        self._region = region

    @property
    def region(self) -> str:
        region = (
            self._region
            or os.environ.get("AWS_REGION")
            or self._session.get_config_variable("region")
        )
        if not region:
            raise TokenError("AwsIam needs a region: pass region= or set AWS_REGION")
        return str(region)

    def __repr__(self) -> str:
        return f"AwsIam(region={self._region!r})"

    def signed_headers(self, issuer: str) -> dict[str, str]:
        """Sign GetCallerIdentity for `issuer`; the headers the assertion carries."""
        try:
            credentials: Any = self._session.get_credentials()
            frozen = credentials.get_frozen_credentials() if credentials is not None else None
        except BotoCoreError as exc:
            raise TokenError(f"AWS credentials could not be loaded: {exc}") from exc
        if frozen is None or not frozen.access_key:
            raise TokenError("no AWS credentials found for AwsIam (botocore's chain is empty)")
        region = self.region
        request = AWSRequest(
            method="POST", url=sts_endpoint(region), data=BODY,
            headers={"Content-Type": CONTENT_TYPE, SERVER_ID_HEADER: issuer,
                     NONCE_HEADER: secrets.token_urlsafe(16)},
        )
        SigV4Auth(frozen, "sts", region).add_auth(request)
        return {name: str(request.headers[name]) for name in SENT_HEADERS
                if name in request.headers}

    def assertion(self, issuer: str) -> str:
        """A fresh `client_assertion` for the server whose issuer identifier is `issuer`."""
        return encode_assertion(self.signed_headers(issuer))
