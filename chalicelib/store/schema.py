"""The single DynamoDB table's layout. ``infra/`` declares the same table.

======================  ==================  =============================================
pk                      sk                  item
======================  ==================  =============================================
APP#<client_id>         #APP                app metadata (enabled, claims, lifetime cap)
APP#<client_id>         SECRET#<secret_id>  secret hash and metadata
APP#<client_id>         GRANT#<api_id>      grant: audience, scopes, token lifetime
APP#<client_id>         JWK#<kid>           public JWK and its alg (private_key_jwt)
APP#<client_id>         AWSPRIN#<id>        IAM role/user ARN the app authenticates as
AWSARN#<key>            APP#<client_id>     lookup: principal (normal form) -> its apps
API#<api_id>            #API                API: identifier, name, scopes, lifetime
APIIDENT#<ident>        #APIIDENT           uniqueness guard for an API identifier
KEYS                    KEY#<kid>           signing-key record
JTI#<jti>               #JTI                revoked token id, expires by TTL at its exp
ASSERTION#<ns>#<jti>    #ASSERTION          used client-assertion id (single use), TTL at exp;
                                            DPoP proof ids in namespace dpop:<jkt>
DPOPNONCE#<scope>#<n>   #DPOPNONCEKEY       random HMAC key of DPoP nonces of day n, TTL 2 days on
ISSUER#<issuer_id>      #ISSUER             trusted issuer (federation); gsi1pk ISSUER
APP#<client_id>         FED#<id>            federated identity: issuer, subject, audience
FEDSUB#<sha256>         APP#<client_id>     lookup sha256(issuer LF subject): one per app,
                                            carrying the rule (subject, required claims)
FEDPAT#<sha256>         APP#<id>#<sha256>   lookup sha256(issuer) of subject patterns: one
                                            per app and pattern, carrying the rule
APP#<client_id>         EXCHANGE#<api_id>   token-exchange policy of the app as caller:
                                            sources, target scopes, delegation, act depth
USAGE#<client_id>       DAY#<yyyy-mm-dd>    fresh-token counts of a UTC day (day_count, h00..h23),
                                            expires by TTL 35 days after the day starts
======================  ==================  =============================================

Putting an app's secrets, grants, keys, AWS principals, federated identities and
exchange policies in its own partition lets one ``Query`` answer a token request.
``gsi1`` lists items of one kind (apps, APIs, issuers) for admin.
"""

from __future__ import annotations

from typing import Any

TTL_ATTRIBUTE = "ttl"
GSI1 = "gsi1"


def table_definition(table_name: str) -> dict[str, Any]:
    """``CreateTable`` arguments, used by local mode and tests."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "gsi1pk", "AttributeType": "S"},
            {"AttributeName": "gsi1sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": GSI1,
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def create_table(client: Any, table_name: str) -> None:
    """Create the table and enable TTL (local mode and tests)."""
    client.create_table(**table_definition(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
