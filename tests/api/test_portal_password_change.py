"""Changing one's own password, signed in: the portal's partner users, the console's
finance (past its second factor) and sales ops.

Real HTTP through the app on a copy of the demo program; each browser has a cookie jar
and a client address of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx2
import pytest
from sqlalchemy import text

from payouts import sign_in
from tests.api.console import enrolled
from tests.api.portal import PASSWORD, Browser, DemoPortal, demo_portal

PORTAL_FORM = "/portal/account/password"
CONSOLE_FORM = "/console/account/password"
NEW = "a brand new passphrase of mine"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPortal]:
    with demo_portal(tmp_path_factory.mktemp("portal-password")) as portal:
        yield portal


def _change(
    browser: Browser, current: str, new: str, again: str | None = None, form: str = PORTAL_FORM
) -> httpx2.Response:
    return browser.submit(
        form,
        {"current_password": current, "password": new, "confirmation": again or new},
    )


def _attribute(page: str, element_id: str, name: str) -> str | None:
    tag = re.search(rf'<input id="{element_id}"[^>]*>', page)
    assert tag is not None, f"no #{element_id}"
    found = re.search(rf'{name}="([^"]*)"', tag.group(0))
    return found.group(1) if found else None


def test_a_partner_user_changes_its_password_and_its_other_sessions_end(
    portal: DemoPortal,
) -> None:
    email = "paula@partner.example"
    here = portal.user(email, portal.partner)
    elsewhere = portal.browser()
    assert elsewhere.sign_in(email, PASSWORD).status_code == 303
    dashboard = f"/portal/partners/{portal.partner}"
    form = here.get(PORTAL_FORM)
    assert form.status_code == 200
    assert 'autocomplete="current-password"' in form.text
    assert f'href="{PORTAL_FORM}"' in here.get(dashboard).text  # the header links to it

    changed = _change(here, PASSWORD, NEW)
    assert changed.status_code == 303
    assert changed.headers["location"] == f"{PORTAL_FORM}?done=changed"
    assert "Your password is changed." in here.get(changed.headers["location"]).text
    assert here.get(dashboard).status_code == 200  # this session is kept
    went = elsewhere.get(dashboard)
    assert went.status_code == 303  # the other one ended
    assert went.headers["location"].startswith("/portal/sign-in")
    assert portal.browser().sign_in(email, PASSWORD).status_code == 401
    assert portal.browser().sign_in(email, NEW).status_code == 303

    action, actor, after = _last_audit(portal, "user.password_changed")
    assert action == "user.password_changed"
    assert actor.endswith(f":{email}")
    assert after["sessions_ended"] == 1
    assert PASSWORD not in json.dumps(after)
    assert NEW not in json.dumps(after)


def test_a_wrong_current_password_is_refused_beside_its_field_and_counted_as_a_sign_in(
    portal: DemoPortal,
) -> None:
    email = "wrong.current@partner.example"
    browser = portal.user(email, portal.partner)
    refused = _change(browser, "not my password at all", NEW)
    assert refused.status_code == 422
    page = refused.text
    assert "This is not the password you use now." in page
    assert _attribute(page, "current_password", "aria-invalid") == "true"
    assert _attribute(page, "current_password", "aria-describedby") == "current_password-error"
    assert 'id="current_password-error"' in page
    assert re.search(r'<input id="current_password"[^>]*autofocus', page)
    assert _attribute(page, "password", "aria-invalid") is None
    failures = portal.scalar(
        "SELECT count(*) FROM sign_in_attempts WHERE email = :e AND outcome = 'failure'", e=email
    )
    assert failures == 1
    assert _last_audit(portal, "user.password_change_failed")[1].endswith(f":{email}")
    # Nothing changed: the old password still signs in, the new one does not.
    assert portal.browser().sign_in(email, NEW).status_code == 401
    assert portal.browser().sign_in(email, PASSWORD).status_code == 303


def test_wrong_current_passwords_lock_the_account_as_failed_sign_ins_do(
    portal: DemoPortal,
) -> None:
    email = "guesser@partner.example"
    browser = portal.user(email, portal.partner)
    for attempt in range(sign_in.LOCK_FAILURES):
        assert _change(browser, f"guess number {attempt}", NEW).status_code == 422
    locked = _change(browser, PASSWORD, NEW)  # even the right one, unchecked
    assert locked.status_code == 429
    assert "Too many wrong passwords: try again in 15 minutes." in locked.text
    assert portal.browser().sign_in(email, PASSWORD).status_code == 429  # the account is locked
    assert portal.browser().sign_in(email, NEW).status_code == 429


def test_a_new_password_that_breaks_the_rules_is_refused_field_by_field(
    portal: DemoPortal,
) -> None:
    email = "rules@partner.example"
    browser = portal.user(email, portal.partner)
    cases = {
        ("short", None): ("A password has at least 12 characters.", "password"),
        (NEW, NEW + " but not"): ("The two passwords differ.", "confirmation"),
        (PASSWORD, None): ("The new password is the one you use now: choose another.", "password"),
        ("my name is rules, you know", None): (
            "A password must not contain the e-mail address.",
            "password",
        ),
    }
    for (new, again), (message, field) in cases.items():
        refused = _change(browser, PASSWORD, new, again)
        assert refused.status_code == 422, message
        page = refused.text
        assert message in page
        assert _attribute(page, field, "aria-invalid") == "true", message
        assert f"{field}-error" in (_attribute(page, field, "aria-describedby") or ""), message
        assert _attribute(page, "current_password", "aria-invalid") is None
    assert (
        portal.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'user.password_changed' "
            "AND actor LIKE :a",
            a=f"%:{email}",
        )
        == 0
    )
    assert portal.browser().sign_in(email, PASSWORD).status_code == 303


def test_a_change_posted_without_or_with_a_wrong_csrf_token_is_refused(
    portal: DemoPortal,
) -> None:
    email = "forged@partner.example"
    browser = portal.user(email, portal.partner)
    fields = {"current_password": PASSWORD, "password": NEW, "confirmation": NEW}
    for token in ("", "forged-token-forged-token-forged"):
        assert browser.submit(PORTAL_FORM, fields, token=token).status_code == 403
    assert portal.browser().sign_in(email, PASSWORD).status_code == 303


def test_finance_changes_its_password_in_the_console_past_its_second_factor(
    portal: DemoPortal,
) -> None:
    email = "fran@finance.example"
    halfway = portal.user("hal.pw@finance.example", None, role="finance")
    went = halfway.get(CONSOLE_FORM)
    assert went.status_code == 303
    assert went.headers["location"].startswith("/console/second-factor")
    fields = {"current_password": PASSWORD, "password": NEW, "confirmation": NEW}
    assert halfway.client.post(CONSOLE_FORM, data=fields).status_code == 303  # to 2FA
    finance = enrolled(portal, email)
    page = finance.browser.get(CONSOLE_FORM)
    assert page.status_code == 200
    assert "Finance console" in page.text
    assert finance.browser.get(PORTAL_FORM).headers["location"] == CONSOLE_FORM
    changed = _change(finance.browser, PASSWORD, NEW, form=CONSOLE_FORM)
    assert changed.status_code == 303
    assert finance.browser.get("/console").status_code == 200  # still past its second factor
    assert portal.browser().sign_in(email, NEW).status_code == 303
    # Sales ops change theirs in the console too; a partner user has no console form.
    sales = portal.user("sam.pw@sales.example", None, role="sales_ops")
    assert _change(sales, PASSWORD, NEW, form=CONSOLE_FORM).status_code == 303
    partner = portal.user("pia.pw@partner.example", portal.partner)
    assert partner.get(CONSOLE_FORM).status_code == 404


def _last_audit(portal: DemoPortal, action: str) -> tuple[str, str, dict[str, object]]:
    with portal.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT action, actor, after FROM audit_log WHERE action = :a "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"a": action},
        ).one()
    after = row.after if isinstance(row.after, dict) else json.loads(row.after or "{}")
    return row.action, row.actor, after
