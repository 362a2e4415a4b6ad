"""Authorizer of the REST API (Lambda, REQUEST): who is calling, and which usage plan key meters it.

Accepts `Authorization: Bearer <Cognito ID or access token>` (verified against the user pool's
keys) or `x-api-key: <key a user created>` (looked up by its hash). Answers an Allow policy with
the caller in the context (owner = the user's Cognito subject) and `usageIdentifierKey`, since
the API reads its keys from the authorizer (ApiKeySourceType AUTHORIZER). Anything else raises
"Unauthorized", which API Gateway turns into 401.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from vs_common import aws
from vs_common.apikeys import KeyStore, UsagePlanKeys, meter_value
from vs_common.identity import AuthMethod, Caller, bearer_token, header, local_owner
from vs_common.invocation import per_invocation_logs
from vs_common.settings import Settings
from vs_common.tokens import CognitoVerifier, InvalidToken, PoolConfig

SETTINGS = Settings.from_env()

logger = Logger()
tracer = Tracer()
keys = KeyStore(aws.table(SETTINGS.keys_table))
plan_keys = UsagePlanKeys(aws.client("apigateway"), SETTINGS.usage_plan_name)
verifier = CognitoVerifier(
    PoolConfig(
        SETTINGS.region,
        SETTINGS.user_pool_id,
        SETTINGS.user_pool_client_id,
        SETTINGS.cognito_endpoint_url,
    )
)
# Users whose meter key is known to exist, so that only a user's first request pays for it.
_metered: set[str] = set()


class Unauthorized(Exception):
    """API Gateway answers 401 when an authorizer fails with exactly this message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def _meter_key(owner: str) -> str:
    """The usage plan key metering a user's token requests, created on their first one."""
    value = meter_value(owner)
    if owner not in _metered:
        if keys.meter_key_id(owner) is None:
            keys.put_meter(owner, plan_keys.create(value, value))
        _metered.add(owner)
    return value


def authenticate(headers: dict[str, str] | None) -> tuple[Caller, str | None]:
    """The caller and the value of their usage plan key; Unauthorized if neither proof holds."""
    token = bearer_token(headers)
    if token is not None:
        try:
            claims = verifier.verify(token)
        except InvalidToken as exc:
            logger.info("token refused", extra={"reason": str(exc)})
            raise Unauthorized from exc
        owner = claims["sub"]
        return Caller(owner, AuthMethod.TOKEN), _meter_key(owner)
    value = header(headers, "x-api-key")
    if value:
        found = keys.owner_of(value)
        if found is not None:
            owner, key_id = found
            return Caller(owner, AuthMethod.KEY, key_id), value
        if SETTINGS.local_key_fallback:
            return Caller(local_owner(value), AuthMethod.LOCAL), None
    raise Unauthorized


@per_invocation_logs(logger)
@tracer.capture_lambda_handler(capture_response=False)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(
    event: APIGatewayAuthorizerRequestEvent, context: LambdaContext
) -> dict[str, Any]:
    """Allow the caller on every route of this stage, or raise Unauthorized."""
    caller, usage_key = authenticate(event.headers)
    logger.info("caller", extra={"auth": caller.method.value, "key_id": caller.key_id})
    response = APIGatewayAuthorizerResponse.from_route_arn(
        event.method_arn, caller.owner, caller.context(), usage_key
    )
    # Results are not cached (no identity source): a stage-wide Allow covers this call only.
    response.allow_all_routes()
    return response.asdict()
