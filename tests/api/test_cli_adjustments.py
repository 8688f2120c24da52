"""Manual adjustments through the command line: maker-checker by holder, and only an
approved one reaches the month's draft, its hash, the ledger and the statement."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pypdf
from sqlalchemy import text

from payouts.db import make_engine
from tests.api.cli import payouts
from tests.api.test_cli_month import KEYS, month  # noqa: F401 (the fixture)


def _draft_hash(url: str, period: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return str(
                connection.execute(
                    text("SELECT draft_hash FROM batches WHERE period = :p"), {"p": period}
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _propose(url: str, key: str, amount: str, reason: str) -> int:
    made = payouts(
        "adjustments", "propose", "--partner", "P-2", "--amount", amount, "--currency", "USD",
        "--reason", reason, database_url=url, key=key,
    )  # fmt: skip
    assert made.code == 0, made.err
    assert made.out.strip().endswith(": pending")
    return int(made.out.split()[1].rstrip(":"))


def test_an_approved_adjustment_is_paid_once_with_its_reason_and_others_never(
    month: tuple[str, Path],  # noqa: F811
) -> None:
    url, tmp = month
    alice, bob = KEYS["alice"], KEYS["bob"]
    ran = payouts("batch", "run", "2026-01", database_url=url, key=alice)
    assert ran.code == 0, ran.err
    before = _draft_hash(url, "2026-01")

    paid = _propose(url, alice, "25.00", "Referral on INV-9 missed by the January import")
    refused = _propose(url, alice, "40.00", "Duplicate of an earlier claim")
    pending = _propose(url, alice, "7.00", "Still being checked")

    own = payouts("adjustments", "approve", str(paid), database_url=url, key=alice)
    assert own.code == 1
    assert own.err.count("\n") == 1
    assert "another person decides it" in own.err
    no_reason = payouts("adjustments", "refuse", str(refused), "--reason", " ",
                        database_url=url, key=bob)  # fmt: skip
    assert no_reason.code == 1
    assert "say why" in no_reason.err
    assert payouts("adjustments", "approve", str(paid), database_url=url, key=bob).code == 0
    assert payouts("adjustments", "refuse", str(refused), "--reason", "a duplicate",
                   database_url=url, key=bob).code == 0  # fmt: skip
    twice = payouts("adjustments", "approve", str(refused), database_url=url, key=bob)
    assert twice.code == 1
    assert "already decided" in twice.err

    # The draft approved before the adjustment is not what a close may post.
    assert payouts("batch", "run", "2026-01", database_url=url, key=alice).code == 0
    after = _draft_hash(url, "2026-01")
    assert after != before
    # The same facts and decisions give the same draft, adjustments included.
    assert payouts("batch", "run", "2026-01", database_url=url, key=alice).code == 0
    assert _draft_hash(url, "2026-01") == after
    review = payouts("batch", "review", "2026-01", database_url=url)
    assert "P-2\tUSD\t285.00" in review.out  # 260.00 earned + 25.00 adjusted
    assert payouts("batch", "approve", "2026-01", database_url=url, key=bob).code == 0
    closed = payouts("batch", "close", "2026-01", database_url=url, key=bob)
    assert closed.code == 0, closed.err

    listed = payouts("adjustments", "list", database_url=url, key=bob)
    statuses = {int(r.split("\t")[0]): r.split("\t")[4] for r in listed.out.splitlines()[1:]}
    assert statuses == {paid: "posted", refused: "refused", pending: "pending"}
    assert f"{paid}\tP-2\t25.00\tUSD\tposted\t" in listed.out
    (row,) = [r for r in listed.out.splitlines() if r.startswith(f"{paid}\t")]
    assert row.split("\t")[7] == "2026-01"  # posted in the month it was approved for
    assert row.split("\t")[5].endswith(":alice")
    assert row.split("\t")[6].endswith(":bob")

    rendered = payouts("statements", "render", "2026-01", "--out", tmp / "st", database_url=url)
    assert rendered.code == 0, rendered.err
    pdf = pypdf.PdfReader(tmp / "st" / "statement-P-2-2026-01.pdf")
    flat = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert f"manual:{paid}: Manual adjustment {paid}; Reason: Referral on INV-9 missed" in flat
    assert "Duplicate of an earlier claim" not in flat
    assert "Still being checked" not in flat
    rows = list(csv.DictReader(io.StringIO((tmp / "st" / "statement-P-2-2026-01.csv").read_text())))
    manual = [r for r in rows if r["source_fact"] == f"manual:{paid}"]
    assert len(manual) == 1
    assert manual[0]["amount"] == "25.00"
    assert "Reason: Referral on INV-9 missed by the January import" in manual[0]["explanation"]

    # Posted once: the next month's draft does not carry it again.
    assert payouts("batch", "run", "2026-02", database_url=url, key=alice).code == 0
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            again = connection.execute(
                text(
                    "SELECT count(*) FROM draft_lines "
                    "WHERE period = '2026-02' AND source_fact LIKE 'manual:%'"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert again == 0


def test_a_partner_key_cannot_propose_and_bad_amounts_are_one_line_refusals(
    month: tuple[str, Path],  # noqa: F811
) -> None:
    url, _ = month
    billing = payouts("adjustments", "list", database_url=url, key=KEYS["billing"])
    assert billing.code == 1
    assert "needs a finance key" in billing.err
    for amount, words in (("12.345", "too precise"), ("0", "zero"), ("abc", "not a plain decimal")):
        made = payouts(
            "adjustments", "propose", "--partner", "P-2", "--amount", amount, "--currency",
            "USD", "--reason", "x", database_url=url, key=KEYS["alice"],
        )  # fmt: skip
        assert made.code == 1, amount
        assert words in made.err
        assert "Traceback" not in made.err
    wrong = payouts(
        "adjustments", "propose", "--partner", "P-1", "--amount", "5", "--currency", "USD",
        "--reason", "x", database_url=url, key=KEYS["alice"],
    )  # fmt: skip
    assert wrong.code == 1
    assert "paid in EUR" in wrong.err


def _closed_january(url: str) -> None:
    """January run by alice, approved and closed by bob: its statements are issued."""
    for command, key in (("run", "alice"), ("approve", "bob"), ("close", "bob")):
        done = payouts("batch", command, "2026-01", database_url=url, key=KEYS[key])
        assert done.code == 0, done.err


def _issued_line_ids(url: str, partner: str, period: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            content = connection.execute(
                text(
                    "SELECT canonical_json FROM issued_statements "
                    "WHERE partner_id = :p AND period = :m"
                ),
                {"p": partner, "m": period},
            ).scalar_one()
    finally:
        engine.dispose()
    return [line["line_id"] for line in json.loads(content)["lines"]]


def _adjustments(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(text("SELECT count(*) FROM manual_adjustments")).scalar_one()
            )
    finally:
        engine.dispose()


def test_an_adjustment_names_the_statement_line_it_answers(
    month: tuple[str, Path],  # noqa: F811
) -> None:
    url, _ = month
    alice = KEYS["alice"]
    _closed_january(url)
    line = _issued_line_ids(url, "P-2", "2026-01")[0]
    base = ("adjustments", "propose", "--partner", "P-2", "--amount", "3.00", "--currency",
            "USD", "--reason", "This line was priced at list, not net")  # fmt: skip
    made = payouts(
        *base, "--statement-period", "2026-01", "--line", line, database_url=url, key=alice
    )
    assert made.code == 0, made.err
    number = int(made.out.split()[1].rstrip(":"))
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT statement_period, line_id FROM manual_adjustments WHERE id = :i"),
                {"i": number},
            ).one()
    finally:
        engine.dispose()
    assert tuple(stored) == ("2026-01", line)
    shown = payouts("adjustments", "list", database_url=url, key=alice)
    assert f"2026-01:{line}" in shown.out

    before = _adjustments(url)
    for wrong, says in (
        (("--line", line), "named by its period and its line id"),
        (("--statement-period", "January", "--line", line), "is not a month"),
        (("--statement-period", "2026-01", "--line", "L-4"), "has no line 'L-4'"),
        (("--statement-period", "2026-01", "--line", "2026-01-999"), "has no line '2026-01-999'"),
        (("--statement-period", "2026-02", "--line", line), "no statement for 2026-02"),
        (("--statement-period", "2025-12", "--line", line), "no statement for 2025-12"),
    ):
        refused = payouts(*base, *wrong, database_url=url, key=alice)
        assert refused.code == 1, wrong
        assert says in refused.err, refused.err
        assert refused.err.count("\n") == 1
        assert "Traceback" not in refused.err
    assert _adjustments(url) == before  # nothing written
    assert "January" not in payouts("adjustments", "list", database_url=url, key=alice).out
