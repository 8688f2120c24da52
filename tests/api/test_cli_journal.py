"""A demo year booked and proved from the command line: `payouts journal export`,
`payouts journal waterfall`, `payouts batch replay` and `payouts simulate --lines`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from payouts.accounting.chart import load_chart
from payouts.accounting.journal import journal
from payouts.db import make_engine
from payouts.facts.models import Invoice
from payouts.ledger import LedgerEntry
from tests.api.cli import payouts
from tests.api.support import EXAMPLES, scratch_url
from tests.conftest import owner_url_for
from tests.payouts.accounting.books import assert_balanced_and_tied
from tests.statements.tampering import unguarded

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def demo_year(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("demo-year")
    with scratch_url(directory) as url:
        made = payouts(
            "demo", "--partners", "30", "--months", "12", "--seed", "11",
            "--out", directory / "out", "--workers", "1", database_url=url,
        )  # fmt: skip
        assert made.code == 0, made.err
        assert "closed 12 month(s), 2026-01 to 2026-12" in made.out
        yield url


def test_every_journal_of_the_demo_year_balances_per_currency_and_ties_to_the_ledger(
    demo_year: str,
) -> None:
    chart = load_chart()
    engine = make_engine(demo_year)
    try:
        with Session(engine) as session:
            kinds: set[str] = set()
            codes: set[str] = set()
            for month in MONTHS:
                made = journal(session, month, chart)
                assert made.entries, month
                assert_balanced_and_tied(session, made, chart)
                kinds |= {e.kind for e in made.entries}
                codes |= {p.account.code for e in made.entries for p in e.postings}
            assert {"accrual", "amortisation", "payouts", "payout_file", "rep_commission"} <= kinds
    finally:
        engine.dispose()


def test_batch_replay_says_identical_for_every_month_of_the_demo(demo_year: str) -> None:
    for month in MONTHS:
        done = payouts("batch", "replay", month, database_url=demo_year)
        assert done.code == 0, (month, done.out, done.err)
        last = done.out.strip().splitlines()[-1]
        assert last.startswith("identical: "), done.out
        assert int(last.split()[1]) > 0


def test_journal_export_writes_each_format_once(demo_year: str, tmp_path: Path) -> None:
    for fmt in ("qbo", "netsuite", "csv", "json"):
        done = payouts(
            "journal", "export", "2026-06", "--format", fmt, "--out", tmp_path,
            database_url=demo_year,
        )  # fmt: skip
        assert done.code == 0, done.err
        assert "debits = credits" in done.out
    xero = payouts(
        "journal", "export", "2026-06", "--format", "xero", "--currency", "USD",
        "--out", tmp_path, database_url=demo_year,
    )  # fmt: skip
    assert xero.code == 0, xero.err
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [
        "journal-2026-06-USD-xero.csv",
        "journal-2026-06-csv.csv",
        "journal-2026-06-json.json",
        "journal-2026-06-netsuite.csv",
        "journal-2026-06-qbo.csv",
    ]
    again = payouts(
        "journal", "export", "2026-06", "--format", "csv", "--out", tmp_path,
        database_url=demo_year,
    )  # fmt: skip
    assert again.code == 1
    assert again.err.startswith("error: ")
    assert "exists already" in again.err
    stdout = payouts("journal", "export", "2026-06", "--format", "csv", database_url=demo_year)
    assert stdout.out.encode() == (tmp_path / "journal-2026-06-csv.csv").read_bytes()


def test_journal_refusals_are_one_line(demo_year: str, tmp_path: Path) -> None:
    bad = tmp_path / "chart.yaml"
    bad.write_text("name: x\naccounts: {}\n", encoding="utf-8")
    cases = [
        ("journal", "export", "2026-06", "--format", "xero"),
        ("journal", "export", "2027-01"),
        ("journal", "export", "2026-06", "--format", "sage"),
        ("journal", "export", "2026-06", "--chart", bad),
        ("batch", "replay", "2027-01"),
    ]
    for args in cases:
        done = payouts(*args, database_url=demo_year)
        assert done.code == 1, (args, done.out, done.err)
        assert done.err.startswith("error: "), done.err
        assert len(done.err.strip().splitlines()) == 1, done.err
        assert "Traceback" not in done.err


def test_the_waterfall_follows_the_capitalised_costs_account_of_every_journal(
    demo_year: str,
) -> None:
    done = payouts("journal", "waterfall", "2026-12", database_url=demo_year)
    assert done.code == 0, done.err
    rows = list(csv.DictReader(io.StringIO(done.out)))
    assert rows, "the demo's referral bounties are capitalised"
    chart = load_chart()
    asset = chart.accounts.capitalised_costs.code
    engine = make_engine(demo_year)
    try:
        with Session(engine) as session:
            balance: dict[str, Decimal] = {}
            for month in MONTHS:
                made = journal(session, month, chart)
                for row in (r for r in rows if r["period"] == month):
                    currency = row["currency"]
                    moved = Decimal(made.movement(asset, currency)).scaleb(-2)
                    opening = balance.get(currency, Decimal("0.00"))
                    assert Decimal(row["opening"]) == opening
                    closing = Decimal(row["closing"])
                    assert closing == opening + moved, (month, currency)
                    assert closing == (
                        opening + Decimal(row["additions"]) - Decimal(row["amortisation"])
                    )
                    balance[currency] = closing
    finally:
        engine.dispose()


def test_simulate_lines_compares_every_line_with_the_closed_ledger(
    demo_year: str, tmp_path: Path
) -> None:
    same = payouts(
        "simulate", "2026-12", "--plan", EXAMPLES / "referral.yaml", "--lines",
        database_url=demo_year,
    )  # fmt: skip
    assert same.code == 0, same.err
    assert same.out.strip().splitlines()[-1].startswith("identical: ")
    richer = tmp_path / "referral.yaml"
    richer.write_text(
        (EXAMPLES / "referral.yaml").read_text().replace("rate: 10%", "rate: 12%"), "utf-8"
    )
    changed = payouts("simulate", "2026-12", "--plan", richer, "--lines", database_url=demo_year)
    assert changed.code == 1
    assert "different: " in changed.out
    assert "rate posted '0.1', replay '0.12'" in changed.out


def test_batch_replay_reports_a_fact_altered_behind_the_products_back(demo_year: str) -> None:
    # Last in this module: it tampers with the shared demo database, then puts it back.
    owner = make_engine(owner_url_for(demo_year))
    try:
        with Session(owner) as session:
            # An invoice a percentage was paid on in March.
            invoice_id = session.scalars(
                select(LedgerEntry.invoice_id)
                .where(
                    LedgerEntry.period == "2026-03",
                    LedgerEntry.entry_kind == "earning",
                    LedgerEntry.rate.is_not(None),
                    LedgerEntry.source_fact == "invoice:" + LedgerEntry.invoice_id,
                )
                .order_by(LedgerEntry.invoice_id)
            ).first()
            assert invoice_id is not None
            original = session.get_one(Invoice, invoice_id).amount_minor
            with unguarded(session, "invoices"):
                session.execute(
                    text("UPDATE invoices SET amount_minor = :a WHERE id = :id"),
                    {"a": original + 100_00, "id": invoice_id},
                )
            session.commit()
        done = payouts("batch", "replay", "2026-03", database_url=demo_year)
        with Session(owner) as session:
            with unguarded(session, "invoices"):
                session.execute(
                    text("UPDATE invoices SET amount_minor = :a WHERE id = :id"),
                    {"a": original, "id": invoice_id},
                )
            session.commit()
    finally:
        owner.dispose()
    assert done.code == 1, done.out
    assert "different: " in done.out
    assert f"invoice:{invoice_id}" in done.out
    assert "amount_minor posted" in done.out
    assert payouts("batch", "replay", "2026-03", database_url=demo_year).code == 0
