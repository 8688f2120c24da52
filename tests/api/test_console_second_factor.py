"""The console's second factor: enrolment with a QR code, codes used once, recovery
codes, throttling; and a finance session without it reaches nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import segno
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from payouts import second_factor
from payouts.base import utcnow
from payouts.users import digest
from tests.api.cli import payouts
from tests.api.console import enrolled, secret_on
from tests.api.portal import PASSWORD, DemoPortal, demo_portal


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPortal]:
    with demo_portal(tmp_path_factory.mktemp("console-2fa")) as made:
        yield made


def test_a_finance_user_lands_on_the_second_factor_and_reaches_nothing_before_it(
    portal: DemoPortal,
) -> None:
    browser = portal.browser()
    secret = portal.invite("fay@finance.example", "finance")
    browser.submit(f"/portal/password/{secret}", {"password": PASSWORD, "confirmation": PASSWORD})
    signed = browser.sign_in("fay@finance.example", PASSWORD)
    assert signed.headers["location"] == "/console"
    for path in ("/console", "/console/adjustments", "/console/adjustments/1"):
        answer = browser.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/second-factor?next=")
    token = browser.token("/console/second-factor")
    before = portal.scalar("SELECT count(*) FROM manual_adjustments")
    forged = browser.client.post(
        "/console/adjustments",
        data={
            "csrf_token": token, "partner_id": portal.partner, "amount": "5",
            "currency": "USD", "reason": "x",
        },
    )  # fmt: skip
    assert forged.status_code == 303
    assert forged.headers["location"].startswith("/console/second-factor")
    assert portal.scalar("SELECT count(*) FROM manual_adjustments") == before
    # Nor the partner pages finance may read once past its second factor.
    assert browser.get(f"/portal/partners/{portal.partner}").status_code == 404


def test_enrolment_shows_the_secret_as_a_qr_code_and_confirms_with_the_first_code(
    portal: DemoPortal,
) -> None:
    browser = portal.user("quinn@finance.example", None, role="finance")
    page = browser.get("/console/second-factor")
    secret = secret_on(page.text)
    assert secret_on(browser.get("/console/second-factor").text) == secret  # kept until used
    uri = (
        f"otpauth://totp/partner-payouts:quinn%40finance.example?secret={secret}"
        "&issuer=partner-payouts"
    )
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=2, dark="#000", light="#fff", omitsize=False
    )
    assert svg in page.text  # the QR code encodes exactly that provisioning URI
    assert "<script" not in page.text
    wrong = browser.submit(
        "/console/second-factor", {"code": "000000"}, page="/console/second-factor"
    )
    assert wrong.status_code == 401
    assert "not right" in wrong.text
    assert browser.get("/console").status_code == 303
    done = browser.submit(
        "/console/second-factor", {"code": second_factor.current_code(secret), "next": "/console"}
    )
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9-]{11})</code></li>", done.text)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert browser.get("/console").status_code == 200
    stored = portal.scalar(
        "SELECT count(*) FROM recovery_codes r JOIN web_users u ON u.id = r.user_id "
        "WHERE u.email = 'quinn@finance.example' AND r.code_hash = :c",
        c=codes[0],
    )
    assert stored == 0  # only hashes are kept


def test_a_code_is_accepted_once_and_a_recovery_code_once(portal: DemoPortal) -> None:
    user = enrolled(portal, "rory@finance.example")
    again = portal.browser()
    assert again.sign_in(user.email, PASSWORD).status_code == 303
    # The code that enrolled cannot be replayed (the code itself: a code computed anew
    # here is another one once a 30-second step has passed, as on a loaded machine).
    replay = again.submit(
        "/console/second-factor", {"code": user.code}, page="/console/second-factor"
    )
    assert replay.status_code == 401
    later = second_factor.current_code(user.secret, utcnow() + timedelta(seconds=30))
    fresh = again.submit("/console/second-factor", {"code": later}, page="/console/second-factor")
    assert fresh.status_code == 303
    assert again.get("/console").status_code == 200

    third = portal.browser()
    third.sign_in(user.email, PASSWORD)
    recovered = third.submit(
        "/console/second-factor", {"code": user.recovery_codes[0].upper()},
        page="/console/second-factor",
    )  # fmt: skip
    assert recovered.status_code == 303
    assert "9 recovery codes left" in third.get("/console").text
    fourth = portal.browser()
    fourth.sign_in(user.email, PASSWORD)
    reused = fourth.submit(
        "/console/second-factor", {"code": user.recovery_codes[0]}, page="/console/second-factor"
    )
    assert reused.status_code == 401


def test_five_wrong_codes_lock_the_user_whatever_comes_next(portal: DemoPortal) -> None:
    user = enrolled(portal, "sam@finance.example")
    guesser = portal.browser()
    guesser.sign_in(user.email, PASSWORD)
    for _ in range(second_factor.LOCK_FAILURES):
        wrong = guesser.submit(
            "/console/second-factor", {"code": "123456"}, page="/console/second-factor"
        )
        assert wrong.status_code == 401
    right = second_factor.current_code(user.secret, utcnow() + timedelta(seconds=30))
    locked = guesser.submit(
        "/console/second-factor", {"code": right}, page="/console/second-factor"
    )
    assert locked.status_code == 429
    assert "Too many wrong codes" in locked.text
    assert guesser.get("/console").status_code == 303
    attempts = portal.scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'second_factor.refused'"
    )
    assert attempts >= 1


@pytest.mark.parametrize("role", ["partner", "sales_ops"])
def test_other_roles_find_no_console(portal: DemoPortal, role: str) -> None:
    partner = portal.partner if role == "partner" else None
    browser = portal.user(f"{role}-x@example.com", partner, role=role)
    for path in ("/console", "/console/second-factor", "/console/adjustments"):
        assert browser.get(path).status_code == 404, path


def test_the_database_keeps_an_enrolled_secret(portal: DemoPortal) -> None:
    user = enrolled(portal, "tess@finance.example")
    with (
        pytest.raises(DBAPIError, match=r"second_factors|permission denied"),
        portal.engine.begin() as connection,
    ):
        connection.execute(
            text(
                "UPDATE second_factors SET secret = 'AAAAAAAAAAAAAAAA' WHERE user_id = "
                "(SELECT id FROM web_users WHERE email = :e)"
            ),
            {"e": user.email},
        )


def test_passing_the_second_factor_rotates_the_session(portal: DemoPortal) -> None:
    browser = portal.user("uma@finance.example", None, role="finance")
    before = browser.session_cookie
    assert before is not None
    secret = secret_on(browser.get("/console/second-factor").text)
    done = browser.submit(
        "/console/second-factor", {"code": second_factor.current_code(secret), "next": "/console"}
    )
    assert done.status_code == 200
    after = browser.session_cookie
    assert after is not None
    assert after != before  # a new session for the new privilege
    assert browser.get("/console").status_code == 200
    assert 'name="csrf_token" value="' in done.text
    assert browser.token("/console") in done.text  # its pages carry the new session's token
    stolen = portal.browser()
    stolen.plant_session(before)  # the pre-factor cookie, seen before the code was typed
    assert stolen.get("/console").status_code in (303, 403)
    assert portal.scalar("SELECT count(*) FROM web_sessions WHERE id = :i", i=digest(before)) == 0


def test_the_owner_resets_a_lost_second_factor_and_the_user_enrols_again(
    portal: DemoPortal,
) -> None:
    user = enrolled(portal, "vic@finance.example")
    uid = portal.scalar("SELECT id FROM web_users WHERE email = :e", e=user.email)
    # The service's role cannot remove an enrolled factor.
    with (
        pytest.raises(DBAPIError, match=r"second_factors|permission denied"),
        portal.engine.begin() as connection,
    ):
        connection.execute(text("DELETE FROM second_factors WHERE user_id = :u"), {"u": uid})

    reset = payouts("users", "reset-second-factor", user.email, database_url=portal.url)
    assert reset.code == 0, reset.err
    assert user.email in reset.out
    assert portal.scalar("SELECT count(*) FROM second_factors WHERE user_id = :u", u=uid) == 0
    assert (
        portal.scalar(
            "SELECT count(*) FROM recovery_codes WHERE user_id = :u AND used_at IS NULL", u=uid
        )
        == 0
    )  # the old recovery codes are void
    assert (
        portal.scalar(
            "SELECT count(*) FROM audit_log "
            "WHERE action = 'second_factor.reset' AND subject_id = :s",
            s=str(uid),
        )
        == 1
    )
    assert user.browser.get("/console").status_code in (303, 403)  # its sessions ended

    again = portal.browser()
    assert again.sign_in(user.email, PASSWORD).status_code == 303
    page = again.get("/console/second-factor").text
    fresh = secret_on(page)  # enrols again, with a new secret
    assert fresh != user.secret
    old = again.submit(
        "/console/second-factor", {"code": user.recovery_codes[1]}, page="/console/second-factor"
    )
    assert old.status_code == 401
    done = again.submit(
        "/console/second-factor", {"code": second_factor.current_code(fresh), "next": "/console"}
    )
    assert done.status_code == 200
    assert again.get("/console").status_code == 200

    unknown = payouts("users", "reset-second-factor", "nobody@example.com", database_url=portal.url)
    assert unknown.code == 1
    assert "Traceback" not in unknown.err
    assert len(unknown.err.strip().splitlines()) == 1
