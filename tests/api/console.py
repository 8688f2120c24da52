"""The finance console on the portal's demo: finance users past their second factor.

`enrolled(portal, email)` invites a finance user, signs it in, reads the secret the
enrolment page shows and types the app's code, as a person with an authenticator app
would; it returns the browser (now past its second factor), the secret and the
recovery codes shown once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from payouts import second_factor
from tests.api.portal import Browser, DemoPortal

_SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
_CODES = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


@dataclass
class FinanceUser:
    browser: Browser
    email: str
    secret: str
    recovery_codes: list[str]
    code: str
    """The code that enrolled the second factor."""


def secret_on(page: str) -> str:
    found = _SECRET.search(page)
    assert found is not None, "no enrolment secret on the page"
    return found.group(1)


def enrolled(portal: DemoPortal, email: str) -> FinanceUser:
    browser = portal.user(email, None, role="finance")
    page = browser.get("/console/second-factor")
    assert page.status_code == 200, page.text
    secret = secret_on(page.text)
    code = second_factor.current_code(secret)
    done = browser.submit("/console/second-factor", {"code": code, "next": "/console"})
    assert done.status_code == 200, done.text
    codes = _CODES.findall(done.text)
    assert len(codes) == second_factor.RECOVERY_CODES
    return FinanceUser(browser, email, secret, codes, code)
