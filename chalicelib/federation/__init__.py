"""Federated workload identity: trusted issuers, their keys, and the guarded fetches
that get those keys (docs/federation.md)."""
