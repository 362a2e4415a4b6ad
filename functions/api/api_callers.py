"""Who calls the api function: the operator on the operator routes, else the authorizer's user."""

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from vs_common.identity import AuthMethod, Caller, header, local_owner

OPERATOR_PREFIX = "/operator/"


def operator_of(event: APIGatewayProxyEvent, function_arn: str) -> Caller | None:
    """The operator: a SigV4-signed request API Gateway verified (AWS_IAM) from this account."""
    identity = event.request_context.identity
    own_account = function_arn.split(":")[4]
    if identity.user_arn and identity.account_id == own_account:
        return Caller(identity.user_arn, AuthMethod.OPERATOR)
    return None


def caller_of(
    event: APIGatewayProxyEvent, function_arn: str, local_key_fallback: bool
) -> Caller | None:
    """Who calls, or None when the request has no identity for its route.

    With `local_key_fallback` (`sam local start-api --disable-authorizer`) a user's route also
    takes the x-api-key header unverified, standing for the owner named by its hash.
    """
    if event.resource.startswith(OPERATOR_PREFIX):
        return operator_of(event, function_arn)
    caller = Caller.from_context(event.request_context.authorizer.raw_event)
    if caller is None and local_key_fallback:
        value = header(event.headers, "x-api-key")
        caller = Caller(local_owner(value), AuthMethod.LOCAL) if value else None
    if caller is None or caller.method is AuthMethod.OPERATOR:
        return None
    return caller
