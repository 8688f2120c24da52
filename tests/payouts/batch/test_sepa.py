"""SEPA credit transfer files (pain.001) that a bank accepts, byte for byte repeatable."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from sqlalchemy.orm import Session

from payouts.batch import exports
from tests.payouts.program import Program

PAYER = exports.Payer("Vendor GmbH", "DE02120300000000202051", "BYLADEM1001")


def schema_file(version: str) -> Path:
    import sepaxml

    return Path(sepaxml.__file__).resolve().parent / "schemas" / f"{version}.xsd"


@pytest.fixture
def closed(session: Session) -> Session:
    """January closed with two EUR payouts, one to a partner id SEPA cannot carry."""
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0", currency="EUR")
    for partner, customer, iban in (
        ("P-1", "C-2", "DE89370400440532013000"),
        ("Z_1(EMEA)", "C-3", "FR1420041010050500013M02606"),
    ):
        program.partner(
            partner, plan, kind="referral", currency="EUR", iban=iban, account_holder="Ä Ltd"
        )
        program.deal(partner, "referral", day="2026-01-02", customer=customer, currency="EUR")
        program.invoice(None, "100.00", "2026-01-15", customer=customer, currency="EUR")
    program.close_month("2026-01")
    return session


@pytest.mark.parametrize(("fmt", "version"), sorted(exports.SEPA_SCHEMAS.items()))
def test_a_closed_month_exports_a_sepa_file_that_follows_its_schema(
    closed: Session, fmt: str, version: str
) -> None:
    file = exports.export(closed, "2026-01", fmt, actor="key:k2:bob", payer=PAYER)
    assert file.filename == f"payouts-2026-01.{version}.xml"
    assert file.count == 2
    xmlschema.XMLSchema(schema_file(version)).validate(file.content.decode())
    text = file.content.decode()
    assert f"urn:iso:std:iso:20022:tech:xsd:{version}" in text
    assert "<MsgId>PP-2026-01-PAYOUTS</MsgId>" in text
    assert "<CreDtTm>2026-02-01T00:00:00</CreDtTm>" in text
    assert "PP-2026-01-P-1<" in text
    assert "PP-2026-01-Z-1-EMEA-" in text  # an id SEPA cannot carry, made safe and unique
    again = exports.export(closed, "2026-01", fmt, actor="key:k2:bob", payer=PAYER)
    assert again.content == file.content


def test_a_file_the_schema_refuses_is_never_handed_out(closed: Session) -> None:
    bad = exports.Payer("Vendor GmbH", "DE02120300000000202051", "NOT A BIC")
    with pytest.raises(exports.ExportUnavailable):
        exports.export(closed, "2026-01", "sepa", actor="key:k2:bob", payer=bad)
