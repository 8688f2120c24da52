"""What a partner sees in the portal is what its statements say, to the cent.

The demo program closed on a real database; pages fetched through HTTP; files
compared with what `payouts statements render` writes; inquiries answered from the
command line and through the API.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest

from api.web import catalog
from tests.api.cli import payouts
from tests.api.portal import (
    DEMO_PARTNER_EMAIL,
    DEMO_PASSWORD,
    PERIOD,
    Browser,
    DemoPortal,
    demo_portal,
)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPortal]:
    with demo_portal(tmp_path_factory.mktemp("portal-pages")) as portal:
        yield portal


@pytest.fixture
def partner(portal: DemoPortal) -> Browser:
    browser = portal.browser()
    assert browser.sign_in(DEMO_PARTNER_EMAIL, DEMO_PASSWORD).status_code == 303
    return browser


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&amp;", "&")


def _pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_dashboard_shows_the_tier_and_progress_the_pdf_prints(
    portal: DemoPortal, partner: Browser
) -> None:
    page = _text(partner.get(f"/portal/partners/{portal.partner}").text)
    pdf = _pdf_text(
        partner.get(f"/portal/partners/{portal.partner}/statements/{PERIOD}/pdf").content
    )
    title = re.search(r"Tier: .+?(?:\(top tier\)|next tier \S+)", pdf)
    assert title is not None, pdf[:400]
    assert title.group(0).replace("\u2192", "→") in page
    figures = re.findall(r"^(.+ / .+ · (?:met|.+ to go))$", pdf, re.MULTILINE)
    assert figures, pdf[:600]
    for figure in figures:
        assert figure.strip() in page


def test_the_statement_page_has_the_pdfs_lines_and_totals(
    portal: DemoPortal, partner: Browser
) -> None:
    base = f"/portal/partners/{portal.partner}/statements/{PERIOD}"
    html = partner.get(base).text
    page = _text(html)
    pdf = _pdf_text(partner.get(f"{base}/pdf").content)
    payable = re.search(r"Amount payable\s+(\S+)", pdf)
    assert payable is not None
    shown = re.search(r'id="amount-payable">([^<]+)<', html)
    assert shown is not None
    assert shown.group(1) == payable.group(1)
    for label in ("Opening balance", "Closing balance", "Carried forward"):
        amount = re.search(rf"{label}\s+(\S+)", pdf)
        assert amount is not None
        assert f"{label} {amount.group(1)}" in page
    hash_in_pdf = re.search(r"Content hash \(SHA-256\): ([0-9a-f]{64})", pdf)
    assert hash_in_pdf is not None
    assert hash_in_pdf.group(1) in html


def test_the_downloads_are_the_bytes_statements_render_writes(
    portal: DemoPortal, partner: Browser, tmp_path: Path
) -> None:
    rendered = payouts(
        "statements", "render", PERIOD, "--out", tmp_path, "--partner", portal.partner,
        database_url=portal.url, key=portal.finance_key,
    )  # fmt: skip
    assert rendered.code == 0, rendered.err
    base = f"/portal/partners/{portal.partner}/statements/{PERIOD}"
    stem = f"statement-{portal.partner}-{PERIOD}"
    pdf = partner.get(f"{base}/pdf")
    csv = partner.get(f"{base}/csv")
    assert pdf.content == (tmp_path / f"{stem}.pdf").read_bytes()
    assert csv.content == (tmp_path / f"{stem}.csv").read_bytes()
    assert f'filename="{stem}.pdf"' in pdf.headers["content-disposition"]


def test_verify_recomputes_the_hash_and_shows_the_match(
    portal: DemoPortal, partner: Browser
) -> None:
    page = partner.get(f"/portal/partners/{portal.partner}/statements/{PERIOD}/verify").text
    stored = re.search(r'id="stored-hash">([0-9a-f]{64})<', page)
    computed = re.search(r'id="computed-hash">([0-9a-f]{64})<', page)
    assert stored
    assert computed
    assert stored.group(1) == computed.group(1)
    assert "They match" in page


def test_the_statement_list_says_what_became_of_each_amount_payable(
    portal: DemoPortal, partner: Browser
) -> None:
    page = _text(partner.get(f"/portal/partners/{portal.partner}/statements").text)
    for month in ("March 2026", "February 2026", "January 2026"):
        assert month in page
    assert any(word in page for word in ("Sent to the bank", "Paid", "Held", "Carried forward"))


def test_an_inquiry_on_a_line_is_answered_from_the_command_line_and_seen_by_the_partner(
    portal: DemoPortal, partner: Browser
) -> None:
    statement = partner.get(f"/portal/partners/{portal.partner}/statements/{PERIOD}").text
    ask = re.search(r'href="(/portal/partners/[^"]+/inquiries/new\?period=[^"]+)"', statement)
    assert ask is not None
    form_page = ask.group(1).replace("&amp;", "&")
    line_id = form_page.rsplit("line=", 1)[1]
    raised = partner.submit(
        f"/portal/partners/{portal.partner}/inquiries",
        {"period": PERIOD, "line_id": line_id, "message": "This rate looks too low to us."},
        page=form_page,
    )
    assert raised.status_code == 303, raised.text
    inquiry_id = raised.headers["location"].rsplit("/", 1)[1]
    listed = payouts(
        "inquiries", "list", "--status", "open", database_url=portal.url, key=portal.finance_key
    )
    assert listed.code == 0, listed.err
    assert (
        f"{inquiry_id}\t{portal.partner}\topen\tline {line_id} of the {PERIOD} statement"
        in listed.out
    )
    shown = payouts(
        "inquiries", "show", inquiry_id, database_url=portal.url, key=portal.finance_key
    )
    assert "This rate looks too low to us." in shown.out
    assert "statement content hash when asked:" in shown.out
    answered = payouts(
        "inquiries", "reply", inquiry_id, "-m", "The plan pays 5% on this component.",
        database_url=portal.url, key=portal.finance_key,
    )  # fmt: skip
    assert answered.code == 0, answered.err
    page = partner.get(raised.headers["location"]).text
    assert "The plan pays 5% on this component." in page
    assert "Answered" in page
    resolved = payouts(
        "inquiries", "resolve", inquiry_id, "-m", "No change: the rate is right.",
        database_url=portal.url, key=portal.finance_key,
    )  # fmt: skip
    assert resolved.code == 0
    again = payouts(
        "inquiries",
        "resolve",
        inquiry_id,
        "-m",
        "twice",
        database_url=portal.url,
        key=portal.finance_key,
    )
    assert again.code == 1
    assert again.err.startswith("error: inquiry ")
    assert "resolved already" in again.err
    assert "Resolved" in partner.get(raised.headers["location"]).text


def test_missing_credit_for_something_already_on_a_statement_points_at_its_line(
    portal: DemoPortal, partner: Browser
) -> None:
    csv = partner.get(f"/portal/partners/{portal.partner}/statements/{PERIOD}/csv").text
    invoice = re.search(r"invoice:([^,]+),", csv)
    assert invoice is not None
    refused = partner.submit(
        f"/portal/partners/{portal.partner}/inquiries",
        {"reference": invoice.group(1), "message": "Where is my credit?"},
        page=f"/portal/partners/{portal.partner}/inquiries/new",
    )
    assert refused.status_code == 422
    assert "is on your statement for" in refused.text


def test_finance_answers_through_the_api_and_a_partner_key_raises_one(portal: DemoPortal) -> None:
    browser = portal.browser()
    headers = {"Authorization": f"Bearer {portal.finance_key}"}
    partner_key = payouts(
        "keys", "create", "--role", "partner", "--name", "pk", "--partner", portal.partner,
        database_url=portal.url,
    ).out.strip().splitlines()[-1]  # fmt: skip
    raised = browser.client.post(
        f"/partners/{portal.partner}/inquiries",
        json={"reference": "DEAL-MISSING-9", "message": "We sourced this deal."},
        headers={"Authorization": f"Bearer {partner_key}"},
    )
    assert raised.status_code == 201, raised.text
    number = raised.json()["id"]
    other = browser.client.get(
        f"/partners/{portal.other}/inquiries", headers={"Authorization": f"Bearer {partner_key}"}
    )
    assert other.status_code == 404
    answer = browser.client.post(
        f"/inquiries/{number}/replies", json={"message": "Checking with sales."}, headers=headers
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "answered"
    done = browser.client.post(
        f"/inquiries/{number}/resolution", json={"message": "Credited next month."}, headers=headers
    )
    assert done.json()["status"] == "resolved"
    assert browser.client.get("/inquiries/999999", headers=headers).status_code == 404


def test_the_leaderboard_is_off_until_finance_turns_it_on(
    portal: DemoPortal, partner: Browser
) -> None:
    board = f"/portal/partners/{portal.partner}/leaderboard"
    assert partner.get(board).status_code == 404
    assert "Leaderboard" not in partner.get(f"/portal/partners/{portal.partner}").text
    on = payouts("portal", "leaderboard", "on", database_url=portal.url, key=portal.finance_key)
    assert on.code == 0, on.err
    try:
        page = partner.get(board)
        assert page.status_code == 200
        assert 'class="own"' in page.text  # the partner's own row, named
        choice = partner.submit(board, {"named": "yes"})
        assert choice.status_code == 303
        assert 'value="yes" checked' in partner.get(board).text
    finally:
        payouts("portal", "leaderboard", "off", database_url=portal.url, key=portal.finance_key)


def test_users_are_invited_listed_reset_and_disabled_from_the_command_line(
    portal: DemoPortal,
) -> None:
    invited = payouts(
        "users", "invite", "--role", "partner", "--partner", portal.partner,
        "--email", "Carol@Partner.example", database_url=portal.url,
    )  # fmt: skip
    assert invited.code == 0, invited.err
    assert "carol@partner.example (partner, partner " in invited.out
    link = invited.out.strip().splitlines()[-1]
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/portal/password/[\w-]{40,}", link)
    twice = payouts(
        "users", "invite", "--role", "partner", "--partner", portal.partner,
        "--email", "carol@partner.example", database_url=portal.url,
    )  # fmt: skip
    assert twice.code == 1
    assert "already has an account" in twice.err
    wrong = payouts(
        "users", "invite", "--role", "finance", "--partner", portal.partner,
        "--email", "x@finance.example", database_url=portal.url,
    )  # fmt: skip
    assert wrong.code == 1
    assert "belongs to no partner" in wrong.err
    listed = payouts("users", "list", database_url=portal.url)
    assert "carol@partner.example\tpartner\t" in listed.out
    assert "\tinvited" in listed.out
    reset = payouts("users", "reset", "carol@partner.example", database_url=portal.url)
    assert reset.code == 0
    assert "invitation link" in reset.out
    old_secret = link.rsplit("/", 1)[1]
    assert portal.browser().get(f"/portal/password/{old_secret}").status_code == 404
    disabled = payouts("users", "disable", "carol@partner.example", database_url=portal.url)
    assert disabled.code == 0
    assert "\tdisabled" in payouts("users", "list", database_url=portal.url).out
    new_secret = reset.out.strip().splitlines()[-1].rsplit("/", 1)[1]
    assert portal.browser().get(f"/portal/password/{new_secret}").status_code == 404


def test_the_shipped_catalogs_are_current_with_the_templates() -> None:
    assert catalog.stale() == []
    labels = {m.id for m in catalog.template() if m.id}
    assert "Sign in" in labels
    assert ("%(num)d open inquiry.", "%(num)d open inquiries.") in labels
