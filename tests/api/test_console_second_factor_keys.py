"""Second-factor secrets sealed at rest: what the table holds, signing in through it,
rotating the keys, and running without them.

Real HTTP through the app on a copy of the demo program; the keys are the settings'
(`SECOND_FACTOR_KEYS`, the tests' own generated key unless a test sets others).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from payouts import second_factor
from payouts.base import utcnow
from payouts.settings import get_settings
from tests.api.cli import payouts
from tests.api.console import FinanceUser, enrolled
from tests.api.portal import PASSWORD, DemoPortal, demo_portal

SESSION_KEY = os.environ["SECOND_FACTOR_KEYS"]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPortal]:
    with demo_portal(tmp_path_factory.mktemp("console-2fa-keys")) as made:
        yield made


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Settings a test may change (the keys and their file), read again after it."""
    monkeypatch.setenv("SECOND_FACTOR_KEYS_FILE", str(tmp_path / "no-such.keys"))
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _use_keys(keys: pytest.MonkeyPatch, value: str) -> None:
    keys.setenv("SECOND_FACTOR_KEYS", value)
    get_settings.cache_clear()


def _stored(portal: DemoPortal, email: str) -> str:
    stored: str = portal.scalar(
        "SELECT f.secret FROM second_factors f JOIN web_users u ON u.id = f.user_id "
        "WHERE u.email = :e",
        e=email,
    )
    return stored


def _passes_second_factor(portal: DemoPortal, user: FinanceUser, seconds: int) -> int:
    """A new browser signs in and types the app's code (of a later step: each step once)."""
    browser = portal.browser()
    assert browser.sign_in(user.email, PASSWORD).status_code == 303
    code = second_factor.current_code(user.secret, utcnow() + timedelta(seconds=seconds))
    typed = browser.submit("/console/second-factor", {"code": code, "next": "/console"})
    if typed.status_code == 303:
        assert browser.get("/console").status_code == 200
    return typed.status_code


def test_the_table_holds_the_secret_sealed_and_sign_in_with_the_app_still_works(
    portal: DemoPortal,
) -> None:
    user = enrolled(portal, "sealed@finance.example")
    stored = _stored(portal, user.email)
    assert stored != user.secret
    assert user.secret not in stored
    assert Fernet(SESSION_KEY).decrypt(stored.encode()).decode() == user.secret
    assert _passes_second_factor(portal, user, seconds=30) == 303


def test_without_keys_a_second_factor_is_refused_in_one_line(
    portal: DemoPortal, keys: pytest.MonkeyPatch
) -> None:
    user = enrolled(portal, "keyless@finance.example")
    for value, says in (
        ("", "second factors need the keys that seal their secrets: set SECOND_FACTOR_KEYS"),
        ("not-a-fernet-key", "SECOND_FACTOR_KEYS is not a list of Fernet keys"),
    ):
        _use_keys(keys, value)
        browser = portal.browser()
        assert browser.sign_in(user.email, PASSWORD).status_code == 303
        code = second_factor.current_code(user.secret, utcnow() + timedelta(seconds=30))
        refused = browser.submit("/console/second-factor", {"code": code, "next": "/console"})
        assert refused.status_code == 503
        assert says in refused.text
        assert "Traceback" not in refused.text
        assert browser.get("/console").status_code == 303  # not past its second factor
        # A finance user who has not enrolled yet is told the same at enrolment.
        newcomer = portal.user(f"new-{len(value)}@finance.example", None, role="finance")
        page = newcomer.get("/console/second-factor")
        assert page.status_code == 503
        assert says in page.text
        reseal = payouts("users", "reseal-second-factors", database_url=portal.url)
        assert reseal.code == 1
        assert reseal.err.count("\n") == 1
        assert says in reseal.err
    assert SESSION_KEY not in refused.text


def test_a_new_key_first_opens_old_secrets_and_resealing_moves_them_to_it(
    portal: DemoPortal, keys: pytest.MonkeyPatch
) -> None:
    """Run last in its module: it leaves every secret of this database under a new key."""
    user = enrolled(portal, "rotated@finance.example")
    other = enrolled(portal, "rotated.too@finance.example")
    new = Fernet.generate_key().decode()
    _use_keys(keys, f"{new},{SESSION_KEY}")
    assert _passes_second_factor(portal, user, seconds=30) == 303  # the old key still opens
    before = _stored(portal, user.email)
    assert Fernet(SESSION_KEY).decrypt(before.encode()).decode() == user.secret

    resealed = payouts("users", "reseal-second-factors", database_url=portal.url)
    assert resealed.code == 0, resealed.err
    count = portal.scalar("SELECT count(*) FROM second_factors")
    assert resealed.out.strip() == f"{count} second-factor secret(s) sealed under the first key"
    assert new not in resealed.out
    after = _stored(portal, user.email)
    assert Fernet(new).decrypt(after.encode()).decode() == user.secret
    with pytest.raises(InvalidToken):
        Fernet(SESSION_KEY).decrypt(after.encode())
    audited = portal.scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'second_factor.resealed'"
    )
    assert audited == 1

    _use_keys(keys, new)  # the old key dropped: everything opens with the new one alone
    assert _passes_second_factor(portal, other, seconds=30) == 303
    _use_keys(keys, SESSION_KEY)  # only the dropped key: nothing opens, and it says so
    browser = portal.browser()
    assert browser.sign_in(user.email, PASSWORD).status_code == 303
    code = second_factor.current_code(user.secret, utcnow() + timedelta(seconds=30))
    refused = browser.submit("/console/second-factor", {"code": code, "next": "/console"})
    assert refused.status_code == 503
    assert "opens with none of SECOND_FACTOR_KEYS" in refused.text
