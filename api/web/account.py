"""Signing in and out, and choosing a password through an invitation or reset link.

Shared by every web area (the partner portal now, the finance console next): after
signing in, a user lands where its role belongs (`landing`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import engine_of
from api.web.security import (
    SignedIn,
    anonymous_csrf,
    anonymous_form,
    clear_session_cookie,
    current,
    form_of_session,
    safe_next,
    set_session_cookie,
)
from api.web.security import address as client_address
from api.web.templating import render
from payouts import sign_in, users
from payouts.db import unit_of_work

router = APIRouter(prefix="/portal", include_in_schema=False)

NOTICES = ("password", "signed-out")
"""What the sign-in page may say on arrival (its words are in the template)."""


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def landing(user: sign_in.Current) -> str:
    """Where a user goes after signing in: a partner user to its partner's dashboard,
    a finance user to the console (which first asks for its second factor), sales ops to
    the rep credit."""
    if user.partner_id is not None:
        return f"/portal/partners/{user.partner_id}"
    if user.role is users.UserRole.FINANCE:
        return "/console"
    if user.role is users.UserRole.SALES_OPS:
        return "/console/rep-credit"
    return "/portal"


def _sign_in_page(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    minutes: int = 0,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    csrf = anonymous_csrf(request)
    response = render(
        request,
        "sign_in.html",
        status=status,
        form_token=csrf.token,
        next_path=next_path,
        email=email,
        error=error,
        minutes=minutes,
        notice=notice,
    )
    csrf.keep(response, request)
    return response


@router.get("/sign-in")
def sign_in_form(
    request: Request,
    next: Annotated[str, Query(max_length=500)] = "/portal",
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    user = current(request)
    if user is not None:
        return _see_other(landing(user) if safe_next(next) == "/portal" else safe_next(next))
    return _sign_in_page(
        request, next_path=safe_next(next), notice=done if done in NOTICES else None
    )


@router.post("/sign-in")
async def sign_in_submit(request: Request) -> Response:
    form = await anonymous_form(request)
    email = str(form.get("email", ""))[:254]
    password = str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", "")))
    previous = current(request)
    with unit_of_work(engine_of(request)) as session:
        if previous is not None:  # a new session at every sign-in, never the old one
            sign_in.sign_out(session, previous)
        try:
            started = sign_in.sign_in(session, email, password, client_address(request))
        except (sign_in.SignInRefused, sign_in.SignInLocked) as refused:
            started, error = None, refused
    if started is None:
        locked = isinstance(error, sign_in.SignInLocked)
        return _sign_in_page(
            request,
            next_path=next_path,
            email=email,
            error="locked" if locked else "refused",
            minutes=error.minutes if isinstance(error, sign_in.SignInLocked) else 0,
            status=429 if locked else 401,
        )
    user = sign_in.Current(
        session_id=started.session.id,
        csrf_token=started.session.csrf_token,
        user_id=started.user.id,
        email=started.user.email,
        role=users.UserRole(started.user.role),
        partner_id=started.user.partner_id,
        second_factor=False,
        last_seen_at=started.session.last_seen_at,
    )
    response = _see_other(landing(user) if next_path == "/portal" else next_path)
    set_session_cookie(response, request, started.secret)
    response.delete_cookie("pp_csrf", path="/portal")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, user: SignedIn) -> Response:
    await form_of_session(request, user)
    with unit_of_work(engine_of(request)) as session:
        sign_in.sign_out(session, user)
    response = _see_other("/portal/sign-in?done=signed-out")
    clear_session_cookie(response, request)
    return response


def _link_invalid(request: Request) -> Response:
    return render(request, "link_invalid.html", status=404)


def _password_page(
    request: Request,
    secret: str,
    email: str,
    problems: list[users.PasswordProblem],
    status: int = 200,
) -> Response:
    csrf = anonymous_csrf(request)
    response = render(
        request,
        "password.html",
        status=status,
        form_token=csrf.token,
        secret=secret,
        email=email,
        problems=[problem.value for problem in problems],
        minimum=users.MIN_PASSWORD,
        maximum=users.MAX_PASSWORD,
    )
    csrf.keep(response, request)
    return response


@router.get("/password/{secret}")
def password_form(request: Request, secret: str) -> Response:
    try:
        with unit_of_work(engine_of(request), read_only=True) as session:
            _, user = users.link_user(session, secret[:100])
            email = user.email
    except users.LinkInvalid:
        return _link_invalid(request)
    return _password_page(request, secret, email, [])


@router.post("/password/{secret}")
async def password_submit(request: Request, secret: str) -> Response:
    form = await anonymous_form(request)
    password = str(form.get("password", ""))
    confirmation = str(form.get("confirmation", ""))
    try:
        with unit_of_work(engine_of(request)) as session:
            users.set_password(session, secret[:100], password, confirmation)
    except users.LinkInvalid:
        return _link_invalid(request)
    except users.PasswordRefused as refused:
        with unit_of_work(engine_of(request), read_only=True) as session:
            _, user = users.link_user(session, secret[:100])
            email = user.email
        return _password_page(request, secret, email, refused.problems, 422)
    response = _see_other("/portal/sign-in?done=password")
    clear_session_cookie(response, request)
    return response
