"""The dashboard's next expected payout is the close's own decision: the payout policy's
holds (a finance hold, a missing tax form, the minimum payout) shown with their reasons,
then checked against the holds the next close records.

A two-month demo program on a real database: February closed with a partner on
finance's hold and a partner below its plan's minimum (a USD minimum on a EUR balance,
which the close converts at the month-end FX rate); March and April closed through the
command line after the dashboard said what they would do.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from payouts.db import make_engine
from tests.api.cli import payouts
from tests.api.portal import DemoPortal
from tests.api.support import scratch_url


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPortal]:
    directory = tmp_path_factory.mktemp("next-payout")
    with scratch_url(directory) as url:
        made = payouts(
            "demo", "--partners", "16", "--months", "2", "--seed", "7", "--workers", "1",
            "--out", str(directory / "demo"), database_url=url,
        )  # fmt: skip
        assert made.code == 0, made.err
        key = _key(url, "fiona")
        engine = make_engine(url)
        try:
            yield DemoPortal(url, engine, "", "", key)
        finally:
            engine.dispose()


def _key(url: str, name: str) -> str:
    made = payouts("keys", "create", "--role", "finance", "--name", name, database_url=url)
    assert made.code == 0, made.err
    return made.out.strip().splitlines()[-1]


def _held(portal: DemoPortal, period: str) -> dict[str, tuple[str, str]]:
    with portal.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT partner_id, code, reason FROM payout_holds WHERE period = :p"),
            {"p": period},
        )
        return {partner: (code, reason) for partner, code, reason in rows}


def _next_payout(portal: DemoPortal, partner: str) -> tuple[str | None, str]:
    """The dashboard's next-payout paragraph: its hold code (if any) and its text."""
    browser = portal.user(f"{partner.lower()}-{uuid.uuid4().hex[:8]}@example.com", partner)
    page = browser.get(f"/portal/partners/{partner}")
    assert page.status_code == 200
    found = re.search(r'<p id="next-payout"(?: data-hold="([a-z_]+)")?>(.*?)</p>', page.text, re.S)
    assert found is not None, page.text
    return found.group(1), " ".join(found.group(2).split()).replace("&amp;", "&")


def _close(portal: DemoPortal, period: str, approver: str) -> None:
    for command, key in (("run", portal.finance_key), ("approve", approver), ("close", approver)):
        done = payouts("batch", command, period, database_url=portal.url, key=key)
        assert done.code == 0, (command, done.err)


def test_the_dashboard_shows_the_hold_the_next_close_then_records(portal: DemoPortal) -> None:
    february = _held(portal, "2026-02")
    on_hold = next(p for p, (code, _) in february.items() if code == "partner_on_hold")
    below = next(p for p, (code, _) in february.items() if code == "below_minimum")

    # What the dashboards say March's close will do: the policy's hold and reason.
    said = {partner: _next_payout(portal, partner) for partner in (on_hold, below)}
    assert said[on_hold][0] == "partner_on_hold"
    assert "is held (partner on hold) and carried forward" in said[on_hold][1]
    assert said[below][0] == "below_minimum"
    assert re.search(r"is held \(below the minimum payout [0-9.]+ EUR\)", said[below][1])

    approver = _key(portal.url, "frank")
    _close(portal, "2026-03", approver)
    march = _held(portal, "2026-03")
    for partner, (code, words) in said.items():
        assert march[partner][0] == code
        assert f"({march[partner][1]})" in words

    # Finance requires tax forms: the partner below the minimum has no tax profile, so
    # the dashboard and then April's close hold it for its form; finance's hold still
    # comes first for the other.
    on = payouts("tax", "forms-required", "on", database_url=portal.url, key=approver)
    assert on.code == 0, on.err
    code, words = _next_payout(portal, below)
    assert code == "tax_form"
    assert "is held (tax form) and carried forward" in words
    assert _next_payout(portal, on_hold)[0] == "partner_on_hold"
    _close(portal, "2026-04", approver)
    april = _held(portal, "2026-04")
    assert april[below] == ("tax_form", "tax form")
    assert april[on_hold][0] == "partner_on_hold"
