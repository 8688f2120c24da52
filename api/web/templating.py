"""Jinja2 templates for the pages: one environment, rendered per request in its locale.

Autoescaping is on for every template. The labels are gettext calls (`_()`,
`ngettext()`) bound per render to the reader's catalog, never installed globally: two
requests in two languages at once do not see each other's words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.web.i18n import DEFAULT_LOCALE, Formats, known_locale, translations

TEMPLATES = Path(__file__).resolve().parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def render(
    request: Request,
    template: str,
    *,
    locale: str = DEFAULT_LOCALE,
    currency: str = "USD",
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the reader's locale, with the signed-in user (if any) and its CSRF token."""
    catalog = translations(known_locale(locale))
    signed_in = getattr(request.state, "signed_in", None)
    html = environment.get_template(template).render(
        request=request,
        _=catalog.gettext,
        gettext=catalog.gettext,
        ngettext=catalog.ngettext,
        fmt=Formats(locale, currency),
        lang=known_locale(locale).split("_")[0],
        user=signed_in,
        csrf_token=signed_in.csrf_token if signed_in is not None else "",
        **context,
    )
    return HTMLResponse(html, status_code=status)
