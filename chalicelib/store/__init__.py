"""Storage: records, repository protocols, the DynamoDB adapter and in-memory fakes."""
