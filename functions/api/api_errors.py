"""The api function's error answers: JSON {"error": {"code", "message"}} with an HTTP status."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

UNAUTHORIZED_MESSAGE = "sign in or send a valid x-api-key header"


class ApiError(Exception):
    """An error the caller should see, with its HTTP status and a stable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> Response:
    """The JSON error answer of this status, code and message."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message}},
    )


def unauthorized() -> Response:
    """The answer to a request without an identity for its route."""
    return error_response(401, "unauthorized", UNAUTHORIZED_MESSAGE)


def validation_error_response(exc: RequestValidationError) -> Response:
    """400 for a body that is not JSON, else 422 naming each invalid field and why."""
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return error_response(422, "validation_error", "; ".join(parts))
