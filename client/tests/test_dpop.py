"""The resource server's DPoP checks (RFC 9449 §4.3, §7): the Verifier with a proof,
every rule with its negative, the replay cache, and the client's DpopKey proofs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from m2m_testkit import AUDIENCE, NOW, FakeClock, SigningKey, b64url, claims, forge

from m2m_client import (
    DpopKey,
    DpopProofChecker,
    DpopRequest,
    InvalidDpopProof,
    InvalidToken,
    MemoryReplayCache,
    Verifier,
)
from m2m_client.dpop import access_token_hash, jwk_thumbprint, normalized_uri, request_url
from m2m_client.dpop_key import htu_of

URL = "https://api.example.com/orders"


@pytest.fixture
def key(clock: FakeClock) -> DpopKey:
    return DpopKey.generate(clock=clock)


def bound_token(signer: SigningKey, key: DpopKey, **overrides: Any) -> str:
    return signer.sign(claims(cnf={"jkt": key.jkt}, **overrides))


def request(*proofs: str, method: str = "GET", url: str = URL) -> DpopRequest:
    return DpopRequest(method, url, proofs)


def custom_proof(
    key: DpopKey, token: str | None, *, header: dict[str, Any] | None = None,
    private: Any = None, alg: str | None = None, drop: tuple[str, ...] = (), **overrides: Any,
) -> str:
    """A proof with any claim or header changed, signed by ``private`` (default: the key)."""
    payload: dict[str, Any] = {"jti": "j-" + b64url(os.urandom(9)),
                               "htm": "GET", "htu": URL, "iat": int(NOW)}
    if token is not None:
        payload["ath"] = access_token_hash(token)
    payload.update(overrides)
    for name in drop:
        payload.pop(name, None)
    headers = {"typ": "dpop+jwt", "jwk": key.public_jwk, **(header or {})}
    return jwt.encode(payload, private or key._key, algorithm=alg or key.alg, headers=headers)


# ---- the happy path ---------------------------------------------------------------------


def test_dpop_bound_token_with_its_proof_is_accepted(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound_token(rsa_key, key)

    verified = verifier.verify(token, "orders:read", scheme="DPoP",
                               dpop=request(key.proof("GET", URL, access_token=token)))

    assert verified.claims["cnf"] == {"jkt": key.jkt}


@pytest.mark.parametrize("alg", ["ES256", "ES384", "RS256", "PS256", "EdDSA"])
def test_every_default_algorithm_is_accepted(
    verifier: Verifier, rsa_key: SigningKey, clock: FakeClock, alg: str
) -> None:
    key = DpopKey.generate(alg, clock=clock)
    token = bound_token(rsa_key, key)

    verifier.verify(token, scheme="dpop", dpop=request(key.proof("GET", URL, access_token=token)))


def test_query_and_fragment_and_host_case_do_not_matter(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound_token(rsa_key, key)
    proof = key.proof("GET", "https://API.example.com:443/orders?page=2#x", access_token=token)

    verifier.verify(token, scheme="DPoP", dpop=request(proof, url=URL + "?page=3"))


# ---- the token side of §7 ----------------------------------------------------------------


def test_bound_token_presented_as_bearer_is_refused_with_a_dpop_challenge(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    with pytest.raises(InvalidToken) as raised:
        verifier.verify(bound_token(rsa_key, key))

    challenge = raised.value.www_authenticate
    assert challenge.startswith("DPoP ") and 'error="invalid_token"' in challenge
    assert 'algs="ES256 ES384 RS256 PS256 EdDSA"' in challenge


def test_bearer_token_presented_with_the_dpop_scheme_is_refused(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = rsa_key.sign(claims())

    with pytest.raises(InvalidToken, match="not DPoP-bound"):
        verifier.verify(token, scheme="DPoP",
                        dpop=request(key.proof("GET", URL, access_token=token)))


def test_bound_token_without_a_proof_is_refused(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    with pytest.raises(InvalidDpopProof) as raised:
        verifier.verify(bound_token(rsa_key, key), scheme="DPoP", dpop=request())

    assert raised.value.status == 401
    assert raised.value.www_authenticate.startswith('DPoP realm="https://api.example.com/orders"'
                                                    ', error="invalid_dpop_proof"')


def test_plain_bearer_tokens_still_verify(verifier: Verifier, rsa_key: SigningKey) -> None:
    assert verifier.verify(rsa_key.sign(claims())).client_id == "svc-billing"


def test_deferred_proof_verifies_the_token_only_and_requires_the_binding(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    verifier.verify(bound_token(rsa_key, key), scheme="DPoP", defer_proof=True)

    with pytest.raises(InvalidToken):
        verifier.verify(rsa_key.sign(claims()), scheme="DPoP", defer_proof=True)


# ---- each proof rule refuses -------------------------------------------------------------


def refused(verifier: Verifier, token: str, dpop: DpopRequest, reason: str) -> None:
    with pytest.raises(InvalidDpopProof, match=reason):
        verifier.verify(token, scheme="DPoP", dpop=dpop)


def test_refuses_a_proof_for_another_url(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound_token(rsa_key, key)
    for url in ("https://api.example.com/invoices", "https://evil.example/orders",
                "http://api.example.com/orders", "https://api.example.com:8443/orders"):
        refused(verifier, token, request(key.proof("GET", url, access_token=token)), "htu")


def test_refuses_a_proof_for_another_method(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound_token(rsa_key, key)

    refused(verifier, token, request(key.proof("POST", URL, access_token=token)), "htm")


def test_refuses_a_proof_without_ath_or_for_another_token(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound_token(rsa_key, key)
    other = bound_token(rsa_key, key)

    refused(verifier, token, request(key.proof("GET", URL)), "ath")
    refused(verifier, token, request(key.proof("GET", URL, access_token=other)), "ath")


def test_refuses_a_replayed_proof(verifier: Verifier, rsa_key: SigningKey, key: DpopKey) -> None:
    token = bound_token(rsa_key, key)
    proof = key.proof("GET", URL, access_token=token)
    verifier.verify(token, scheme="DPoP", dpop=request(proof))

    refused(verifier, token, request(proof), "used before")


@pytest.mark.parametrize("offset", [-61, 61])
def test_refuses_a_proof_outside_the_window(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey, offset: int
) -> None:
    token = bound_token(rsa_key, key)

    refused(verifier, token, request(custom_proof(key, token, iat=int(NOW) + offset)), "iat")


def test_refuses_a_proof_by_another_key_than_the_tokens(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey, clock: FakeClock
) -> None:
    token = bound_token(rsa_key, key)
    thief = DpopKey.generate(clock=clock)

    refused(verifier, token, request(thief.proof("GET", URL, access_token=token)), "another key")


def test_refuses_a_proof_whose_signature_is_not_its_jwks(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound_token(rsa_key, key)
    proof = custom_proof(key, token, private=ec.generate_private_key(ec.SECP256R1()))

    refused(verifier, token, request(proof), "signature")


def test_refuses_alg_none_and_hmac(verifier: Verifier, rsa_key: SigningKey, key: DpopKey) -> None:
    token = bound_token(rsa_key, key)
    payload = {"jti": "x", "htm": "GET", "htu": URL, "iat": int(NOW),
               "ath": access_token_hash(token)}
    none = forge({"typ": "dpop+jwt", "alg": "none", "jwk": key.public_jwk}, payload)
    hs256 = forge({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2Vj"}},
                  payload, hmac_secret=b"sec", alg="HS256")

    refused(verifier, token, request(none), "algorithm")
    refused(verifier, token, request(hs256), "algorithm")


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "k"])
def test_refuses_a_private_key_in_the_jwk(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey, member: str
) -> None:
    token = bound_token(rsa_key, key)
    proof = custom_proof(key, token, header={"jwk": {**key.public_jwk, member: "AQAB"}})

    refused(verifier, token, request(proof), "private")


@pytest.mark.parametrize(
    ("header", "reason"),
    [({"typ": "JWT"}, "typ"), ({"crit": ["x"]}, "critical"), ({"jwk": None}, "jwk"),
     ({"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}, "does not fit")],
    ids=["typ", "crit", "no-jwk", "wrong-kty"],
)
def test_refuses_malformed_headers(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey, header: dict[str, Any], reason: str
) -> None:
    token = bound_token(rsa_key, key)

    refused(verifier, token, request(custom_proof(key, token, header=header)), reason)


def test_refuses_an_algorithm_not_allowed_by_the_checker(
    rsa_key: SigningKey, fetcher: Any, clock: FakeClock
) -> None:
    from m2m_testkit import ISSUER, JWKS_URL

    es_only = Verifier(ISSUER, AUDIENCE, jwks_url=JWKS_URL, fetch=fetcher, clock=clock,
                       dpop_proofs=DpopProofChecker(algorithms=["ES256"], clock=clock))
    key = DpopKey.generate("PS256", clock=clock)
    token = bound_token(rsa_key, key)

    with pytest.raises(InvalidDpopProof) as raised:
        es_only.verify(token, scheme="DPoP", dpop=request(key.proof("GET", URL,
                                                                    access_token=token)))
    assert 'algs="ES256"' in raised.value.www_authenticate


def test_refuses_a_short_rsa_key(verifier: Verifier, rsa_key: SigningKey, key: DpopKey) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    small_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(small.public_key()))
    token = rsa_key.sign(claims(cnf={"jkt": jwk_thumbprint(small_jwk)}))
    proof = custom_proof(key, token, header={"jwk": small_jwk}, private=small, alg="RS256")

    refused(verifier, token, request(proof), "too short")


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_refuses_a_proof_missing_a_claim(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey, claim: str
) -> None:
    token = bound_token(rsa_key, key)

    refused(verifier, token, request(custom_proof(key, token, drop=(claim,))), claim)


def test_refuses_two_proofs(verifier: Verifier, rsa_key: SigningKey, key: DpopKey) -> None:
    token = bound_token(rsa_key, key)
    first = key.proof("GET", URL, access_token=token)
    second = key.proof("GET", URL, access_token=token)

    refused(verifier, token, request(first, second), "exactly one")
    refused(verifier, token, request(f"{first},{second}"), "exactly one")


@pytest.mark.parametrize("value", ["", "a.b", "a.b.c", "é.é.é", "x" * 9000])
def test_refuses_what_is_not_a_proof(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey, value: str
) -> None:
    refused(verifier, bound_token(rsa_key, key), request(value), "DPoP proof")


# ---- replay cache ------------------------------------------------------------------------


def test_replay_cache_forgets_ids_once_they_expire() -> None:
    cache = MemoryReplayCache()
    assert cache.use_once("k", 100.0, now=10.0)
    assert not cache.use_once("k", 100.0, now=99.0)

    assert cache.use_once("k", 200.0, now=101.0)


def test_a_full_replay_cache_refuses_new_proofs_until_ids_expire() -> None:
    cache = MemoryReplayCache(max_entries=2)
    assert cache.use_once("a", 50.0, now=0.0) and cache.use_once("b", 60.0, now=0.0)

    assert not cache.use_once("c", 70.0, now=1.0)
    assert cache.use_once("c", 70.0, now=55.0)  # "a" expired
    assert len(cache) == 2


def test_the_verifier_takes_a_shared_replay_cache(
    rsa_key: SigningKey, fetcher: Any, clock: FakeClock, key: DpopKey
) -> None:
    """Two verifiers (processes) on one cache: a proof spent on one is refused by the other."""
    from m2m_testkit import ISSUER, JWKS_URL

    shared = MemoryReplayCache()

    def make() -> Verifier:
        return Verifier(ISSUER, AUDIENCE, jwks_url=JWKS_URL, fetch=fetcher, clock=clock,
                        dpop_proofs=DpopProofChecker(replay=shared, clock=clock))

    token = bound_token(rsa_key, key)
    proof = key.proof("GET", URL, access_token=token)
    make().verify(token, scheme="DPoP", dpop=request(proof))

    with pytest.raises(InvalidDpopProof, match="used before"):
        make().verify(token, scheme="DPoP", dpop=request(proof))


# ---- helpers and the client's key ----------------------------------------------------------


def test_ath_is_the_base64url_sha256_of_the_token() -> None:
    expected = base64.urlsafe_b64encode(hashlib.sha256(b"tok").digest()).rstrip(b"=").decode()

    assert access_token_hash("tok") == expected


def test_rfc7638_thumbprint_example() -> None:
    # RFC 7638 §3.1
    jwk = {"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
           "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6"
                "tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5"
                "v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbIS"
                "D08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
                "kEgU8awapJzKnqDKgw"}

    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_okp_thumbprint_follows_rfc8037() -> None:
    # RFC 8037 Appendix A.3
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}

    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_dpop_key_proof_has_the_rfc_9449_shape(key: DpopKey) -> None:
    proof = key.proof("get", URL + "?q=1#f", access_token="tok", nonce="n1")

    header = jwt.get_unverified_header(proof)
    payload = jwt.decode(proof, options={"verify_signature": False})
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert header["jwk"] == key.public_jwk and "d" not in header["jwk"]
    assert payload["htm"] == "GET" and payload["htu"] == URL
    assert payload["ath"] == access_token_hash("tok") and payload["nonce"] == "n1"
    assert payload["iat"] == int(NOW) and payload["jti"]
    assert key.proof("GET", URL) != key.proof("GET", URL)  # a fresh jti each time


def test_dpop_key_round_trips_through_pem(key: DpopKey, clock: FakeClock) -> None:
    loaded = DpopKey.from_pem(key.private_pem(b"pw"), b"pw", clock=clock)

    assert loaded.jkt == key.jkt
    assert "jkt" in repr(loaded) and "PRIVATE" not in repr(loaded)


def test_dpop_key_refuses_keys_and_algorithms_that_do_not_fit() -> None:
    with pytest.raises(ValueError):
        DpopKey(ec.generate_private_key(ec.SECP256R1()), "RS256")
    with pytest.raises(ValueError):
        DpopKey(ec.generate_private_key(ec.SECP521R1()))
    with pytest.raises(ValueError):
        DpopKey(rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505
    with pytest.raises(ValueError):
        DpopKey.generate("HS256")
    assert DpopKey(ed25519.Ed25519PrivateKey.generate()).alg == "EdDSA"


@pytest.mark.parametrize(
    ("uri", "normal"),
    [("https://A.example.com:443/x?y#z", "https://a.example.com/x"),
     ("http://127.0.0.1:8001", "http://127.0.0.1:8001/"), ("ftp://x/y", None),
     ("https://u@host/x", None), ("/relative", None)],
)
def test_uri_normalization(uri: str, normal: str | None) -> None:
    assert normalized_uri(uri) == normal


def test_htu_drops_query_and_fragment() -> None:
    assert htu_of("https://api.example.com/orders?a=1#b") == URL


def test_request_url_comes_from_api_gateway_context_or_the_configured_origin() -> None:
    context = {"domainName": "abc.execute-api.us-east-1.amazonaws.com", "path": "/api/orders"}

    assert request_url(context) == "https://abc.execute-api.us-east-1.amazonaws.com/api/orders"
    assert request_url(context, "http://127.0.0.1:8001/") == "http://127.0.0.1:8001/api/orders"
    assert request_url({"path": "/orders"}) is None  # never the Host header
    assert request_url({"domainName": "x"}) is None
