"""Who is calling the HTTP API: an API key (checked by `api.principals`), or a web
user's session; the FastAPI dependencies that let a role through.

Roles: `finance` may do everything; `billing` ingests facts and asks for quotes;
`partner` sees its own partner record, statements and tier status (another
partner's resources answer 404, so a partner cannot even learn they exist);
`sales_ops` reads rep credit.

A web session (the portal's cookie) may read the API too, as its user
(`user:<id>:<email>`): for reading only (a write needs an API key, or goes through
the pages' forms with their CSRF token), and a finance session only with its second
factor (`UserRole.needs_second_factor`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from api.limits import FailedAuthentications
from api.principals import Principal, PrincipalKind, Role, principal_for
from api.refusals import Forbidden, NotAuthenticated, NotFound, TooManyFailedAuthentications
from payouts import sign_in
from payouts.db import read_only_connection

SESSION_COOKIE = "pp_session"
"""The portal's session cookie: the secret of a row of `web_sessions`."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer ppk_...`")


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller's key (or session); an address with too many recent bad ones is refused
    first."""
    failures: FailedAuthentications = request.app.state.failed_authentications
    address = request.client.host if request.client else ""
    wait = failures.retry_after(address)
    if wait is not None:
        raise TooManyFailedAuthentications(wait)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if (credentials is None or not credentials.credentials) and not cookie:
        # Not a guess: nothing to count, and no key to look up.
        raise NotAuthenticated("an API key is required: Authorization: Bearer <key>")
    try:
        with read_only_connection(engine_of(request)) as connection:
            if credentials is not None and credentials.credentials:
                return principal_for(connection, credentials.credentials)
            signed_in = sign_in.current(connection, cookie)
    except NotAuthenticated:
        failures.failed(address)
        raise
    if signed_in is None:
        failures.failed(address)
        raise NotAuthenticated("the session has ended: sign in again, or use an API key")
    return _session_principal(request, signed_in)


def _session_principal(request: Request, signed_in: sign_in.Current) -> Principal:
    if request.method not in SAFE_METHODS:
        raise Forbidden("a web session only reads the API: writing needs an API key")
    if not signed_in.fully_signed_in:
        raise Forbidden(
            f"a {signed_in.role.value} web session needs its second factor to use the API"
        )
    return Principal(
        str(signed_in.user_id),
        signed_in.email,
        Role(signed_in.role.value),
        signed_in.partner_id,
        PrincipalKind.USER,
    )


def allow(*roles: Role) -> Callable[..., Principal]:
    """A dependency that lets only the given roles (and always finance) through."""
    allowed = {Role.FINANCE, *roles}

    # The key check and the role check are one dependency: FastAPI runs a plain `def`
    # dependency in the thread pool (the key check reads the database), and every
    # further dependency, above all another trip through the pool, costs each request.
    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        principal = authenticate(request, credentials)
        if principal.role not in allowed:
            who = "key" if principal.kind is PrincipalKind.KEY else "user"
            raise Forbidden(f"a {principal.role.value} {who} may not do this")
        return principal

    return check


def own_partner(principal: Principal, partner_id: str) -> None:
    """A partner key sees only its own partner: anything else is simply not found.

    The answer never repeats the id asked for, so it reveals nothing about others.
    """
    if principal.role is Role.PARTNER and principal.partner_id != partner_id:
        raise NotFound("no such partner")


Finance = Annotated[Principal, Depends(allow())]
Billing = Annotated[Principal, Depends(allow(Role.BILLING))]
PartnerReader = Annotated[Principal, Depends(allow(Role.PARTNER))]
SalesOps = Annotated[Principal, Depends(allow(Role.SALES_OPS))]
