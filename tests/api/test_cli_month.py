"""A whole month through the command line, as finance runs it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pypdf
import pytest

from tests.api.cli import ROOT, key_for, payouts

EXAMPLES = ROOT / "plans" / "examples"

FILES = {
    "partners": "id,name,type,payout_currency,iban,account_holder\n"
    "P-1,Acme Resellers,reseller,EUR,DE89370400440532013000,Acme GmbH\n"
    "P-2,Refer Co,referral,USD,,\n",
    "reps": "id,name,currency,team\nR-1,Rita Rep,USD,EMEA\n",
    "customers": "id,name\nC-1,Customer One\nC-2,Customer Two\n",
    "fx_rates": "id,date,from_currency,to_currency,rate,source\n"
    "FX-1,2026-01-01,USD,EUR,0.9000,ECB\n",
    "deals": "id,customer_id,list_amount,net_amount,currency,close_date,owner_rep_id\n"
    "D-1,C-1,10000.00,6000.00,USD,2026-01-10,R-1\n"
    "D-2,C-2,500.00,500.00,USD,2026-01-03,R-1\n",
    "deal_roles": "id,deal_id,partner_id,role\nDR-1,D-1,P-1,sourced\nDR-2,D-2,P-2,referral\n",
    "deal_registrations": "id,deal_id,partner_id,status,approved_at,expires_at\n"
    "REG-1,D-1,P-1,approved,2026-01-02,2026-06-30\n",
    "invoices": "id,customer_id,deal_id,issue_date,amount,currency\n"
    "INV-1,C-1,D-1,2026-01-10,10000.00,USD\n"
    "INV-2,C-2,,2026-01-15,100.00,USD\n",
}


KEYS: dict[str, str] = {}
"""Holder -> API key of the month under test (finance: alice, bob, finance; billing)."""


@pytest.fixture
def month(fresh_url: str, tmp_path: Path) -> tuple[str, Path]:
    assert payouts("db", "upgrade", database_url=fresh_url).code == 0
    KEYS.clear()
    for holder in ("alice", "bob", "finance"):
        KEYS[holder] = key_for(fresh_url, holder)
    KEYS["billing"] = key_for(fresh_url, "billing-system", role="billing")
    for kind, text in FILES.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        run = payouts("facts", "import", kind, path, database_url=fresh_url, key=KEYS["billing"])
        assert run.code == 0, run.err
    load = payouts(
        "plans",
        "load",
        EXAMPLES / "tiered_reseller.yaml",
        EXAMPLES / "referral.yaml",
        EXAMPLES / "rep_credit.yaml",
        database_url=fresh_url,
        key=KEYS["finance"],
    )
    assert load.code == 0, load.err
    for plan, partner in (("tiered-reseller", "P-1"), ("referral", "P-2"), ("rep-credit", None)):
        args = ["plans", "assign", plan, "--from", "2026-01-01"]
        if partner:
            args += ["--partner", partner]
        assert payouts(*args, database_url=fresh_url, key=KEYS["finance"]).code == 0
    return fresh_url, tmp_path


def test_finance_runs_reviews_approves_closes_pays_and_renders_a_month(
    month: tuple[str, Path],
) -> None:
    url, tmp = month
    alice, bob = KEYS["alice"], KEYS["bob"]
    ran = payouts("batch", "run", "2026-01", database_url=url, key=alice)
    assert ran.code == 0, ran.err
    assert "2026-01: draft of" in ran.out
    refused = payouts("batch", "approve", "2026-01", database_url=url, key=alice)
    assert refused.code == 1
    assert refused.err.startswith("error: key:")
    assert refused.err.strip().endswith(
        ":alice calculated the 2026-01 batch and cannot also approve it"
    )
    review = payouts("batch", "review", "2026-01", database_url=url)
    assert "P-1\tEUR\t270.00" in review.out  # Bronze 3% of 10,000 USD at 0.9 EUR/USD
    assert payouts("batch", "approve", "2026-01", database_url=url, key=bob).code == 0
    closed = payouts("batch", "close", "2026-01", database_url=url, key=bob)
    assert closed.code == 0, closed.err
    again = payouts("batch", "close", "2026-01", database_url=url, key=bob)
    assert again.code == 1
    assert "already closed" in again.err

    csv_run = payouts(
        "batch", "export", "2026-01", "--format", "csv", "--out", tmp, database_url=url, key=bob
    )
    assert csv_run.code == 0, csv_run.err
    rows = list(csv.DictReader(io.StringIO((tmp / "payouts-2026-01.csv").read_text())))
    assert {(r["partner_id"], r["amount"], r["currency"]) for r in rows} == {
        ("P-1", "270.00", "EUR"),
        ("P-2", "260.00", "USD"),
    }

    sepa = payouts(
        "batch", "export", "2026-01", "--format", "sepa", "--out", tmp, database_url=url, key=bob
    )
    assert sepa.code == 1
    assert "PAYER_IBAN" in sepa.err

    results = tmp / "results.csv"
    results.write_text(
        "end_to_end_id,status,bank_reference,reason\n"
        "PP-2026-01-P-1,paid,BANK-77,\n"
        "PP-2026-01-P-2,failed,,account closed\n"
    )
    paid = payouts("batch", "mark-paid", "2026-01", "--file", results, database_url=url, key=bob)
    assert paid.code == 0, paid.err
    assert "1 paid, 1 failed" in paid.out

    rendered = payouts("statements", "render", "2026-01", "--out", tmp / "st", database_url=url)
    assert rendered.code == 0, rendered.err
    pdf = pypdf.PdfReader(tmp / "st" / "statement-P-1-2026-01.pdf")
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Acme Resellers" in text
    # The statement's own payout: its reference, and what the bank did with it.
    flat = " ".join(text.split())
    assert "Paid by transfer, reference PP-2026-01-P-1" in flat
    assert "Payout status paid, bank reference BANK-77" in flat
    assert "Payouts made in the period" not in flat
    assert "Total payouts" not in flat
    failed = pypdf.PdfReader(tmp / "st" / "statement-P-2-2026-01.pdf")
    failed_text = " ".join(" ".join(page.extract_text() for page in failed.pages).split())
    assert "failed (account closed); returned to the balance in 2026-02" in failed_text
    verify = payouts("statements", "verify", "P-1", "2026-01", database_url=url)
    assert verify.code == 0, verify.err
    assert verify.out.startswith("match: P-1 2026-01 ")

    reps = payouts("reps", "report", "2026-01", database_url=url)
    lines = list(csv.DictReader(io.StringIO(reps.out)))
    assert {(r["deal_id"], r["credit"], r["commission"]) for r in lines} == {
        ("D-1", "10000.00", "1000.00"),
        ("D-2", "500.00", "50.00"),
    }

    candidate = tmp / "referral-20.yaml"
    candidate.write_text((EXAMPLES / "referral.yaml").read_text().replace("rate: 10%", "rate: 20%"))
    exception = payouts(
        "margin-exception",
        "--id",
        "EXC-1",
        "--deal",
        "D-1",
        "--partner",
        "P-1",
        "--lowest-price",
        "7500.00",
        "--reason",
        "strategic logo",
        database_url=url,
        key=KEYS["finance"],
    )
    assert exception.code == 0, exception.err
    odd = payouts(
        "quote", "--deal", "D-1", "--partner", "P-1", "--price", "7.5e3", database_url=url
    )
    assert odd.code == 1
    assert odd.err.startswith("error: price ")  # only plain decimals, as amounts are
    refused_quote = payouts(
        "quote", "--deal", "D-1", "--partner", "P-1", "--price", "7500.00", database_url=url
    )
    assert refused_quote.code == 1
    quoted = payouts(
        "quote",
        "--deal",
        "D-1",
        "--partner",
        "P-1",
        "--price",
        "7500.00",
        "--exception",
        "EXC-1",
        database_url=url,
    )
    assert quoted.code == 0, quoted.err
    assert "buy price 7500.00 USD, margin 2500.00 USD" in quoted.out

    what_if = payouts("simulate", "2026-01", "--plan", candidate, database_url=url)
    assert what_if.code == 0, what_if.err
    assert "P-2\tUSD\t260.00\t270.00\t+10.00" in what_if.out
