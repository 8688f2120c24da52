"""The console's pages: every route against every role, and adjustments proposed by
one finance user and decided by another (no button for the proposer, and a forged
POST refused)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text

from api.app import create_app
from tests.api.cli import payouts
from tests.api.console import FinanceUser, enrolled
from tests.api.portal import Browser, DemoPortal, demo_portal


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPortal]:
    with demo_portal(tmp_path_factory.mktemp("console-pages")) as made:
        yield made


@pytest.fixture(scope="module")
def alice(portal: DemoPortal) -> FinanceUser:
    return enrolled(portal, "alice@finance.example")


@pytest.fixture(scope="module")
def bob(portal: DemoPortal) -> FinanceUser:
    return enrolled(portal, "bob@finance.example")


def _propose(user: FinanceUser, portal: DemoPortal, amount: str, reason: str) -> int:
    made = user.browser.submit(
        "/console/adjustments",
        {
            "partner_id": portal.partner, "amount": amount, "currency": "USD",
            "reason": reason, "inquiry_id": "",
        },
    )  # fmt: skip
    assert made.status_code == 303, made.text
    found = re.fullmatch(r"/console/adjustments/(\d+)", made.headers["location"])
    assert found is not None
    return int(found.group(1))


def test_the_proposer_has_no_buttons_and_a_forged_approval_is_refused(
    portal: DemoPortal, alice: FinanceUser, bob: FinanceUser
) -> None:
    number = _propose(alice, portal, "12.00", "Missed credit for invoice 77")
    own = alice.browser.get(f"/console/adjustments/{number}")
    assert own.status_code == 200
    assert 'id="approve"' not in own.text
    assert 'id="not-yours"' in own.text
    forged = alice.browser.submit(
        f"/console/adjustments/{number}/approve", {}, page=f"/console/adjustments/{number}"
    )
    assert forged.status_code == 403
    assert "another person decides it" in forged.text
    assert 'id="status">pending<' in forged.text

    theirs = bob.browser.get(f"/console/adjustments/{number}")
    assert 'id="approve"' in theirs.text
    approved = bob.browser.submit(
        f"/console/adjustments/{number}/approve", {}, page=f"/console/adjustments/{number}"
    )
    assert approved.status_code == 303
    shown = bob.browser.get(f"/console/adjustments/{number}").text
    assert 'id="status">approved<' in shown
    assert "bob@finance.example" in shown
    actor = portal.scalar(
        "SELECT actor FROM audit_log WHERE action = 'adjustment.approve' AND subject_id = :s",
        s=str(number),
    )
    assert actor.endswith(":bob@finance.example")
    assert actor.startswith("user:")


def test_a_bad_proposal_is_shown_again_with_the_reason_and_changes_nothing(
    portal: DemoPortal, alice: FinanceUser
) -> None:
    before = portal.scalar("SELECT count(*) FROM manual_adjustments")
    refused = alice.browser.submit(
        "/console/adjustments",
        {"partner_id": portal.partner, "amount": "1.234", "currency": "USD", "reason": "typo"},
    )
    assert refused.status_code == 422
    assert "too precise" in refused.text
    assert 'value="1.234"' in refused.text
    assert portal.scalar("SELECT count(*) FROM manual_adjustments") == before


def test_a_refusal_is_listed_under_its_status(
    portal: DemoPortal, alice: FinanceUser, bob: FinanceUser
) -> None:
    number = _propose(alice, portal, "-3.00", "Charged twice")
    page = f"/console/adjustments/{number}"
    bob.browser.submit(f"{page}/refuse", {"reason": "not charged twice"}, page=page)
    refused = bob.browser.get("/console/adjustments?status=refused").text
    assert f'href="/console/adjustments/{number}"' in refused
    pending = bob.browser.get("/console/adjustments?status=pending").text
    assert f'href="/console/adjustments/{number}"' not in pending


def _console_routes(portal: DemoPortal, adjustment: int) -> list[tuple[str, str]]:
    """Every route of the app under /console (the app's included routers, read back),
    about the manual adjustment numbered `adjustment`."""
    found = []
    for included in create_app(portal.engine).routes:
        for route in getattr(getattr(included, "original_router", None), "routes", [included]):
            if isinstance(route, APIRoute) and route.path.startswith("/console"):
                path = (
                    route.path.replace("{adjustment_id}", str(adjustment))
                    .replace("{inquiry_id}", "1")
                    .replace("{period}", "2026-03")
                    .replace("{partner_id}", portal.partner)
                )
                found.extend((method, path) for method in sorted(route.methods))
    return sorted(found)


def _ask(browser: Browser, method: str, path: str) -> int:
    if method == "GET":
        return browser.get(path).status_code
    token = browser.token("/portal/sign-in") if browser.session_cookie is None else None
    return browser.client.post(path, data={"csrf_token": token or _token(browser)}).status_code


def _token(browser: Browser) -> str:
    page = browser.get("/console/second-factor").text
    if 'name="csrf_token"' not in page:
        page = browser.get("/console").text
    found = re.search(r'name="csrf_token" value="([^"]*)"', page)
    return found.group(1) if found else ""


def test_every_console_route_answers_every_role_as_it_should(
    portal: DemoPortal, alice: FinanceUser
) -> None:
    # An adjustment of its own, pending: it depends on no other test having made one.
    number = _propose(alice, portal, "5.00", "Every route asked about it")
    routes = _console_routes(portal, number)
    assert ("GET", "/console") in routes
    assert ("POST", f"/console/adjustments/{number}/approve") in routes
    assert ("POST", "/console/periods/2026-03/approve") in routes
    assert ("POST", "/console/inquiries/1/resolve") in routes
    assert ("GET", "/console/rep-credit/2026-03.csv") in routes
    partner = portal.user("pat@partner.example", portal.partner)
    sales = portal.user("sol@sales.example", None, role="sales_ops")
    halfway = portal.user("hal@finance.example", None, role="finance")  # no second factor
    anonymous = portal.browser()
    changes = (
        "SELECT count(*) FROM audit_log WHERE action LIKE 'adjustment.%' "
        "OR action LIKE 'batch.%' OR action LIKE 'inquiry.%'"
    )
    before = portal.scalar(changes)
    wrong: list[str] = []
    for method, path in routes:
        theirs = path.startswith("/console/rep-credit")  # sales ops read rep credit
        own_account = path == "/console/account/password"  # and change their password
        for who, browser, allowed in (
            ("partner", partner, {404}),
            ("sales_ops", sales, {200, 422} if own_account else {200} if theirs else {404}),
            ("anonymous", anonymous, {303, 403}),
        ):
            status = _ask(browser, method, path)
            if status not in allowed:
                wrong.append(f"{who} {method} {path}: {status}")
        status = _ask(halfway, method, path)
        own_page = path == "/console/second-factor"
        if not own_page and status != 303:
            wrong.append(f"finance without a second factor {method} {path}: {status}")
        if not own_page and method == "GET":
            where = halfway.get(path).headers.get("location", "")
            if not where.startswith("/console/second-factor"):
                wrong.append(f"finance without a second factor {path} went to {where!r}")
    # The API twins read with a session too: only finance past its second factor.
    for twin in ("/adjustments", f"/adjustments/{number}", "/batches/2026-03", "/inquiries"):
        for who, browser in (("partner", partner), ("sales_ops", sales), ("halfway", halfway)):
            status = browser.get(twin).status_code
            if status not in (403, 404):
                wrong.append(f"{who} GET {twin} (API): {status}")
        if alice.browser.get(twin).status_code != 200:
            wrong.append(f"finance GET {twin} (API): not 200")
    assert wrong == []
    after = portal.scalar(changes)
    assert after == before  # none of them changed anything
    assert alice.browser.get("/console").status_code == 200


def test_the_inquiries_queue_replies_and_resolves_with_no_change(
    portal: DemoPortal, alice: FinanceUser
) -> None:
    asker = portal.user("quentin@partner.example", portal.partner)
    raised = asker.submit(
        f"/portal/partners/{portal.partner}/inquiries",
        {"reference": "DEAL-9", "message": "Where is deal 9?", "period": ""},
        page=f"/portal/partners/{portal.partner}/inquiries/new",
    )
    assert raised.status_code == 303
    number = raised.headers["location"].rsplit("/", 1)[1]
    queue = alice.browser.get("/console/inquiries").text
    assert f'<a href="/console/inquiries/{number}">{number}</a></td><td>{portal.partner}' in queue
    page = f"/console/inquiries/{number}"
    assert (
        f'href="/console/adjustments?inquiry={number}&amp;partner=' in alice.browser.get(page).text
    )
    replied = alice.browser.submit(f"{page}/reply", {"message": "Looking into it."}, page=page)
    assert replied.status_code == 303
    assert 'id="status">answered<' in alice.browser.get(page).text
    resolved = alice.browser.submit(
        f"{page}/resolve", {"message": "deal 9 closed in April"}, page=page
    )
    assert resolved.status_code == 303
    assert 'id="status">resolved<' in alice.browser.get(page).text
    seen = asker.get(f"/portal/partners/{portal.partner}/inquiries/{number}").text
    assert "No change: deal 9 closed in April" in seen
    assert f'/console/inquiries/{number}"' not in alice.browser.get("/console/inquiries").text


def _reimport_partner(portal: DemoPortal, key: str, status: str) -> int:
    """The partner's record sent again as an amendment, as a billing sync would."""
    with portal.engine.connect() as connection:
        name, kind, currency = connection.execute(
            text("SELECT name, type, payout_currency FROM partners WHERE id = :p"),
            {"p": portal.other},
        ).one()
    record = {
        "id": portal.other, "name": name, "type": kind, "payout_currency": currency,
        "status": status,
    }  # fmt: skip
    sent = portal.browser().client.post(
        "/facts/partners?amend=true", json=record, headers={"Authorization": f"Bearer {key}"}
    )
    return sent.status_code


def test_a_hold_and_its_release_are_recorded_with_their_reasons(
    portal: DemoPortal, alice: FinanceUser
) -> None:
    page = f"/console/partners/{portal.other}"
    assert 'id="finance-hold">none<' in alice.browser.get(page).text
    bare = alice.browser.submit(f"{page}/hold", {"action": "hold", "reason": " "}, page=page)
    assert bare.status_code == 422
    assert "say why" in bare.text
    held = alice.browser.submit(
        f"{page}/hold", {"action": "hold", "reason": "bank details disputed"}, page=page
    )
    assert held.status_code == 303
    assert 'id="finance-hold">on hold<' in alice.browser.get(page).text

    # Amending the partner's record, even to `active`, does not release the hold.
    billing = payouts(
        "keys", "create", "--role", "billing", "--name", "billing-sync", database_url=portal.url
    ).out.strip().splitlines()[-1]  # fmt: skip
    assert _reimport_partner(portal, billing, "active") == 403  # and billing may not amend
    assert _reimport_partner(portal, portal.finance_key, "active") == 200
    assert portal.scalar("SELECT status FROM partners WHERE id = :p", p=portal.other) == "active"
    shown = alice.browser.get(page).text
    assert 'id="finance-hold">on hold<' in shown
    assert 'name="action" value="release"' in shown

    released = alice.browser.submit(
        f"{page}/hold", {"action": "release", "reason": "called back, confirmed"}, page=page
    )
    assert released.status_code == 303
    shown = alice.browser.get(page).text
    assert 'id="finance-hold">none<' in shown
    assert shown.index("called back, confirmed") < shown.index("bank details disputed")
    rows = portal.scalar(
        "SELECT count(*) FROM partner_holds WHERE partner_id = :p AND actor LIKE 'user:%'",
        p=portal.other,
    )
    assert rows == 2


def test_sales_ops_read_rep_credit_as_the_api_gives_it(portal: DemoPortal) -> None:
    sales = portal.user("sasha@sales.example", None, role="sales_ops")
    page = sales.get("/console/rep-credit?period=2026-03")
    assert page.status_code == 200
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", page.text)
    assert rows
    ours = sales.get("/console/rep-credit/2026-03.csv")
    api = sales.get("/rep-credit/2026-03/csv")
    assert ours.status_code == 200
    assert ours.content == api.content
    assert len(rows) == ours.text.count("\n") - 1  # a table row per CSV line
    assert "/console/periods" not in page.text  # no finance links for sales ops


def test_the_audit_log_filters_by_who_what_and_when(
    portal: DemoPortal, alice: FinanceUser, bob: FinanceUser
) -> None:
    number = _propose(alice, portal, "1.00", "for the audit log")
    everything = alice.browser.get("/console/audit").text
    assert f"manual_adjustment {number}" in everything
    by_bob = alice.browser.get("/console/audit?actor=bob%40finance&action=adjustment.").text
    assert f"manual_adjustment {number}" not in by_bob
    proposals = alice.browser.get("/console/audit?action=adjustment.propose&actor=alice").text
    assert f"manual_adjustment {number}" in proposals
    assert "batch.run" not in proposals
    tomorrow = alice.browser.get("/console/audit?since=2999-01-01").text
    assert "Nothing matches." in tomorrow


def test_plans_show_versions_a_diff_and_a_what_if_that_writes_nothing(
    portal: DemoPortal, alice: FinanceUser
) -> None:
    listed = alice.browser.get("/console/plans").text
    assert 'href="/console/plans/independent-reseller"' in listed
    same = alice.browser.get("/console/plans/independent-reseller?a=1&b=1").text
    assert "0 changes" in same
    # Its assignments: who is on the plan, from when, set by whom.
    assigned = portal.scalar(
        "SELECT count(*) FROM plan_assignments WHERE plan_id = 'independent-reseller'"
    )
    assert assigned > 0
    rows = re.findall(
        r'<tr><td><a href="/console/partners/([^"]+)">', same[same.index('id="assignments"') :]
    )
    assert len(rows) == assigned
    first = portal.scalar(
        "SELECT partner_id FROM plan_assignments WHERE plan_id = 'independent-reseller' "
        "ORDER BY effective_from, partner_id LIMIT 1"
    )
    assert rows[0] == first
    stored = portal.scalar(
        "SELECT document FROM plan_versions WHERE plan_id = 'independent-reseller' AND version = 1"
    )
    document = stored if isinstance(stored, dict) else json.loads(stored)  # JSON on PostgreSQL
    document["version"] = 2
    document["components"][0]["rates"]["independent"] = "0.3"
    versions = portal.scalar("SELECT count(*) FROM plan_versions")
    token = alice.browser.token("/console/what-if")
    answered = alice.browser.client.post(
        "/console/what-if",
        data={"csrf_token": token, "period": "2026-03"},
        files={"plan": ("candidate.yaml", json.dumps(document).encode(), "text/yaml")},
    )
    assert answered.status_code == 200, answered.text
    table = answered.text[answered.text.index('id="what-if"') :]
    differences = re.findall(r'<td class="num">(-?\d+\.\d+)</td></tr>', table)
    assert differences
    assert any(Decimal(d) > 0 for d in differences)  # 20% -> 30% for independent resellers
    assert 'id="what-if-lines"' not in answered.text  # lines only for a partner asked for

    # Down to the lines: one partner whose total changes, per component and line by line.
    row = r'<tr><td>([^<]+)</td><td class="num">[^<]*</td><td class="num">[^<]*</td>'
    changed = {
        p: Decimal(d)
        for p, d in re.findall(row + r'<td class="num">(-?\d+\.\d+)</td></tr>', table)
        if Decimal(d) != 0
    }
    partner, difference = sorted(changed.items())[0]
    drilled = alice.browser.client.post(
        "/console/what-if",
        data={"csrf_token": token, "period": "2026-03", "partner": partner},
        files={"plan": ("candidate.yaml", json.dumps(document).encode(), "text/yaml")},
    )
    assert drilled.status_code == 200, drilled.text
    components_table = drilled.text[
        drilled.text.index('id="what-if-components"') : drilled.text.index('id="what-if-lines"')
    ]
    per_component = [
        Decimal(d)
        for p, d in re.findall(
            row.replace("([^<]+)", "([^<]+)</td><td>[^<]*")
            + r'<td class="num">(-?\d+\.\d+)</td></tr>',
            components_table,
        )
        if p == partner
    ]
    assert per_component
    assert sum(per_component) == difference
    lines_table = drilled.text[drilled.text.index('id="what-if-lines"') :]
    line_differences = [
        Decimal(d)
        for d in re.findall(
            r'<td><code>[^<]+</code></td><td class="num">[^<]*</td><td class="num">[^<]*</td>'
            r'<td class="num">(-?\d+\.\d+)</td></tr>',
            lines_table,
        )
    ]
    assert line_differences
    assert sum(line_differences) == difference  # the lines account for the whole change
    assert portal.scalar("SELECT count(*) FROM plan_versions") == versions
    broken = alice.browser.client.post(
        "/console/what-if",
        data={"csrf_token": token, "period": "2026-03"},
        files={"plan": ("bad.yaml", b"plan_id: [", "text/yaml")},
    )
    assert broken.status_code == 422
    assert 'id="problems"' in broken.text
