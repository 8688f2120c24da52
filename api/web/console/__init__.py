"""The finance console under `/console`: finance's pages, past a second factor.

Built on the portal's sign-in, sessions, CSRF and templates (`api.web`). Every page
depends on `access.ConsoleUser`: a finance user whose session has passed its second
factor (`payouts.second_factor`); anyone else reaches nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import engine_of
from api.web.console import (
    access,
    adjustments,
    inquiries,
    partners,
    periods,
    plans,
    records,
    second_factor,
)
from api.web.templating import render
from payouts import adjustments as adjustment_service
from payouts import second_factor as factor_service
from payouts.db import unit_of_work

home_router = APIRouter(prefix="/console", include_in_schema=False)


@home_router.get("")
def home(request: Request, user: access.ConsoleUser) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        pending = adjustment_service.listed(session, status=adjustment_service.Status.PENDING)
        codes_left = factor_service.recovery_codes_left(session, user.user_id)
    return render(request, "console/home.html", pending=len(pending), codes_left=codes_left)


def _second_factor_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, access.SecondFactorRequired)
    target = access.safe_console_next(exc.next_path)
    return RedirectResponse(f"{access.SECOND_FACTOR_PATH}?next={target}", status_code=303)


def install(app: FastAPI) -> None:
    app.add_exception_handler(access.SecondFactorRequired, _second_factor_required)
    app.include_router(second_factor.router)
    app.include_router(home_router)
    app.include_router(adjustments.router)
    app.include_router(periods.router)
    app.include_router(inquiries.router)
    app.include_router(partners.router)
    app.include_router(records.router)
    app.include_router(plans.router)
