"""`payouts demo`: a small program end to end, valid PDFs, and the same result twice."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
from sqlalchemy import func, select

from api.commands import demo
from demo import program as generator
from payouts.db import engine_for, unit_of_work
from payouts.facts import models as m
from payouts.facts.ingest import fingerprint, ingest, kind_named
from tests.api.cli import payouts_process
from tests.conftest import owner_url_for

SMALL = {"partners": 15, "months": 3, "seed": 7, "start": "2026-01"}


def _summary(out: str) -> tuple[str, str]:
    paid = re.search(r"^2026-03: .*$", out, re.MULTILINE)
    digest = re.search(r"digest ([0-9a-f]{16})", out)
    assert paid, out
    assert digest, out
    return paid.group(0), digest.group(1)


def test_the_demo_command_closes_every_month_and_writes_valid_files(
    fresh_url: str, tmp_path: Path
) -> None:
    first = payouts_process("demo", *_options(tmp_path / "a"), database_url=fresh_url)
    assert first.code == 0, first.err
    assert "closed 3 month(s), 2026-01 to 2026-03" in first.out
    pdfs = sorted((tmp_path / "a" / "statements").glob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        reader = pypdf.PdfReader(io.BytesIO(pdf.read_bytes()))
        assert len(reader.pages) >= 1
        assert "2026-03" in reader.pages[0].extract_text()
    assert (tmp_path / "a" / "payouts-2026-03.csv").read_text().startswith("period,partner_id")
    assert (tmp_path / "a" / "rep-credit-2026-03.csv").exists()

    # Again on the same database, wiped with --fresh: the same totals and statements.
    engine_for.cache_clear()
    second = payouts_process("demo", *_options(tmp_path / "b"), "--fresh", database_url=fresh_url)
    assert second.code == 0, second.err
    assert _summary(second.out) == _summary(first.out)
    hashes_a = sorted(p.name for p in (tmp_path / "a" / "statements").glob("*.csv"))
    hashes_b = sorted(p.name for p in (tmp_path / "b" / "statements").glob("*.csv"))
    assert hashes_a == hashes_b
    for name in hashes_a:
        a = (tmp_path / "a" / "statements" / name).read_bytes()
        assert a == (tmp_path / "b" / "statements" / name).read_bytes()


def _options(out: Path) -> list[str]:
    return [
        "--partners",
        str(SMALL["partners"]),
        "--months",
        str(SMALL["months"]),
        "--seed",
        str(SMALL["seed"]),
        "--out",
        str(out),
        "--workers",
        "1",
    ]


def test_a_non_demo_database_is_never_wiped_without_fresh(fresh_url: str, tmp_path: Path) -> None:
    demo.prepare_database(owner_url_for(fresh_url), None, service_url=fresh_url)
    with unit_of_work() as session:
        ingest(session, "customers", [{"id": "C-1", "name": "Real"}], actor="alice")
    refused = payouts_process("demo", *_options(tmp_path / "x"), database_url=fresh_url)
    assert refused.code == 1
    assert "--fresh" in refused.err
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(m.Invoice)) == 0


def test_the_generator_is_deterministic_and_covers_the_program() -> None:
    a = generator.build(60, 4, seed=3)
    b = generator.build(60, 4, seed=3)
    assert a.reference == b.reference
    assert a.monthly == b.monthly
    assert generator.build(60, 4, seed=4).monthly != a.monthly
    types = {p["type"] for p in a.reference["partners"]}
    assert types == set(generator.TYPES)
    roles = {r["role"] for month in a.monthly for r in month["deal_roles"]}
    assert roles == {"sourced", "resale", "fulfilment", "referral", "influence"}
    states = {r["status"] for month in a.monthly for r in month["deal_registrations"]}
    assert states == {"approved", "pending", "rejected"}
    expired = [
        r
        for month in a.monthly
        for r in month["deal_registrations"]
        if r["expires_at"] is not None
        and r["expires_at"]
        < next(d["close_date"] for mm in a.monthly for d in mm["deals"] if d["id"] == r["deal_id"])
    ]
    assert expired
    assert {p["payout_currency"] for p in a.reference["partners"]} == {"USD", "EUR"}
    assert all(a.count(kind) for kind in ("refunds", "cancellations", "payments"))


def test_bulk_and_validated_loads_store_the_same_fingerprints(fresh_url: str) -> None:
    demo.prepare_database(owner_url_for(fresh_url), None, service_url=fresh_url)
    program = generator.build(10, 2, seed=5)
    with unit_of_work() as session:
        generator.load(session, program.reference, actor="demo-generator")
        generator.load(session, program.monthly[0], actor="demo-generator")
        generator.load(session, program.monthly[1], actor="demo-generator", bulk=True)
    with unit_of_work() as session:
        # What the validated path would store for month 2 equals what the bulk path did.
        for kind_name in generator.MONTHLY_KINDS:
            kind = kind_named(kind_name)
            for row in program.monthly[1][kind_name]:
                record = kind.record.model_validate(generator.to_record(kind_name, row))
                stored = session.get(kind.model, row["id"])
                assert stored is not None
                assert stored.fingerprint == fingerprint(kind.to_row(record)), row["id"]
