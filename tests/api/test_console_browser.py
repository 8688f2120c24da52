"""The acceptance month of the finance console, in a real Chromium.

Finance user A runs the batch and has no approve button; A's forged approve POST is
refused. User B approves and closes, downloads the SEPA file (validated against the
pain.001 XSD), previews then records the bank's results with one failed payment,
whose amount is back in the partner's balance next month. A partner's inquiry gets
an adjustment proposed by A and approved by B, printed with its reason on the next
month's statement (PDF text read back). Same set-up as the portal's browser tests:
Debian's chromium through Playwright's `executable_path`, uvicorn in a thread.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdf
import pytest
import xmlschema

from api.app import create_app
from payouts import second_factor
from tests.api.portal import DemoPortal
from tests.api.test_console_month import MONTH, NEXT, program  # noqa: F401 (the fixture)
from tests.api.test_portal_browser import LAUNCH_ARGS, _chromium, _free_port
from tests.payouts.batch.test_sepa import schema_file

PASSWORD = "a finance person's long passphrase"

pytestmark = pytest.mark.browser


@dataclass
class Served:
    program: DemoPortal
    base: str
    browser: Any
    files: Path

    def person(self, email: str, role: str, partner: str | None = None) -> Any:
        """A page in a browser context of its own, signed in as a new user."""
        secret = self.program.invite(email, role, partner)
        page = self.browser.new_context(accept_downloads=True).new_page()
        page.goto(f"{self.base}/portal/password/{secret}")
        page.fill("#password", PASSWORD)
        page.fill("#confirmation", PASSWORD)
        page.click("main button[type=submit]")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        return page


@pytest.fixture(scope="module")
def served(
    program: DemoPortal,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    executable = _chromium()
    import uvicorn
    from playwright.sync_api import sync_playwright

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(program.engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the console's server did not start"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
            try:
                yield Served(
                    program, f"http://127.0.0.1:{port}", browser, tmp_path_factory.mktemp("files")
                )
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _finance(served: Served, email: str) -> Any:
    """A finance user past its first sign-in: enrolled with its authenticator app."""
    page = served.person(email, "finance")
    page.wait_for_url(re.compile(r".*/console/second-factor.*"))
    assert page.locator("figure.qr svg").count() == 1
    secret = page.inner_text("#totp-secret")
    page.fill("#code", second_factor.current_code(secret))
    page.click("main button[type=submit]")
    assert page.locator("#recovery-codes li").count() == second_factor.RECOVERY_CODES
    page.click("text=Continue to the console")
    page.wait_for_url(f"{served.base}/console")
    return page


def _download(page: Any, selector: str) -> bytes:
    with page.expect_download() as caught:
        page.click(selector)
    return Path(caught.value.path()).read_bytes()


def test_a_month_from_run_to_paid_and_an_adjustment_on_the_next_statement(
    served: Served,
) -> None:
    base = served.base
    a = _finance(served, "anna@finance.example")
    b = _finance(served, "boris@finance.example")
    month = f"{base}/console/periods/{MONTH}"

    a.goto(month)
    a.click("#run")
    a.wait_for_url(f"{month}?done=run")
    assert a.inner_text("#state") == "draft"
    assert a.locator("#approve").count() == 0
    token = a.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = a.request.post(f"{month}/approve", form={"csrf_token": token})
    assert forged.status == 403
    a.reload()
    assert a.inner_text("#state") == "draft"

    b.goto(month)
    b.click("#approve")
    b.wait_for_url(f"{month}?done=approved")
    b.click("#close")
    b.wait_for_url(f"{month}?done=closed")
    assert b.inner_text("#state") == "closed"
    sepa = _download(b, "#download-sepa")
    xmlschema.XMLSchema(schema_file("pain.001.001.03")).validate(sepa.decode())
    rows = list(csv.DictReader(io.StringIO(_download(b, "#download-csv").decode())))
    failed, *paid = rows
    results = served.files / "results.csv"
    results.write_text(
        "end_to_end_id,status,bank_reference,reason\n"
        + "".join(f"{r['end_to_end_id']},paid,BANK-{n},\n" for n, r in enumerate(paid))
        + f"{failed['end_to_end_id']},failed,,account closed\n"
    )
    b.set_input_files("#results", str(results))
    b.click("#preview")
    assert failed["end_to_end_id"] in b.inner_text("#preview-result")
    assert served.program.scalar("SELECT count(*) FROM payout_results") == 0
    b.click("#confirm")
    b.wait_for_url(f"{month}?done=paid")
    assert served.program.scalar("SELECT count(*) FROM payout_results") == len(rows)
    back = served.program.scalar(
        "SELECT amount_minor FROM ledger_entries WHERE period = :p AND partner_id = :q "
        "AND entry_kind = 'payout_reversal'",
        p=NEXT,
        q=failed["partner_id"],
    )
    assert back == int(failed["amount"].replace(".", ""))

    # The partner asks about a missing credit; A proposes, B approves an adjustment.
    partner = failed["partner_id"]
    asker = served.person("paula@partner.example", "partner", partner)
    asker.wait_for_url(f"{base}/portal/partners/{partner}")
    asker.goto(f"{base}/portal/partners/{partner}/inquiries/new")
    asker.fill("#reference", "INV-404")
    asker.fill("#message", "Invoice INV-404 is not on my statement.")
    asker.click("main button[type=submit]")
    asker.wait_for_url(re.compile(r".*/inquiries/\d+$"))
    inquiry = asker.url.rsplit("/", 1)[1]

    a.goto(f"{base}/console/adjustments?inquiry={inquiry}&partner={partner}")
    a.fill("#amount", "42.00")
    a.fill("#currency", failed["currency"])
    a.fill("#reason", "Credit for INV-404, missed by the import")
    a.click("form[method=post][action='/console/adjustments'] button[type=submit]")
    a.wait_for_url(re.compile(r".*/console/adjustments/\d+$"))
    assert a.locator("#approve").count() == 0
    b.goto(a.url)
    b.click("#approve")
    assert b.inner_text("#status") == "approved"
    asker.reload()
    assert "Resolved with manual adjustment" in asker.inner_text("main")

    following = f"{base}/console/periods/{NEXT}"
    a.goto(following)
    a.click("#run")
    a.wait_for_url(f"{following}?done=run")
    b.goto(following)
    b.click("#approve")
    b.wait_for_url(f"{following}?done=approved")
    b.click("#close")
    b.wait_for_url(f"{following}?done=closed")
    asker.goto(f"{base}/portal/partners/{partner}/statements/{NEXT}")
    pdf = _download(asker, "text=Download PDF")
    text = " ".join(
        " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split()
    )
    # The partner reads German: the reason as finance typed it, under a German label.
    assert "Grund: Credit for INV-404, missed by the import" in text
    shutil.rmtree(served.files, ignore_errors=True)
