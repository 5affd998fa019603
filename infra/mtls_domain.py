"""Mutual TLS on the stage's custom domain (RFC 8705; docs/mtls.md): API Gateway asks
every client of the domain for a certificate, checks it against the truststore object in
S3 (``MutualTlsAuthentication``), and forwards it to the function as
``requestContext.identity.clientCert``.

Either the custom domain itself requires certificates, or a second REGIONAL domain does
(``mtls_domain``), mapped to the same stage at its root, which metadata then advertises
in ``mtls_endpoint_aliases`` (RFC 8705 §5) while the custom domain keeps serving clients
without certificates. The execute-api endpoint, which asks for no certificate, is
disabled either way (the custom domain already disables it; this module refuses a stage
that could leave it on), or a client could skip mutual TLS by calling it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.oauth.metadata import TOKEN_PATH

from .names import CUSTOM_DOMAIN, MTLS_DOMAIN, MTLS_DOMAIN_MAPPING, REST_API, get_att, ref
from .stage import StageConfig, check_mutual_tls_domain


def truststore(stage: StageConfig) -> dict[str, Any]:
    """The ``MutualTlsAuthentication`` of ``AWS::ApiGateway::DomainName``."""
    found: dict[str, Any] = {"TruststoreUri": stage.mtls_truststore_uri}
    if stage.mtls_truststore_version:
        found["TruststoreVersion"] = stage.mtls_truststore_version
    return found


def apply(resources: dict[str, Any], stage: StageConfig, variables: dict[str, Any]) -> None:
    """Mutual TLS on the stage's domains (after the custom domain was added); sets the
    functions' ``MTLS_ENDPOINT``. A StageError for a stage without a REGIONAL custom
    domain, whatever built its configuration."""
    check_mutual_tls_domain(stage)
    if not stage.mutual_tls:
        return
    resources[REST_API]["Properties"]["DisableExecuteApiEndpoint"] = True
    variables["MTLS_ENDPOINT"] = stage.mtls_endpoint
    if stage.mtls_domain == stage.custom_domain:
        resources[CUSTOM_DOMAIN]["Properties"]["MutualTlsAuthentication"] = truststore(stage)
        return
    resources[MTLS_DOMAIN] = {
        "Type": "AWS::ApiGateway::DomainName",
        "Properties": {
            "DomainName": stage.mtls_domain,
            "RegionalCertificateArn": stage.mtls_certificate_arn,
            "EndpointConfiguration": {"Types": ["REGIONAL"]},
            "SecurityPolicy": "TLS_1_2",
            "MutualTlsAuthentication": truststore(stage),
        },
    }
    resources[MTLS_DOMAIN_MAPPING] = {
        "Type": "AWS::ApiGateway::BasePathMapping",
        "Properties": {
            "DomainName": ref(MTLS_DOMAIN),
            "RestApiId": ref(REST_API),
            "Stage": ref(f"{REST_API}.Stage"),
        },
    }


def outputs(stage: StageConfig) -> dict[str, Any]:
    """The mutual-TLS token endpoint and, for a second host, its DNS target."""
    if not stage.mutual_tls:
        return {}
    found: dict[str, Any] = {"MtlsTokenUrl": {
        "Description": "Token endpoint for clients presenting a TLS client certificate",
        "Value": f"{stage.mtls_endpoint}{TOKEN_PATH}"}}
    if stage.mtls_domain != stage.custom_domain:
        found["MtlsDomainTarget"] = {
            "Description": f"DNS alias or CNAME target for {stage.mtls_domain}",
            "Value": get_att(MTLS_DOMAIN, "RegionalDomainName")}
        found["MtlsDomainHostedZoneId"] = {
            "Description": "Hosted zone id for a Route 53 alias record of the mTLS host",
            "Value": get_att(MTLS_DOMAIN, "RegionalHostedZoneId")}
    return found
