"""DPoP proof checks at the token endpoint, below HTTP (RFC 9449 §4.3)."""

from __future__ import annotations

import pytest

from chalicelib.errors import InvalidDpopProof
from chalicelib.oauth.dpop import SIGNING_ALGS
from chalicelib.oauth.dpop_proof import KEY_TYPES, normalized_uri, verify_proof
from tests.dpop_proofs import dpop_proof, es256_key

URL = "https://auth.example.test/v1/oauth/token"
NOW = 1_800_000_000


def test_advertised_algorithms_are_exactly_the_checked_ones() -> None:
    assert tuple(KEY_TYPES) == SIGNING_ALGS


@pytest.mark.parametrize(
    ("uri", "normal"),
    [
        (URL, URL),
        ("HTTPS://Auth.Example.TEST/v1/oauth/token", URL),
        ("https://auth.example.test:443/v1/oauth/token?a=1#f", URL),
        ("http://127.0.0.1:80", "http://127.0.0.1/"),
        ("http://127.0.0.1:8000/oauth/token", "http://127.0.0.1:8000/oauth/token"),
        ("https://[::1]:8443/x", "https://[::1]:8443/x"),
    ],
)
def test_normalizes_scheme_host_port_and_drops_query_and_fragment(uri: str, normal: str) -> None:
    assert normalized_uri(uri) == normal


@pytest.mark.parametrize(
    "uri",
    ["ftp://auth.example.test/x", "/oauth/token", "https:///x", "https://user@host/x",
     "https://host:99999/x", "https://host:port/x", ""],
)
def test_refuses_what_is_not_an_absolute_http_uri(uri: str) -> None:
    assert normalized_uri(uri) is None


def test_path_case_and_trailing_slash_matter() -> None:
    assert normalized_uri(URL.upper().replace("HTTPS", "https")) != URL
    assert normalized_uri(URL + "/") != URL


def test_two_header_fields_are_refused_even_when_both_are_valid() -> None:
    key = es256_key()
    proofs = (dpop_proof(key, URL, NOW), dpop_proof(key, URL, NOW))

    with pytest.raises(InvalidDpopProof, match="exactly one"):
        verify_proof(proofs, method="POST", url=URL, now=NOW, window=60)


def test_a_valid_proof_yields_its_thumbprint_jti_iat_and_nonce() -> None:
    key = es256_key()
    proof = dpop_proof(key, URL, NOW, jti="abc", nonce="n-1")

    verified = verify_proof((proof,), method="POST", url=URL, now=NOW + 5, window=60)

    assert (verified.jti, verified.iat, verified.nonce) == ("abc", NOW, "n-1")
    assert len(verified.jkt) == 43


@pytest.mark.parametrize("where", ["header", "payload"])
def test_a_proof_that_names_a_member_twice_is_refused(where: str) -> None:
    import json

    import jwt

    from tests.dpop_proofs import public_members

    # GIVEN a signed proof whose last duplicate is good (what PyJWT would read)
    key = es256_key()
    claims = json.dumps({"jti": "dup", "htm": "POST", "htu": URL, "iat": NOW})
    headers = {"typ": "dpop+jwt", "jwk": public_members(key)}
    if where == "payload":
        claims = '{"htu": "https://elsewhere.example/token", ' + claims[1:]
    else:
        headers = {**headers, "kid": "x"}
    proof = jwt.api_jws.encode(claims.encode(), key.private, algorithm=key.alg,
                               headers=headers)
    if where == "header":  # repeat typ inside the signed header segment
        import base64

        segments = proof.split(".")
        raw = base64.urlsafe_b64decode(segments[0] + "==").decode()
        raw = '{"typ": "jwt", ' + raw[1:]
        segments[0] = base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()
        proof = ".".join(segments)
    # THEN it is refused as naming a member twice, before any signature check
    with pytest.raises(InvalidDpopProof, match="twice"):
        verify_proof((proof,), method="POST", url=URL, now=NOW, window=60)
