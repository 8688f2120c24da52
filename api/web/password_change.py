"""A signed-in user changes its own password: a partner user in the portal, finance
(past its second factor) and sales ops in the console.

One form on two addresses, each in its area's look: `/portal/account/password` for a
partner user (its partner's menu and locale), `/console/account/password` for the
console's users. The rules are `payouts.password_change`'s; the page says each
refusal beside the field it concerns, and works without JavaScript (a redirect after
a change, so a reload posts nothing twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import engine_of
from api.refusals import NotFound
from api.web.console.access import ConsoleMember
from api.web.i18n import DEFAULT_LOCALE
from api.web.security import SignedIn, address, form_of_session
from api.web.templating import render
from payouts import leaderboard, password_change, sign_in, users
from payouts.db import unit_of_work
from payouts.reference.models import Partner

PORTAL_PATH = "/portal/account/password"
CONSOLE_PATH = "/console/account/password"

router = APIRouter(include_in_schema=False)


def password_path(user: sign_in.Current) -> str:
    """Where the user changes its password: in its own area."""
    return PORTAL_PATH if user.role is users.UserRole.PARTNER else CONSOLE_PATH


@dataclass(frozen=True, slots=True)
class _Refusal:
    """What the form says went wrong, field by field."""

    current: str | None = None
    """'refused' (not the password in use) or 'locked'."""
    minutes: int = 0
    problems: list[str] = field(default_factory=list)
    """The new password's problems (`users.PasswordProblem` values)."""


def _refusal(refused: Exception) -> _Refusal:
    if isinstance(refused, sign_in.SignInLocked):
        return _Refusal(current="locked", minutes=refused.minutes)
    if isinstance(refused, users.PasswordRefused):
        return _Refusal(problems=[problem.value for problem in refused.problems])
    return _Refusal(current="refused")


def _page(
    request: Request,
    user: sign_in.Current,
    *,
    refusal: _Refusal | None = None,
    done: bool = False,
    status: int = 200,
) -> Response:
    partner: Partner | None = None
    board_on = False
    if user.partner_id is not None:  # the portal's look: its partner's menu and locale
        with unit_of_work(engine_of(request), read_only=True) as session:
            partner = session.get(Partner, user.partner_id)
            board_on = leaderboard.enabled(session)
            if partner is not None:
                session.expunge(partner)
    return render(
        request,
        "account_password.html",
        locale=partner.locale if partner is not None else DEFAULT_LOCALE,
        currency=partner.payout_currency if partner is not None else "USD",
        status=status,
        partner=partner,
        leaderboard_on=board_on,
        layout="base.html" if user.partner_id is not None else "console/base.html",
        action=password_path(user),
        refusal=refusal or _Refusal(),
        done=done,
        minimum=users.MIN_PASSWORD,
        maximum=users.MAX_PASSWORD,
    )


async def _submit(request: Request, user: sign_in.Current) -> Response:
    form = await form_of_session(request, user)
    refused: Exception | None = None
    with unit_of_work(engine_of(request)) as session:
        try:
            password_change.change_password(
                session,
                user,
                current_password=str(form.get("current_password", "")),
                password=str(form.get("password", "")),
                confirmation=str(form.get("confirmation", "")),
                address=address(request),
            )
        except (sign_in.SignInRefused, sign_in.SignInLocked, users.PasswordRefused) as error:
            refused = error  # a wrong password in use is counted: this unit of work commits
    if refused is not None:
        status = 429 if isinstance(refused, sign_in.SignInLocked) else 422
        return _page(request, user, refusal=_refusal(refused), status=status)
    return RedirectResponse(f"{password_path(user)}?done=changed", status_code=303)


Done = Annotated[str, Query(max_length=20)]


@router.get(PORTAL_PATH)
def portal_form(request: Request, user: SignedIn, done: Done = "") -> Response:
    if user.role is not users.UserRole.PARTNER:
        return RedirectResponse(CONSOLE_PATH, status_code=303)
    return _page(request, user, done=done == "changed")


@router.post(PORTAL_PATH)
async def portal_submit(request: Request, user: SignedIn) -> Response:
    if user.role is not users.UserRole.PARTNER:
        raise NotFound("no such page")
    return await _submit(request, user)


@router.get(CONSOLE_PATH)
def console_form(request: Request, user: ConsoleMember, done: Done = "") -> Response:
    return _page(request, user, done=done == "changed")


@router.post(CONSOLE_PATH)
async def console_submit(request: Request, user: ConsoleMember) -> Response:
    return await _submit(request, user)
