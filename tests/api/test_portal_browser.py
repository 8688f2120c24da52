"""The portal in a real Chromium, as a partner uses it, start to finish.

Debian's `chromium`, driven by Playwright for Python through `executable_path` (no
browser download). One server (uvicorn in a thread, on a free port of 127.0.0.1) and
one browser serve every test of the module. Without a Chromium the tests are skipped
with one line; under CI=true a missing browser fails the run. Screenshots of the
dashboard and of a statement go to `var/screenshots/`.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdf
import pytest

from api.app import create_app
from tests.api.cli import payouts
from tests.api.portal import PERIOD, DemoPortal, demo_portal

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a partner's long passphrase"

pytestmark = pytest.mark.browser


def _chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Chromium for the browser tests (.ci/run installs it)")
        pytest.skip("no Chromium here (apt-get install chromium): browser tests skipped")
    return found


@dataclass
class Served:
    portal: DemoPortal
    base: str
    page: Any
    downloads: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    executable = _chromium()
    import uvicorn
    from playwright.sync_api import sync_playwright

    with demo_portal(tmp_path_factory.mktemp("portal-browser")) as portal:
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(portal.engine), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the portal's server did not start"
        profile = tempfile.mkdtemp(prefix="pp-chromium-")
        downloads = tmp_path_factory.mktemp("downloads")
        try:
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    profile,
                    executable_path=executable,
                    headless=True,
                    args=LAUNCH_ARGS,
                    viewport={"width": 1200, "height": 900},
                    accept_downloads=True,
                    downloads_path=str(downloads),
                )
                try:
                    yield Served(portal, f"http://127.0.0.1:{port}", context.new_page(), downloads)
                finally:
                    context.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            shutil.rmtree(profile, ignore_errors=True)


def test_a_partner_goes_from_invitation_to_an_answered_inquiry(served: Served) -> None:
    portal, page, base = served.portal, served.page, served.base
    invited = payouts(
        "users", "invite", "--role", "partner", "--partner", portal.partner,
        "--email", "dana@partner.example", database_url=portal.url,
    )  # fmt: skip
    assert invited.code == 0, invited.err
    link = invited.out.strip().splitlines()[-1].replace("http://127.0.0.1:8000", base)

    # The invitation: choose a password, then sign in with it.
    page.goto(link)
    page.fill("#password", PASSWORD)
    page.fill("#confirmation", PASSWORD)
    page.click("button[type=submit]")
    assert "Your password is set" in page.inner_text("main")
    page.fill("#email", "dana@partner.example")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/portal/partners/{portal.partner}")

    # The dashboard shows the tier and progress the PDF prints.
    tier = page.inner_text("#tier")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "portal-dashboard.png"), full_page=True)

    # A statement, and its PDF: the total printed is the page's.
    page.goto(f"{base}/portal/partners/{portal.partner}/statements")
    page.click(f"a[href$='/statements/{PERIOD}']")
    page.wait_for_url(f"**/statements/{PERIOD}")
    payable_on_page = page.inner_text("#amount-payable")
    page.screenshot(path=str(SCREENSHOTS / "portal-statement.png"), full_page=True)
    with page.expect_download() as caught:
        page.click("text=Download PDF")
    pdf_path = caught.value.path()
    text = "\n".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(Path(pdf_path).read_bytes())).pages
    )
    printed = re.search(r"Amount payable\s+(\S+)", text)
    assert printed is not None
    assert printed.group(1) == payable_on_page
    title = re.search(r"Tier: (\S+)", text)
    assert title is not None
    assert title.group(1) in tier
    for figure in re.findall(r"^(.+ / .+ · (?:met|.+ to go))$", text, re.MULTILINE):
        assert figure.strip() in tier

    # An inquiry on a line, answered from the command line, seen by the partner.
    page.locator("text=Ask about this line").first.click()
    page.fill("#message", "This commission looks too low.")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/inquiries/\d+$"))
    assert "Waiting for finance" in page.inner_text("#status")
    inquiry_id = page.url.rsplit("/", 1)[1]
    answered = payouts(
        "inquiries", "reply", inquiry_id, "-m", "Checked: the 5% rate applies here.",
        database_url=portal.url, key=portal.finance_key,
    )  # fmt: skip
    assert answered.code == 0, answered.err
    page.reload()
    assert "Checked: the 5% rate applies here." in page.inner_text("#messages")
    assert "Answered" in page.inner_text("#status")

    # Sign out: the pages are closed again.
    page.click("header button[type=submit]")
    page.wait_for_url(re.compile(r".*/portal/sign-in.*"))
    page.goto(f"{base}/portal/partners/{portal.partner}")
    assert "/portal/sign-in" in page.url


def test_another_partners_user_gets_404_for_the_first_partners_urls(served: Served) -> None:
    portal, page, base = served.portal, served.page, served.base
    invited = payouts(
        "users", "invite", "--role", "partner", "--partner", portal.other,
        "--email", "eve@other.example", database_url=portal.url,
    )  # fmt: skip
    page.goto(invited.out.strip().splitlines()[-1].replace("http://127.0.0.1:8000", base))
    page.fill("#password", PASSWORD)
    page.fill("#confirmation", PASSWORD)
    page.click("button[type=submit]")
    page.fill("#email", "eve@other.example")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/portal/partners/{portal.other}")
    first = f"{base}/portal/partners/{portal.partner}"
    for path in (
        f"{first}/statements/{PERIOD}",
        f"{first}/statements/{PERIOD}/verify",
        f"{first}/inquiries/1",
    ):
        answer = page.goto(path)
        assert answer is not None
        assert answer.status == 404, path
        assert "Not found" in page.inner_text("main")
    pdf = page.request.get(f"{first}/statements/{PERIOD}/pdf")
    assert pdf.status == 404


def test_a_partner_changes_its_password_from_the_header_link(served: Served) -> None:
    portal, page, base = served.portal, served.page, served.base
    invited = payouts(
        "users", "invite", "--role", "partner", "--partner", portal.partner,
        "--email", "gus@partner.example", database_url=portal.url,
    )  # fmt: skip
    assert invited.code == 0, invited.err
    page.goto(invited.out.strip().splitlines()[-1].replace("http://127.0.0.1:8000", base))
    page.fill("#password", PASSWORD)
    page.fill("#confirmation", PASSWORD)
    page.click("button[type=submit]")
    page.fill("#email", "gus@partner.example")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/portal/partners/{portal.partner}")

    page.click("header >> text=Change password")
    page.wait_for_url(f"{base}/portal/account/password")
    # The labels name the fields (what a screen reader reads); a wrong password in use
    # is said beside its field, which has the focus when the page comes back.
    page.get_by_label("Current password", exact=True).fill("not the password in use")
    page.get_by_label("New password", exact=True).fill("a newer partner passphrase")
    page.get_by_label("The new password again").fill("a newer partner passphrase")
    page.click("main button[type=submit]")
    assert "This is not the password you use now." in page.inner_text("#current_password-error")
    # (autofocus is applied at the page's next rendering: wait for it, not after it)
    page.wait_for_function("document.activeElement?.id === 'current_password'", timeout=5000)
    described = page.get_attribute("#current_password", "aria-describedby")
    assert described == "current_password-error"

    page.get_by_label("Current password", exact=True).fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a newer partner passphrase")
    page.get_by_label("The new password again").fill("a newer partner passphrase")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/portal/account/password?done=changed")
    assert "Your password is changed." in page.inner_text("#changed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "portal-password.png"), full_page=True)

    page.click("header button[type=submit]")  # sign out, then in with the new password
    page.wait_for_url(re.compile(r".*/portal/sign-in.*"))
    page.fill("#email", "gus@partner.example")
    page.fill("#password", "a newer partner passphrase")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/portal/partners/{portal.partner}")
    page.click("header button[type=submit]")
    page.wait_for_url(re.compile(r".*/portal/sign-in.*"))
