"""The API layer's own refusals (authentication, roles, limits, idempotency): the
exceptions alone, apart from `api.errors`, which turns them into HTTP responses, so
that the command line can raise and catch them without loading the web framework."""

from __future__ import annotations


class ApiError(Exception):
    """An error of the API layer itself (authentication, roles, limits, idempotency)."""

    code = "api-error"
    status = 400
    title = "Bad request"

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class NotAuthenticated(ApiError):
    code = "not-authenticated"
    status = 401
    title = "Not authenticated"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class TooManyFailedAuthentications(ApiError):
    code = "too-many-failed-authentications"
    status = 429
    title = "Too many failed authentications"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed authentications from this address: retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


class Forbidden(ApiError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class NotFound(ApiError):
    code = "not-found"
    status = 404
    title = "Not found"


class IdempotencyKeyReused(ApiError):
    code = "idempotency-key-reused"
    status = 409
    title = "Idempotency key reused"


class UnsupportedMediaType(ApiError):
    code = "unsupported-media-type"
    status = 415
    title = "Unsupported media type"
