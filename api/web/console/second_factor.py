"""The second factor's page: enrol an authenticator app (a QR code), or type its code.

A finance user lands here after the password. Not yet enrolled: the page shows a new
secret as a QR code (and as text), and the first right code confirms it and shows the
recovery codes, once. Enrolled: the page asks for the app's current code or one
recovery code. Until then the session reaches nothing else of the console. Passing
it is a change of privilege: the session is replaced by a new one (new cookie, new
CSRF token), as at sign-in, so a cookie seen before the code was typed is worthless.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import engine_of
from api.web.console.access import FinanceUser, safe_console_next
from api.web.security import form_of_session, set_session_cookie
from api.web.templating import render
from payouts import second_factor, sign_in
from payouts.db import unit_of_work

router = APIRouter(prefix="/console", include_in_schema=False)


def _page(
    request: Request,
    user: sign_in.Current,
    next_path: str,
    *,
    error: str | None = None,
    minutes: int = 0,
    status: int = 200,
) -> Response:
    with unit_of_work(engine_of(request)) as session:
        enrolled = second_factor.enrolled(session, user.user_id)
        enrolment = None if enrolled else second_factor.enrolment(session, user.user_id)
    return render(
        request,
        "console/second_factor.html",
        status=status,
        enrolment=enrolment,
        next_path=next_path,
        error=error,
        minutes=minutes,
    )


@router.get("/second-factor")
def second_factor_form(
    request: Request,
    user: FinanceUser,
    next: Annotated[str, Query(max_length=500)] = "/console",
) -> Response:
    if user.fully_signed_in:
        return RedirectResponse(safe_console_next(next), status_code=303)
    return _page(request, user, safe_console_next(next))


@router.post("/second-factor")
async def second_factor_submit(request: Request, user: FinanceUser) -> Response:
    form = await form_of_session(request, user)
    next_path = safe_console_next(str(form.get("next", "")))
    if user.fully_signed_in:
        return RedirectResponse(next_path, status_code=303)
    code = str(form.get("code", ""))[:40]
    refusal: second_factor.CodeRefused | second_factor.CodesLocked | None = None
    with unit_of_work(engine_of(request)) as session:
        try:
            checked = second_factor.check(session, user.user_id, user.session_id, code)
            # A change of privilege: a new session, as at sign-in (the old cookie ends).
            cookie = sign_in.rotate(session, user.session_id)
            rotated = sign_in.current(session, cookie)
        except (second_factor.CodeRefused, second_factor.CodesLocked) as refused:
            refusal = refused  # the failed attempt is kept: this unit of work commits
    if refusal is not None:
        locked = isinstance(refusal, second_factor.CodesLocked)
        return _page(
            request,
            user,
            next_path,
            error="locked" if locked else "refused",
            minutes=refusal.minutes if isinstance(refusal, second_factor.CodesLocked) else 0,
            status=429 if locked else 401,
        )
    response: Response = RedirectResponse(next_path, status_code=303)
    if checked.recovery_codes:
        request.state.signed_in = rotated  # the page's forms carry the new session's token
        response = render(
            request,
            "console/recovery_codes.html",
            codes=checked.recovery_codes,
            next_path=next_path,
        )
    set_session_cookie(response, request, cookie)
    return response
