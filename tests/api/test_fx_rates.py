"""A wrong FX rate never blocks a month: a run names it, finance corrects it.

Through the real command line and the HTTP API: an unusable stored rate (put there by
hand, past the validation) makes `batch run` fail with one line naming the rate, or a
problem+json over HTTP; an amendment corrects it while its month is open.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from payouts import audit
from payouts.db import make_engine, unit_of_work
from tests.api.cli import key_for, payouts, payouts_process
from tests.api.support import Api, running_api
from tests.api.test_cli_month import EXAMPLES, FILES
from tests.conftest import copy_of, migrate

PROBLEMS = "https://partner-payouts.dev/problems/"


BAD_RATE = (
    "INSERT INTO fx_rates (id, date, from_currency, to_currency, rate, source, fingerprint, "
    "ingested_at) VALUES ('FX-BAD', '2026-01-05', 'USD', 'EUR', :rate, 'script', 'x', "
    "CURRENT_TIMESTAMP)"
)


def execute(url: str, sql: str, **params: str) -> None:
    """A statement typed by hand, past every validation of the service."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


KEYS: dict[str, str] = {}
"""Holder -> finance API key of the month under test (made with it, so in every copy)."""


def _january(url: str) -> None:
    """January through the CLI: P-1 is paid in EUR on USD invoices, converted by FX-1."""
    migrate(url)
    KEYS.update({holder: key_for(url, holder) for holder in ("alice", "bob", "carol")})
    with tempfile.TemporaryDirectory() as directory:
        for kind, content in FILES.items():
            path = Path(directory) / f"{kind}.csv"
            path.write_text(content, encoding="utf-8")
            imported = payouts("facts", "import", kind, path, database_url=url, key=KEYS["carol"])
            assert imported.code == 0, imported.err
    plans = [EXAMPLES / "tiered_reseller.yaml", EXAMPLES / "referral.yaml"]
    assert payouts("plans", "load", *plans, database_url=url, key=KEYS["carol"]).code == 0
    for plan, partner in (("tiered-reseller", "P-1"), ("referral", "P-2")):
        args = ["plans", "assign", plan, "--from", "2026-01-01", "--partner", partner]
        assert payouts(*args, database_url=url, key=KEYS["carol"]).code == 0


@pytest.fixture
def month(tmp_path: Path) -> Iterator[str]:
    """A copy of January (made through the CLI once a session: `copy_of`)."""
    with copy_of("fx_month", _january, tmp_path) as url:
        yield url


@pytest.mark.parametrize("stored", ["1e30", "1E+30", "-0.9", "0", "abc", "NaN"])
def test_a_run_that_meets_an_unusable_rate_names_it_in_one_line(month: str, stored: str) -> None:
    """`1e30` made the run fail with a traceback from a quantize (a 500 over HTTP)."""
    execute(month, BAD_RATE, rate=stored)
    run = payouts_process("batch", "run", "2026-01", database_url=month, key=KEYS["alice"])
    assert run.code == 1
    assert "Traceback" not in run.err
    [line] = run.err.strip().splitlines()
    assert line.startswith("error: FX rate FX-BAD (USD->EUR on 2026-01-05)")
    assert f"{stored!r}" in line
    assert "--amend" in line


def test_finance_corrects_an_unusable_rate_with_an_amendment_and_the_month_runs(
    month: str, tmp_path: Path
) -> None:
    """Rates could not be amended: only hand-written SQL could unblock the month."""
    execute(month, BAD_RATE, rate="1e30")
    fixed = tmp_path / "fx-fixed.csv"
    fixed.write_text(
        "id,date,from_currency,to_currency,rate,source\nFX-BAD,2026-01-05,USD,EUR,0.9100,ECB\n"
    )
    plain = payouts("facts", "import", "fx_rates", fixed, database_url=month, key=KEYS["carol"])
    assert plain.code == 1
    assert "accepts an explicit amendment" in plain.out
    amended = payouts(
        "facts", "import", "fx_rates", fixed, "--amend", database_url=month, key=KEYS["carol"]
    )
    assert amended.code == 0, amended.err
    assert amended.out.strip() == "fx_rates: 0 inserted, 0 unchanged, 1 amended, 0 refused"
    engine = make_engine(month)
    try:
        with unit_of_work(engine, read_only=True) as session:
            [entry] = audit.history(session, "fx_rates", "FX-BAD")
            recorded = (entry.actor, entry.before, entry.after)
    finally:
        engine.dispose()
    actor, *change = recorded
    assert actor.startswith("key:")
    assert actor.endswith(":carol")  # the key that amended, never a typed name
    assert change == [
        {"rate": "1e30", "source": "script"},
        {"rate": "0.9100", "source": "ECB"},
    ]
    ran = payouts("batch", "run", "2026-01", database_url=month, key=KEYS["alice"])
    assert ran.code == 0, ran.err


def test_a_rate_of_a_closed_month_cannot_be_amended_and_the_database_agrees(
    month: str, tmp_path: Path
) -> None:
    for step, actor in (("run", "alice"), ("approve", "bob"), ("close", "bob")):
        done = payouts("batch", step, "2026-01", database_url=month, key=KEYS[actor])
        assert done.code == 0, done.err
    changed = tmp_path / "fx-late.csv"
    changed.write_text(
        "id,date,from_currency,to_currency,rate,source\nFX-1,2026-01-01,USD,EUR,0.8000,ECB\n"
    )
    refused = payouts(
        "facts", "import", "fx_rates", changed, "--amend", database_url=month, key=KEYS["carol"]
    )
    assert refused.code == 1
    assert "2026-01 is closed" in refused.out
    with pytest.raises(DBAPIError, match="closed"):
        execute(month, "UPDATE fx_rates SET rate = '0.8' WHERE id = 'FX-1'")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path) as api:
        api.key("finance", "finance")
        api.key("billing", "billing")
        api.ok("billing", "POST", "/facts/customers", json={"id": "C-1", "name": "One"})
        api.ok(
            "billing",
            "POST",
            "/facts/partners",
            json={"id": "P-1", "name": "Acme", "type": "referral", "payout_currency": "EUR"},
        )
        api.ok(
            "finance",
            "POST",
            "/plans",
            content=(EXAMPLES / "referral.yaml").read_text(),
            headers={"Content-Type": "application/yaml"},
        )
        api.ok(
            "finance",
            "POST",
            "/plans/referral/assignments",
            json={"partner_id": "P-1", "effective_from": "2026-01-01"},
        )
        for kind, record in (
            (
                "deals",
                {
                    "id": "D-1",
                    "customer_id": "C-1",
                    "list_amount": "100.00",
                    "net_amount": "100.00",
                    "currency": "USD",
                    "close_date": "2026-01-02",
                },
            ),
            (
                "deal_roles",
                {"id": "DR-1", "deal_id": "D-1", "partner_id": "P-1", "role": "referral"},
            ),
            (
                "invoices",
                {
                    "id": "INV-1",
                    "customer_id": "C-1",
                    "deal_id": "D-1",
                    "issue_date": "2026-01-15",
                    "amount": "100.00",
                    "currency": "USD",
                },
            ),
            (
                "fx_rates",
                {
                    "id": "FX-1",
                    "date": "2026-01-01",
                    "from_currency": "USD",
                    "to_currency": "EUR",
                    "rate": "0.9000",
                    "source": "ECB",
                },
            ),
        ):
            api.ok("billing", "POST", f"/facts/{kind}", json=record)
        yield api


def test_over_http_an_unusable_rate_is_a_problem_naming_it_and_an_amendment_fixes_it(
    api: Api,
) -> None:
    with api.engine.begin() as conn:
        conn.execute(text(BAD_RATE), {"rate": "1e30"})
    response = api.post("finance", "/batches/2026-01/run")
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEMS + "fx-rate-unusable"
    assert "FX-BAD" in body["detail"]

    corrected = {
        "id": "FX-BAD",
        "date": "2026-01-05",
        "from_currency": "USD",
        "to_currency": "EUR",
        "rate": "0.9100",
        "source": "ECB",
    }
    forbidden = api.post("billing", "/facts/fx_rates", params={"amend": "true"}, json=corrected)
    assert forbidden.status_code == 403
    amended = api.ok("finance", "POST", "/facts/fx_rates", params={"amend": "true"}, json=corrected)
    assert amended["amended"] == ["FX-BAD"]
    api.ok("finance", "POST", "/batches/2026-01/run")
