"""A whole month in the console, over HTTP as a browser sends it: finance user A runs
the batch and cannot approve it; B approves, closes, downloads the files (the SEPA
file valid against pain.001) and records the bank's results after a preview; a
partner's inquiry gets an adjustment proposed by A and approved by B, paid on the next
month's statement with its reason."""

from __future__ import annotations

import csv
import html
import io
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pypdf
import pytest
import xmlschema

from api.web.console import runs
from payouts.db import make_engine
from payouts.settings import get_settings
from tests.api.cli import payouts
from tests.api.console import FinanceUser, enrolled
from tests.api.portal import DemoPortal
from tests.api.support import scratch_url
from tests.payouts.batch.test_sepa import PAYER, schema_file

MONTH, NEXT = "2026-01", "2026-02"


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPortal]:
    """Two months of a synthetic program, facts in, nothing run yet."""
    directory = tmp_path_factory.mktemp("console-month")
    payer = {"PAYER_NAME": PAYER.name, "PAYER_IBAN": PAYER.iban, "PAYER_BIC": PAYER.bic}
    saved = {k: os.environ.get(k) for k in payer}
    os.environ.update(payer)
    get_settings.cache_clear()
    try:
        with scratch_url(directory) as url:
            made = payouts(
                "demo", "generate", "--partners", "16", "--months", "2", "--seed", "7",
                database_url=url,
            )  # fmt: skip
            assert made.code == 0, made.err
            engine = make_engine(url)
            try:
                yield DemoPortal(url, engine, partner="", other="", finance_key="")
            finally:
                engine.dispose()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def _state(user: FinanceUser, period: str) -> str:
    found = re.search(
        r'<span id="state">([^<]*)</span>', user.browser.get(f"/console/periods/{period}").text
    )
    assert found is not None
    return found.group(1)


def _post(user: FinanceUser, path: str, page: str, **fields: str) -> httpx2.Response:
    return user.browser.submit(path, dict(fields), page=page)


def _run(user: FinanceUser, period: str) -> str:
    """Press run: the POST starts it and sends the browser to the run's status page,
    which refreshes itself until the run is done, then points on to the month."""
    page = f"/console/periods/{period}"
    started = _post(user, f"{page}/run", page)
    assert started.status_code == 303
    assert started.headers["location"] == f"{page}/run"
    deadline = time.monotonic() + 120
    while True:
        status = user.browser.get(f"{page}/run")
        assert status.status_code == 200
        if f'http-equiv="refresh" content="0; url={page}?done=run"' in status.text:
            return status.text
        assert 'id="error"' not in status.text, status.text
        assert '<meta http-equiv="refresh" content="1">' in status.text  # still running
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.2)


def test_the_run_page_shows_the_run_in_progress_and_a_second_click_starts_nothing(
    program: DemoPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = enrolled(program, "cal@finance.example")
    page = f"/console/periods/{MONTH}"
    runs_before = program.scalar("SELECT count(*) FROM audit_log WHERE action = 'batch.run'")
    # The run pauses after its first slice (a real run, held at its progress report).
    go_on, paused = threading.Event(), threading.Event()
    report = runs.Run.advanced

    def held(run: runs.Run, slices: int, partners: int) -> None:
        report(run, slices, partners)
        paused.set()
        assert go_on.wait(60)

    monkeypatch.setattr(runs.Run, "advanced", held)
    assert _post(a, f"{page}/run", page).headers["location"] == f"{page}/run"
    assert paused.wait(60)
    status = a.browser.get(f"{page}/run").text
    assert '<meta http-equiv="refresh" content="1">' in status
    assert 'id="run-state">Running…<' in status
    assert 'id="run-slices">1<' in status
    assert re.search(r'id="run-partners">[1-9][0-9]*<', status)
    assert "Lines" not in status
    again = _post(a, f"{page}/run", page)  # a second click while it runs
    assert again.headers["location"] == f"{page}/run"
    go_on.set()
    deadline = time.monotonic() + 60
    while 'content="0; url=' not in a.browser.get(f"{page}/run").text:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    runs_after = program.scalar("SELECT count(*) FROM audit_log WHERE action = 'batch.run'")
    assert runs_after == runs_before + 1  # one run, not two
    assert _state(a, MONTH) == "draft"


def test_a_whole_month_in_the_console(program: DemoPortal, tmp_path: Path) -> None:
    a = enrolled(program, "ann@finance.example")
    b = enrolled(program, "ben@finance.example")
    page = f"/console/periods/{MONTH}"

    ran = _run(a, MONTH)
    assert _state(a, MONTH) == "draft"
    lines = program.scalar("SELECT line_count FROM batches WHERE period = :p", p=MONTH)
    assert lines > 0
    assert f'id="run-lines">{lines}<' in ran  # the run's own figures, shown
    assert 'id="run-slices">1<' in ran  # 16 partners: one slice
    assert re.search(r'id="run-partners">([1-9][0-9]*)<', ran)
    mine = a.browser.get(page).text
    assert 'id="approve"' not in mine
    assert 'id="not-yours"' in mine
    assert 'id="review"' in mine
    forged = _post(a, f"{page}/approve", page)
    assert forged.status_code == 403
    assert "cannot also approve it" in forged.text
    assert _state(a, MONTH) == "draft"

    assert 'id="approve"' in b.browser.get(page).text
    assert _post(b, f"{page}/approve", page).status_code == 303
    assert _post(b, f"{page}/close", page).status_code == 303
    assert _state(b, MONTH) == "closed"
    months = b.browser.get("/console/periods").text
    assert f'href="/console/periods/{MONTH}">{MONTH}</a></td><td class="state-closed">' in months

    sepa = b.browser.get(f"{page}/sepa.xml")
    assert sepa.status_code == 200
    xmlschema.XMLSchema(schema_file("pain.001.001.03")).validate(sepa.content.decode())
    assert b.browser.get(f"{page}/rep-credit.csv").status_code == 200
    payouts_csv = list(csv.DictReader(io.StringIO(b.browser.get(f"{page}/payouts.csv").text)))
    assert len(payouts_csv) >= 2
    failed, *paid = payouts_csv
    results = (
        "end_to_end_id,status,bank_reference,reason\n"
        + "".join(f"{r['end_to_end_id']},paid,B-{n},\n" for n, r in enumerate(paid))
        + f"{failed['end_to_end_id']},failed,,account closed\n"
    )
    token = b.browser.token(page)
    preview = b.browser.client.post(
        f"{page}/payments",
        data={"csrf_token": token},
        files={"file": ("results.csv", results.encode(), "text/csv")},
    )
    assert preview.status_code == 200, preview.text
    assert failed["end_to_end_id"] in preview.text
    assert f"→ {NEXT}" in preview.text
    assert program.scalar("SELECT count(*) FROM payout_results") == 0  # a preview writes nothing
    content = re.search(r'name="content" value="([^"]*)"', preview.text)
    assert content is not None
    confirmed = _post(
        b, f"{page}/payments", page, confirm="yes", content=html.unescape(content.group(1))
    )
    assert confirmed.status_code == 303
    assert program.scalar("SELECT count(*) FROM payout_results") == len(payouts_csv)
    assert _state(b, MONTH) == "closed"
    assert "state-paid" in b.browser.get("/console/periods").text
    returned = program.scalar(
        "SELECT amount_minor FROM ledger_entries WHERE period = :p AND partner_id = :q "
        "AND entry_kind = 'payout_reversal'",
        p=NEXT,
        q=failed["partner_id"],
    )
    assert returned == int(failed["amount"].replace(".", ""))  # back in next month's balance

    # The partner asks; A proposes an adjustment answering it; B approves it.
    partner = failed["partner_id"]
    asker = program.user("pia@partner.example", partner)
    raised = asker.submit(
        f"/portal/partners/{partner}/inquiries",
        {"reference": "INV-404", "message": "Invoice INV-404 is missing", "period": ""},
        page=f"/portal/partners/{partner}/inquiries/new",
    )
    assert raised.status_code == 303, raised.text
    inquiry = raised.headers["location"].rsplit("/", 1)[1]
    proposed = a.browser.submit(
        "/console/adjustments",
        {
            "partner_id": partner, "amount": "42.00", "currency": failed["currency"],
            "reason": "Credit for INV-404, missed by the import", "inquiry_id": inquiry,
        },
    )  # fmt: skip
    assert proposed.status_code == 303, proposed.text
    adjustment = proposed.headers["location"]
    assert _post(b, f"{adjustment}/approve", adjustment).status_code == 303
    answer = asker.get(f"/portal/partners/{partner}/inquiries/{inquiry}").text
    assert "Resolved with manual adjustment" in answer

    following = f"/console/periods/{NEXT}"
    _run(a, NEXT)
    drill = a.browser.get(f"{following}/partners/{partner}").text
    assert "Credit for INV-404, missed by the import" in drill
    assert _post(b, f"{following}/approve", following).status_code == 303
    assert _post(b, f"{following}/close", following).status_code == 303
    pdf = b.browser.get(f"/portal/partners/{partner}/statements/{NEXT}/pdf")
    assert pdf.status_code == 200
    flat = " ".join(
        " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages).split()
    )
    # The partner reads German: the reason as finance typed it, under a German label.
    assert "Grund: Credit for INV-404, missed by the import" in flat
