"""What every page needs to be safe: its session, its CSRF token, its headers.

- The session cookie (`pp_session`) holds a random secret; the database holds its
  SHA-256 (`payouts.sign_in`). The cookie is HttpOnly, SameSite=Lax, path `/`, and
  Secure when the page is served over HTTPS (directly, or behind a proxy trusted
  with `FORWARDED_ALLOW_IPS`, which uvicorn then believes about the scheme).
- CSRF: every form posts a token. A signed-in form's token is the session's own
  (kept in the database with it); a form before sign-in (sign-in, choosing a
  password) is checked against a random cookie of its own, set with the form
  (double submit). A POST without the token, or with another, is refused (403)
  before anything is read from the form's other fields.
- Every page answers with a strict Content-Security-Policy (no inline script or
  style, nothing from elsewhere), no framing, no referrer (a password link never
  leaks through one), and `Cache-Control: no-store` like every response.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import SESSION_COOKIE, engine_of
from api.refusals import ApiError
from payouts import sign_in
from payouts.db import read_only_connection, unit_of_work

CSRF_COOKIE = "pp_csrf"
CSRF_FIELD = "csrf_token"
PAGE_PREFIXES = ("/portal", "/console")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class SignInRequired(Exception):
    """A page needs a signed-in user: answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(ApiError):
    code = "csrf-refused"
    status = 403
    title = "Form refused"

    def __init__(self) -> None:
        super().__init__(
            "this form is out of date or did not come from this site: reload the page and "
            "send it again"
        )


class PageHeaders:
    """Adds `PAGE_HEADERS` to every response under the pages' prefixes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PAGE_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def address(request: Request) -> str:
    return request.client.host if request.client else ""


def current(request: Request) -> sign_in.Current | None:
    """The signed-in user of the request, if its cookie names a live session.

    Read once per request; the session's last request is written at most once a
    minute (`sign_in.TOUCH_SECONDS`), not on every page."""
    if hasattr(request.state, "signed_in"):
        found: sign_in.Current | None = request.state.signed_in
        return found
    secret = request.cookies.get(SESSION_COOKIE, "")
    found = None
    if secret:
        with read_only_connection(engine_of(request)) as connection:
            found = sign_in.current(connection, secret)
        if found is not None and sign_in.needs_touch(found):
            with unit_of_work(engine_of(request)) as session:
                sign_in.touch(session, found.session_id)
    request.state.signed_in = found
    return found


def signed_in(request: Request) -> sign_in.Current:
    """A dependency: the signed-in user, or a redirect to sign in and come back."""
    found = current(request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return found


SignedIn = Annotated[sign_in.Current, Depends(signed_in)]


def set_session_cookie(response: Response, request: Request, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=sign_in.MAX_HOURS * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure(request)
    )


@dataclass(frozen=True, slots=True)
class AnonymousCsrf:
    """The token a form before sign-in carries, and whether its cookie must be set."""

    token: str
    new: bool

    def keep(self, response: Response, request: Request) -> None:
        if self.new:
            response.set_cookie(
                CSRF_COOKIE,
                self.token,
                path="/portal",
                httponly=True,
                samesite="strict",
                secure=secure(request),
            )


def anonymous_csrf(request: Request) -> AnonymousCsrf:
    existing = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(existing) <= 100:
        return AnonymousCsrf(existing, new=False)
    return AnonymousCsrf(secrets.token_urlsafe(32), new=True)


def _same(given: object, expected: str) -> bool:
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(given, expected)


async def form_of_session(request: Request, user: sign_in.Current) -> FormData:
    """The posted form of a signed-in user, once its CSRF token is the session's."""
    form = await request.form()
    if not _same(form.get(CSRF_FIELD), user.csrf_token):
        raise CsrfRefused()
    return form


async def anonymous_form(request: Request) -> FormData:
    """A form posted before sign-in, once its token matches its cookie."""
    form = await request.form()
    if not _same(form.get(CSRF_FIELD), request.cookies.get(CSRF_COOKIE, "")):
        raise CsrfRefused()
    return form


def sign_in_path(next_path: str) -> str:
    return f"/portal/sign-in?next={quote(next_path, safe='/')}"


def safe_next(next_path: str | None) -> str:
    """Where to go after signing in: a path of the portal or the console, never another
    site."""
    if (
        next_path
        and next_path.startswith(PAGE_PREFIXES)
        and "//" not in next_path
        and "\\" not in next_path
        and all(" " < c < "\x7f" for c in next_path)
    ):
        return next_path
    return "/portal"
