"""Who reaches the finance console: a signed-in finance user past its second factor.

Everyone else gets nothing: no session is sent to sign in; a partner user, and a
sales-ops user outside the rep credit pages, gets the same 404 as for a page that does
not exist; a finance user whose
session has not passed its second factor is sent to that check, whatever the page
or form (a POST changes nothing).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.refusals import NotFound
from api.web.security import signed_in
from payouts import sign_in
from payouts.users import UserRole

SECOND_FACTOR_PATH = "/console/second-factor"


class SecondFactorRequired(Exception):
    """A finance session without its second factor: answered with a redirect to it."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def finance_user(request: Request) -> sign_in.Current:
    """A signed-in finance user (any session state): for the second factor's own page."""
    user = signed_in(request)
    if user.role is not UserRole.FINANCE:
        raise NotFound("no such page")
    return user


def console_user(request: Request) -> sign_in.Current:
    """A dependency: a finance user past its second factor, or nothing."""
    user = finance_user(request)
    if not user.fully_signed_in:
        target = request.url.path if request.method == "GET" else "/console"
        raise SecondFactorRequired(target)
    return user


def console_member(request: Request) -> sign_in.Current:
    """A dependency: whoever has console pages of its own: sales ops, or finance past
    its second factor (the rep credit, their own account)."""
    user = signed_in(request)
    if user.role is UserRole.SALES_OPS:
        return user
    return console_user(request)


def rep_credit_reader(request: Request) -> sign_in.Current:
    """A dependency: sales ops (rep credit is theirs), or finance past its second factor."""
    return console_member(request)


FinanceUser = Annotated[sign_in.Current, Depends(finance_user)]
RepCreditReader = Annotated[sign_in.Current, Depends(rep_credit_reader)]
ConsoleUser = Annotated[sign_in.Current, Depends(console_user)]
ConsoleMember = Annotated[sign_in.Current, Depends(console_member)]


def safe_console_next(next_path: str | None) -> str:
    """Where to go after the second factor: a page of the console, never another site."""
    if (
        next_path
        and next_path.startswith("/console")
        and not next_path.startswith(SECOND_FACTOR_PATH)
        and "//" not in next_path
        and "\\" not in next_path
        and all(" " < c < "\x7f" for c in next_path)
    ):
        return next_path
    return "/console"
