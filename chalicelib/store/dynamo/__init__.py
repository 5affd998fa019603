"""The DynamoDB adapter, one module per aggregate (composed in :mod:`..dynamodb`)."""
