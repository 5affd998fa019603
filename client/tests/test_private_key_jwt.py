"""PrivateKeyJwt: the assertions m2m_client signs for private_key_jwt (RFC 7523 §2.2, §3)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from m2m_testkit import FakeClock, ScriptedAdapter, session_with, token_reply

from m2m_client import AssertionCredentials, PrivateKeyJwt, TokenClient

ISSUER = "https://auth.example.com"
CLIENT_ID = "abcdefghijklmnopqrstuvwxyz"


def keys() -> dict[str, Any]:
    return {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    }


def verify(token: str, source: PrivateKeyJwt) -> dict[str, Any]:
    public = jwt.PyJWK(source.public_jwk()).key
    # the test clock is fixed in the past: times are checked by the tests themselves
    claims: dict[str, Any] = jwt.decode(token, public, algorithms=[source.alg], audience=ISSUER,
                                        issuer=CLIENT_ID, options={"verify_exp": False})
    return claims


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_signs_an_assertion_with_our_issuer_as_sole_audience(alg: str) -> None:
    clock = FakeClock()
    source = PrivateKeyJwt(CLIENT_ID, keys()[alg], kid="k1", clock=clock)

    token = source.assertion(ISSUER)

    header = jwt.get_unverified_header(token)
    assert header == {"alg": alg, "typ": "client-authentication+jwt", "kid": "k1"}
    claims = verify(token, source)
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == ISSUER
    assert claims["iat"] == int(clock())
    assert claims["exp"] - claims["iat"] == 60
    assert len(claims["jti"]) >= 24


def test_every_assertion_has_a_new_jti() -> None:
    source = PrivateKeyJwt(CLIENT_ID, keys()["ES256"])

    jtis = {jwt.decode(source.assertion(ISSUER), options={"verify_signature": False})["jti"]
            for _ in range(20)}

    assert len(jtis) == 20


def test_accepts_pem_text_and_a_private_jwk_whose_kid_it_uses() -> None:
    key = keys()["ES256"]
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    private_jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True), "kid": "from-jwk"}

    from_pem = PrivateKeyJwt(CLIENT_ID, pem, kid="k1")
    from_jwk = PrivateKeyJwt(CLIENT_ID, private_jwk)

    assert verify(from_pem.assertion(ISSUER), from_jwk)["sub"] == CLIENT_ID
    assert from_jwk.kid == "from-jwk"


def test_rsa_may_sign_ps256_but_an_alg_that_does_not_fit_the_key_is_refused() -> None:
    source = PrivateKeyJwt(CLIENT_ID, keys()["RS256"], alg="PS256")
    assert jwt.get_unverified_header(source.assertion(ISSUER))["alg"] == "PS256"

    with pytest.raises(ValueError):
        PrivateKeyJwt(CLIENT_ID, keys()["ES256"], alg="RS256")
    with pytest.raises(ValueError):
        PrivateKeyJwt(CLIENT_ID, ec.generate_private_key(ec.SECP384R1()))


@pytest.mark.parametrize("lifetime", [0, 301])
def test_refuses_a_lifetime_the_server_would_refuse(lifetime: int) -> None:
    with pytest.raises(ValueError):
        PrivateKeyJwt(CLIENT_ID, keys()["ES256"], lifetime=lifetime)


def test_public_jwk_holds_no_private_member() -> None:
    for alg, key in keys().items():
        jwk = PrivateKeyJwt(CLIENT_ID, key, kid="k1").public_jwk()

        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
        assert (jwk["kid"], jwk["alg"], jwk["use"]) == ("k1", alg, "sig")


def test_repr_never_shows_the_key() -> None:
    key = keys()["EdDSA"]
    source = PrivateKeyJwt(CLIENT_ID, key, kid="k1")
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())

    assert raw.hex() not in repr(source)
    assert "k1" in repr(source)
    assert isinstance(source, AssertionCredentials)


def test_token_client_sends_a_fresh_private_key_jwt_per_request() -> None:
    adapter = ScriptedAdapter(token_reply("tok-1"), token_reply("tok-2"))
    source = PrivateKeyJwt(CLIENT_ID, keys()["ES256"], kid="k1")
    client = TokenClient(ISSUER + "/oauth/token", CLIENT_ID, audience="https://api.example.com",
                         credentials=source, issuer=ISSUER, session=session_with(adapter),
                         clock=FakeClock())

    client.get_token()
    client.invalidate()
    client.get_token()

    from urllib.parse import parse_qs

    sent = [parse_qs(str(r.body)) for r in adapter.sent]
    assertions = [form["client_assertion"][0] for form in sent]
    assert assertions[0] != assertions[1]
    assert all(verify(a, source)["aud"] == ISSUER for a in assertions)
