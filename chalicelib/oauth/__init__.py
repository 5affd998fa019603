"""OAuth 2.0 protocol rules. Nothing here touches AWS: it takes repositories and a signer."""
