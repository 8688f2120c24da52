"""The web pages: the partner portal under `/portal`, the finance console under `/console`.

Server-rendered (Jinja2 templates, plain CSS, no script needed), served by the same
process as the HTTP API. `install` adds the routes, the static files, the pages'
security headers, and the error pages (an error on a page is a page, not JSON).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.web import account, console, password_change, portal
from api.web.security import PAGE_PREFIXES, PageHeaders, SignInRequired, sign_in_path
from api.web.templating import render

STATIC = Path(__file__).resolve().parent / "static"


def error_page(request: Request, status: int, detail: str) -> Response:
    """What a page answers for an error: a page in the same look (404 says no more)."""
    shown = 404 if status == 422 else status  # a malformed address is simply not a page
    return render(request, "error.html", status=shown, code=shown, detail=detail)


def is_page(request: Request) -> bool:
    return request.url.path.startswith(PAGE_PREFIXES)


def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(sign_in_path(exc.next_path), status_code=303)


def install(app: FastAPI) -> None:
    app.state.page_errors = (is_page, error_page)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.mount("/portal/static", StaticFiles(directory=STATIC), name="portal-static")
    app.include_router(account.router)
    app.include_router(portal.router)
    app.include_router(password_change.router)
    console.install(app)
    app.add_middleware(PageHeaders)
