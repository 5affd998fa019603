"""Adapters that talk to AWS: KMS signing and key creation, STS, CloudWatch metrics (EMF), clients.

The DynamoDB adapter sits in :mod:`chalicelib.store.dynamo` beside its in-memory twin, which
the same contract tests run against."""
