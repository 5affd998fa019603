"""Signing: JWK and JWS encoding, the Signer protocol and its KMS adapter, the key ring."""
