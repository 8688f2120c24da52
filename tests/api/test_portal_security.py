"""Signing in to the portal: CSRF, sessions, throttling, links, cookies, roles, isolation.

Real HTTP through the app on a real database (the demo program); each browser has a
cookie jar and a client address of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from payouts import sign_in
from payouts.db import make_engine, unit_of_work
from tests.api.portal import (
    DEMO_FINANCE_EMAIL,
    DEMO_PARTNER_EMAIL,
    DEMO_PASSWORD,
    PASSWORD,
    PERIOD,
    DemoPortal,
    demo_portal,
    without_trigger,
)
from tests.conftest import owner_url_for


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPortal]:
    with demo_portal(tmp_path_factory.mktemp("portal-security")) as portal:
        yield portal


def test_a_form_posted_without_or_with_a_wrong_csrf_token_is_refused(portal: DemoPortal) -> None:
    browser = portal.browser()
    for token in ("", "forged-token-forged-token-forged"):
        refused = browser.submit(
            "/portal/sign-in",
            {"email": DEMO_PARTNER_EMAIL, "password": DEMO_PASSWORD},
            token=token,
        )
        assert refused.status_code == 403
        assert browser.session_cookie is None
    signed = portal.browser()
    assert signed.sign_in(DEMO_PARTNER_EMAIL, DEMO_PASSWORD).status_code == 303
    for token in ("", "forged"):
        kept = signed.submit("/portal/sign-out", {}, token=token)
        assert kept.status_code == 403
        assert signed.get(f"/portal/partners/{portal.partner}").status_code == 200
    # A token from another session (or from before signing in) is not this session's.
    other = portal.browser()
    stolen = other.token("/portal/sign-in")
    assert signed.submit("/portal/sign-out", {}, token=stolen).status_code == 403


def test_the_session_id_changes_at_sign_in_and_ends_at_sign_out(portal: DemoPortal) -> None:
    dashboard = f"/portal/partners/{portal.partner}"
    planted = portal.browser()
    assert planted.sign_in(DEMO_PARTNER_EMAIL, DEMO_PASSWORD).status_code == 303
    first = planted.session_cookie
    assert first
    # Session fixation: a browser made to carry a known session id signs in; it gets a
    # new id, and the known one stops working.
    browser = portal.browser()
    token = browser.token("/portal/sign-in")
    browser.plant_session(first)
    again = browser.submit(
        "/portal/sign-in",
        {"email": DEMO_PARTNER_EMAIL, "password": DEMO_PASSWORD, "next": "/portal"},
        token=token,
    )
    assert again.status_code == 303
    second = browser.session_cookie
    assert second
    assert second != first
    assert planted.get(dashboard).status_code == 303  # to sign in: that session ended
    assert browser.get(dashboard).status_code == 200
    out = browser.submit("/portal/sign-out", {}, page=dashboard)
    assert out.status_code == 303
    replay = portal.browser()
    replay.plant_session(second)
    went = replay.get(dashboard)
    assert went.status_code == 303
    assert went.headers["location"].startswith("/portal/sign-in?next=")


def test_cookies_are_http_only_same_site_lax_and_secure_over_https(portal: DemoPortal) -> None:
    plain = portal.browser()
    cookie = plain.sign_in(DEMO_PARTNER_EMAIL, DEMO_PASSWORD).headers["set-cookie"]
    session_cookie = next(c for c in cookie.split(", pp_") if "pp_session=" in c)
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert "Secure" not in session_cookie
    secure = portal.browser(https=True)
    cookie = secure.sign_in(DEMO_PARTNER_EMAIL, DEMO_PASSWORD).headers["set-cookie"]
    session_cookie = next(c for c in cookie.split(", pp_") if "pp_session=" in c)
    assert "Secure" in session_cookie
    assert "HttpOnly" in session_cookie


def test_an_unknown_address_and_a_wrong_password_get_the_same_answer(portal: DemoPortal) -> None:
    unknown = portal.browser().sign_in("nobody@example.com", "whatever-it-is-here")
    wrong = portal.browser().sign_in(DEMO_PARTNER_EMAIL, "not the password at all")
    assert unknown.status_code == wrong.status_code == 401
    assert "The e-mail address or the password is not right." in unknown.text
    assert "The e-mail address or the password is not right." in wrong.text


def test_ten_failures_lock_the_account_for_fifteen_minutes_whatever_the_address(
    portal: DemoPortal,
) -> None:
    email = "locked.out@partner.example"
    victim = portal.user(email, portal.partner)
    for attempt in range(sign_in.LOCK_FAILURES):
        failed = portal.browser().sign_in(email, f"guess number {attempt}")  # new addresses
        assert failed.status_code == 401
    # Even the right password is refused now, from anywhere, without being checked.
    locked = portal.browser().sign_in(email, PASSWORD)
    assert locked.status_code == 429
    assert "try again in 15 minutes" in locked.text
    assert victim.get(f"/portal/partners/{portal.partner}").status_code == 200  # still in
    # Fifteen minutes later (the lock's start moved back), the right password works.
    _age_attempts(portal, email, minutes=sign_in.LOCK_MINUTES + 1)
    assert portal.browser().sign_in(email, PASSWORD).status_code == 303


def _age_attempts(portal: DemoPortal, email: str, minutes: int) -> None:
    """As if the attempts were made `minutes` earlier: the owner, with the append-only
    trigger lifted for a moment, moves their clock back (a test's time machine, which
    the service's role could not run)."""
    with without_trigger(portal, "sign_in_attempts") as session:
        for attempt in session.scalars(
            select(sign_in.SignInAttempt).where(sign_in.SignInAttempt.email == email)
        ):
            attempt.at = attempt.at - timedelta(minutes=minutes)


def test_ten_failures_from_one_address_lock_that_address(portal: DemoPortal) -> None:
    address = "192.0.2.77"
    for attempt in range(sign_in.LOCK_FAILURES):
        email = f"spray{attempt}@example.com"  # a different account each time
        assert portal.browser(address).sign_in(email, "password1234").status_code == 401
    locked = portal.browser(address).sign_in(DEMO_PARTNER_EMAIL, DEMO_PASSWORD)
    assert locked.status_code == 429
    assert (
        portal.browser("192.0.2.78").sign_in(DEMO_PARTNER_EMAIL, DEMO_PASSWORD).status_code == 303
    )


def test_twenty_guesses_at_once_still_meet_the_lock_after_the_tenth(portal: DemoPortal) -> None:
    email = "raced@partner.example"
    portal.invite(email, "partner", portal.partner)
    statuses: list[int] = []
    lock = threading.Lock()

    def guess(n: int) -> None:
        status = portal.browser().sign_in(email, f"wrong guess {n}").status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = portal.scalar(
        "SELECT count(*) FROM sign_in_attempts WHERE email = :e AND outcome = 'failure'", e=email
    )
    assert checked == sign_in.LOCK_FAILURES
    assert sorted(statuses) == [401] * 10 + [429] * 10


def test_an_invitation_link_works_once(portal: DemoPortal) -> None:
    secret = portal.invite("once@partner.example", "partner", portal.partner)
    browser = portal.browser()
    assert browser.get(f"/portal/password/{secret}").status_code == 200
    done = browser.submit(
        f"/portal/password/{secret}", {"password": PASSWORD, "confirmation": PASSWORD}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/portal/sign-in?done=password"
    assert browser.get(f"/portal/password/{secret}").status_code == 404
    again = browser.submit(
        f"/portal/password/{secret}",
        {"password": "another long password", "confirmation": "another long password"},
        page="/portal/sign-in",
    )
    assert again.status_code == 404
    assert browser.sign_in("once@partner.example", PASSWORD).status_code == 303


def test_a_refused_password_says_every_rule_it_breaks_through_the_catalog(
    portal: DemoPortal,
) -> None:
    from api.web.i18n import LOCALE_DIR

    secret = portal.invite("rules@partner.example", "partner", portal.partner)
    browser = portal.browser()
    assert browser.get(f"/portal/password/{secret}").status_code == 200
    refused = browser.submit(
        f"/portal/password/{secret}",
        {"password": "rules-short", "confirmation": "rules-shorter"},
    )
    assert refused.status_code == 422
    said = [
        "The two passwords differ.",
        "A password has at least 12 characters.",
        "A password must not contain the e-mail address.",
    ]
    catalog = (LOCALE_DIR / "messages.pot").read_text()
    for sentence in said:
        assert sentence in refused.text
    for label in ("The two passwords differ.", "A password has at least %(n)d characters."):
        assert f'msgid "{label}"' in catalog  # a translation reaches it
    # Refused changes nothing: the link still works, with a good password.
    done = browser.submit(
        f"/portal/password/{secret}", {"password": PASSWORD, "confirmation": PASSWORD}
    )
    assert done.status_code == 303


def test_a_reset_link_expires_and_a_newer_one_voids_it(portal: DemoPortal) -> None:
    from payouts import users

    email = "reset@partner.example"
    portal.user(email, portal.partner)
    owner = make_engine(owner_url_for(portal.url))
    try:
        with unit_of_work(owner) as session:
            first = users.reset(session, email=email, actor="local:test").secret
        with unit_of_work(owner) as session:
            second = users.reset(session, email=email, actor="local:test").secret
    finally:
        owner.dispose()
    browser = portal.browser()
    assert browser.get(f"/portal/password/{first}").status_code == 404  # voided
    assert browser.get(f"/portal/password/{second}").status_code == 200
    _expire_links(portal, email)
    assert browser.get(f"/portal/password/{second}").status_code == 404  # expired


def _expire_links(portal: DemoPortal, email: str) -> None:
    from payouts.users import UserToken, WebUser

    with without_trigger(portal, "user_tokens") as session:
        user_id = session.scalars(select(WebUser.id).where(WebUser.email == email)).one()
        for token in session.scalars(select(UserToken).where(UserToken.user_id == user_id)):
            token.expires_at = token.created_at


def test_a_password_link_ends_every_session_of_the_user(portal: DemoPortal) -> None:
    from payouts import users

    email = "everywhere@partner.example"
    browser = portal.user(email, portal.partner)
    assert browser.get(f"/portal/partners/{portal.partner}").status_code == 200
    owner = make_engine(owner_url_for(portal.url))
    try:
        with unit_of_work(owner) as session:
            secret = users.reset(session, email=email, actor="local:test").secret
    finally:
        owner.dispose()
    new = "a brand new passphrase"
    other = portal.browser()
    assert (
        other.submit(f"/portal/password/{secret}", {"password": new, "confirmation": new})
    ).status_code == 303
    assert browser.get(f"/portal/partners/{portal.partner}").status_code == 303


def test_sign_ins_failures_locks_and_resets_are_in_the_audit_log(portal: DemoPortal) -> None:
    email = "audited@partner.example"
    portal.user(email, portal.partner)
    for attempt in range(sign_in.LOCK_FAILURES + 1):
        portal.browser().sign_in(email, f"bad {attempt}")
    actions = set(
        portal.engine.connect()
        .execute(
            text(
                "SELECT a.action FROM audit_log a JOIN web_users u "
                "ON a.subject_id = CAST(u.id AS VARCHAR(20)) "
                "WHERE a.subject_type = 'web_user' AND u.email = :e"
            ),
            {"e": email},
        )
        .scalars()
    )
    assert {
        "user.invite",
        "user.password_set",
        "user.sign_in",
        "user.sign_in_failed",
        "user.sign_in_locked",
        "user.sign_in_refused",
    } <= actions


def test_a_partner_session_reads_its_own_api_but_not_finance_routes(portal: DemoPortal) -> None:
    browser = portal.browser()
    browser.sign_in(DEMO_PARTNER_EMAIL, DEMO_PASSWORD)
    assert browser.get(f"/partners/{portal.partner}/statements").status_code == 200
    assert browser.get(f"/partners/{portal.other}/statements").status_code == 404
    for path in ("/partners", "/batches/2026-03", "/inquiries", "/plans"):
        assert browser.get(path).status_code == 403, path
    # Writing needs an API key: a session (and its cookie in a forged form) cannot.
    posted = browser.client.post("/batches/2026-04/run")
    assert posted.status_code == 403
    assert "only reads" in posted.json()["detail"]


def test_a_finance_session_without_a_second_factor_reaches_nothing(portal: DemoPortal) -> None:
    browser = portal.browser()
    assert browser.sign_in(DEMO_FINANCE_EMAIL, DEMO_PASSWORD).status_code == 303
    assert browser.get("/partners").status_code == 403
    assert browser.get(f"/partners/{portal.partner}/statements").status_code == 403
    assert browser.get(f"/portal/partners/{portal.partner}").status_code == 404
    assert "second factor" in browser.get("/portal").text


def test_another_partners_pages_files_and_inquiries_answer_404(portal: DemoPortal) -> None:
    mine = portal.browser()
    mine.sign_in(DEMO_PARTNER_EMAIL, DEMO_PASSWORD)
    raised = mine.submit(
        f"/portal/partners/{portal.partner}/inquiries",
        {"reference": "INV-NOT-THERE", "message": "We expected credit for this one."},
        page=f"/portal/partners/{portal.partner}/inquiries/new",
    )
    assert raised.status_code == 303
    inquiry = raised.headers["location"]
    theirs = portal.user("bravo@other.example", portal.other)
    base = f"/portal/partners/{portal.partner}"
    for path in (
        base,
        f"{base}/statements",
        f"{base}/statements/{PERIOD}",
        f"{base}/statements/{PERIOD}/pdf",
        f"{base}/statements/{PERIOD}/csv",
        f"{base}/statements/{PERIOD}/verify",
        f"{base}/inquiries",
        inquiry,
        f"/portal/partners/{portal.other}/inquiries/{inquiry.rsplit('/', 1)[1]}",
        "/portal/partners/NO-SUCH-PARTNER",
    ):
        answer = theirs.get(path)
        assert answer.status_code == 404, path
        assert portal.partner not in answer.text
    reply = theirs.submit(
        f"/portal/partners/{portal.other}/inquiries/{inquiry.rsplit('/', 1)[1]}/replies",
        {"message": "let me in"},
        page=f"/portal/partners/{portal.other}",
    )
    assert reply.status_code == 404


def test_pages_say_no_framing_no_referrer_no_inline_script(portal: DemoPortal) -> None:
    page = portal.browser().get("/portal/sign-in")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/portal", "/portal\\..\\x", "/elsewhere"]
)
def test_signing_in_never_sends_the_browser_to_another_site(
    portal: DemoPortal, target: str
) -> None:
    went = portal.browser().sign_in(DEMO_PARTNER_EMAIL, DEMO_PASSWORD, target)
    assert went.status_code == 303
    assert went.headers["location"] == f"/portal/partners/{portal.partner}"
