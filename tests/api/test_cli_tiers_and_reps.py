"""What a new user reads: a partner's tier figures, and a rep report a spreadsheet takes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from payouts import tiers
from payouts.batch import reps
from payouts.batch import service as batch
from payouts.db import make_engine, unit_of_work
from payouts.facts.ingest import ingest
from tests.api.cli import payouts
from tests.payouts.program import Program


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_tiers_show_prints_each_requirement_with_the_figure_threshold_and_gap(
    migrated_url: str, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        program = Program(session)
        program.partner("P-2", program.plan("tiered_reseller"))
        ingest(
            session,
            "certifications",
            [
                {"id": f"CERT-{n}", "partner_id": "P-2", "name": f"Cert {n}"}
                | {"earned_at": "2025-06-01"}
                for n in range(4)
            ],
            actor="crm",
        )
        deal = program.deal("P-2", "sourced", list_amount="5000.00", day="2026-02-15")
        program.invoice(deal, "5000.00", "2026-02-15")
        tiers.evaluate(session, "2026-03", actor="finance")

    shown = payouts("tiers", "show", "P-2", database_url=migrated_url)
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0].startswith("2026-03 tiered-reseller/status-tiers: Silver (new, from 2026-04)")
    assert lines[1:5] == [
        "    figures at 2026-03-31: sourced revenue 12m 5,000.00 USD, certifications 4, "
        "campaigns 0, registered deals 0",
        "    to reach Gold (any of):",
        "      sourced revenue 12m: 5,000.00 of 100,000.00 USD, gap 95,000.00 USD",
        "      certifications: 4 of 6, gap 2",
    ]


def rep_month(session: Session) -> None:
    """Rita owns a deal closed through partner P-1 and a direct one."""
    program = Program(session)
    ingest(session, "reps", [{"id": "R-1", "name": "Rita", "currency": "USD"}], actor="crm")
    program.partner("P-1", program.plan("tiered_reseller"))
    program.assign(None, program.plan("rep_credit"), "2026-01-01")
    program.deal("P-1", "sourced", list_amount="1000.00", rep="R-1", deal_id="D-VIA")
    ingest(
        session,
        "deals",
        [
            {
                "id": "D-DIRECT",
                "customer_id": "C-2",
                "list_amount": "500.00",
                "net_amount": "500.00",
                "currency": "USD",
                "close_date": "2026-01-12",
                "owner_rep_id": "R-1",
            }
        ],
        actor="crm",
    )
    batch.run(session, "2026-01", actor="alice")


def test_the_rep_report_says_yes_or_no_where_python_said_true_or_false(session: Session) -> None:
    rep_month(session)
    rows = list(csv.DictReader(io.StringIO(reps.report_csv(session, "2026-01"))))
    assert {(r["deal_id"], r["via_partner"]) for r in rows} == {
        ("D-VIA", "yes"),
        ("D-DIRECT", "no"),
    }


def test_the_rep_report_file_is_the_printed_report_in_code_point_order(
    migrated_url: str, engine: Engine, tmp_path: Path
) -> None:
    """`reps report --out` writes the report as it reads it (a month is not held in
    memory): the same text as printed, rows by rep then deal in code-point order
    whatever the database's collation ("D-B" before "D-a"), and no partial file left."""
    with unit_of_work(engine) as session:
        program = Program(session)
        ingest(session, "reps", [{"id": "R-1", "name": "Rita", "currency": "USD"}], actor="crm")
        program.partner("P-1", program.plan("tiered_reseller"))
        program.assign(None, program.plan("rep_credit"), "2026-01-01")
        for deal_id in ("D-a", "D-B", "D-_", "D-10", "D-9"):
            program.deal("P-1", "sourced", list_amount="100.00", rep="R-1", deal_id=deal_id)
        batch.run(session, "2026-01", actor="alice")

    printed = payouts("reps", "report", "2026-01", database_url=migrated_url)
    out = tmp_path / "reports" / "rep-credit.csv"
    written = payouts("reps", "report", "2026-01", "--out", out, database_url=migrated_url)
    assert (printed.code, written.code) == (0, 0), (printed.err, written.err)
    assert written.out.strip() == f"{out}: 5 rep credit line(s)"
    assert out.read_text(encoding="utf-8") == printed.out
    deals = [row["deal_id"] for row in csv.DictReader(io.StringIO(printed.out))]
    assert deals == sorted(deals) == ["D-10", "D-9", "D-B", "D-_", "D-a"]
    assert [p.name for p in out.parent.iterdir()] == ["rep-credit.csv"]
