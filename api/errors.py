"""The one place where errors become HTTP responses: RFC 9457 problem+json, or for the
web pages (`api.web`, which registers itself in `app.state.page_errors`) an HTML page.

Every domain error carries a stable `code`; its problem `type` is
`https://partner-payouts.dev/problems/<code>`. Validation problems list every error
of the request at once (with the record index and id, or the path), never only the
first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.refusals import ApiError
from payouts.errors import PayoutsError
from payouts.facts.ingest import FactsRefused
from plans.errors import PlanInvalid, PlansError

PROBLEM_BASE = "https://partner-payouts.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
SAFE_HEADERS = {
    # Answers are per caller and about money: no cache, shared or private, keeps one.
    "Cache-Control": "no-store",
    # A statement or payout file is what its Content-Type says, never sniffed as HTML.
    "X-Content-Type-Options": "nosniff",
}

log = logging.getLogger(__name__)


class ProblemDetail(BaseModel):
    """One error of a request: where (record index and id, or a path) and what."""

    model_config = ConfigDict(extra="forbid")

    message: str
    index: int | None = Field(default=None, description="Position of the record, from 1.")
    id: str | None = Field(default=None, description="The record's id, when it has one.")
    path: str | None = Field(default=None, description="Where in the request, e.g. body.amount.")
    conflict: bool | None = Field(default=None, description="The id exists with other content.")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemDetail] = Field(default_factory=list)


def _title(code: str) -> str:
    return code.replace("-", " ").capitalize()


def _page(request: Request, status: int, detail: str) -> Response | None:
    """The error as a page when the request was for one (else None: problem+json)."""
    pages = getattr(request.app.state, "page_errors", None)
    if pages is None or not pages[0](request):
        return None
    answer: Response = pages[1](request, status, detail)
    return answer


def problem(
    code: str,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[ProblemDetail] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_BASE + code,
        title=title or _title(code),
        status=status,
        detail=detail,
        errors=errors or [],
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _record_errors(exc: FactsRefused) -> list[ProblemDetail]:
    out: list[ProblemDetail] = []
    for error in exc.errors:
        for message in error.messages:
            field, sep, rest = message.partition(": ")
            path = field if sep and " " not in field else None
            out.append(
                ProblemDetail(
                    index=error.index,
                    id=error.id,
                    path=path,
                    message=rest if path else message,
                    conflict=error.conflict,
                )
            )
    return out


def _payouts_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PayoutsError)
    if (page := _page(request, exc.status, exc.message)) is not None:
        return page
    errors = _record_errors(exc) if isinstance(exc, FactsRefused) else []
    return problem(exc.code, exc.status, exc.message, errors=errors)


def _plans_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PlansError)
    status = 422  # plans errors carry no HTTP status: all are about the request's content
    if isinstance(exc, PlanInvalid):
        errors = [ProblemDetail(path=e.path or None, message=e.message) for e in exc.errors]
        return problem(
            exc.code, status, f"the plan is invalid ({len(errors)} error(s))", errors=errors
        )
    return problem(exc.code, status, str(exc))


def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if (page := _page(request, exc.status, exc.message)) is not None:
        return page
    return problem(exc.code, exc.status, exc.message, title=exc.title, headers=exc.headers)


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if (page := _page(request, 422, "no such page")) is not None:
        return page
    errors = []
    for item in exc.errors():
        loc: tuple[Any, ...] = tuple(item.get("loc", ()))
        errors.append(
            ProblemDetail(
                path=".".join(str(part) for part in loc) or None,
                message=str(item.get("msg", "invalid")).removeprefix("Value error, "),
            )
        )
    return problem(
        "request-invalid",
        422,
        f"the request is invalid ({len(errors)} error(s))",
        title="Request invalid",
        errors=errors,
    )


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if (page := _page(request, exc.status_code, str(exc.detail))) is not None:
        return page
    codes = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}
    code = codes.get(exc.status_code, f"http-{exc.status_code}")
    return problem(code, exc.status_code, str(exc.detail), headers=exc.headers)


def _unstorable(_: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the validation let through (a NUL character in
    # text on PostgreSQL, a number beyond 64 bits): a problem with the input, not a crash.
    log.info("value refused by the database: %s", exc)
    return problem(
        "value-not-storable",
        422,
        "a value of the request cannot be stored (a NUL character, or a number too large)",
    )


def _write_conflict(_: Request, exc: Exception) -> JSONResponse:
    log.info("write conflict: %s", exc)
    return problem(
        "write-conflict",
        409,
        "another request changed the same records at the same time; retry the request",
    )


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    if (
        page := _page(request, 500, "an unexpected error happened; it has been logged")
    ) is not None:
        page.headers.update(SAFE_HEADERS)
        return page
    # Answered outside the middleware that adds SAFE_HEADERS to every other response.
    return problem(
        "internal-error",
        500,
        "an unexpected error happened; it has been logged",
        headers=SAFE_HEADERS,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(PayoutsError, _payouts_error)
    app.add_exception_handler(PlansError, _plans_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(OverflowError, _unstorable)
    app.add_exception_handler(IntegrityError, _write_conflict)
    app.add_exception_handler(Exception, _unexpected)


PROBLEM_RESPONSE: dict[str, Any] = {
    "model": Problem,
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems a route may answer."""
    descriptions = {
        400: "Bad request",
        401: "Missing, unknown, expired or revoked API key",
        403: "The key's role may not do this",
        404: "Not found (also: another partner's resource)",
        409: "Conflict",
        413: "Request body too large",
        429: "Too many failed authentications from this address (see Retry-After)",
        415: "Unsupported media type",
        422: "Every validation error of the request",
    }
    # A route that takes a key may also answer 429: repeated bad keys are throttled.
    codes = sorted({*statuses, 429} if 401 in statuses else set(statuses))
    return {
        status: {"description": descriptions.get(status, "Problem"), **PROBLEM_RESPONSE}
        for status in codes
    }
