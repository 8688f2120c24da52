"""Payout files: CSV for any bank, and SEPA credit transfer (pain.001) for EUR.

A file is a pure function of the period's payout instructions and the close time, so
exporting twice (or again after a crash) gives the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts import audit
from payouts.batch import service
from payouts.batch.errors import ExportUnavailable
from payouts.batch.models import PayoutInstruction
from payouts.csvcells import safe_cell
from payouts.periods import Month
from payouts.reference.models import Partner
from payouts.settings import get_settings
from plans.money import from_minor

CSV_COLUMNS = (
    "period",
    "partner_id",
    "partner_name",
    "amount",
    "currency",
    "account_holder",
    "iban",
    "bic",
    "end_to_end_id",
)
SEPA_NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"


@dataclass(frozen=True, slots=True)
class Payer:
    name: str
    iban: str
    bic: str

    @classmethod
    def from_settings(cls) -> Payer:
        """The paying company as configured (PAYER_NAME, PAYER_IBAN, PAYER_BIC)."""
        settings = get_settings()
        return cls(settings.payer_name, settings.payer_iban, settings.payer_bic)


@dataclass(frozen=True, slots=True)
class ExportFile:
    filename: str
    media_type: str
    content: bytes
    count: int
    totals: dict[str, str]  # currency -> decimal string
    skipped: list[str] = field(default_factory=list)


def _instructions(session: Session, period: str) -> list[tuple[PayoutInstruction, Partner]]:
    batch = service.get(session, period)
    if batch.status != "closed":
        raise ExportUnavailable(f"the {batch.period} batch is not closed yet: nothing to pay")
    rows = session.execute(
        select(PayoutInstruction, Partner)
        .join(Partner, Partner.id == PayoutInstruction.partner_id)
        .where(PayoutInstruction.period == batch.period)
        .order_by(PayoutInstruction.partner_id)
    )
    # Ordered in Python: a file's bytes must not depend on the server's collation.
    return sorted(((i, p) for i, p in rows), key=lambda pair: pair[0].partner_id)


def export(
    session: Session, period: str, fmt: str, *, actor: str = "system", payer: Payer | None = None
) -> ExportFile:
    period = str(Month.parse(period))
    if fmt == "csv":
        result = export_csv(session, period)
    elif fmt == "sepa":
        if payer is None or not (payer.name and payer.iban and payer.bic):
            raise ExportUnavailable(
                "SEPA export needs the payer's account: set PAYER_NAME, PAYER_IBAN and PAYER_BIC"
            )
        result = export_sepa(session, period, payer)
    else:
        raise ExportUnavailable(f"unknown export format {fmt!r}: use csv or sepa")
    audit.record(
        session,
        actor=actor,
        action=f"batch.export.{fmt}",
        subject_type="batch",
        subject_id=period,
        after={
            "sha256": hashlib.sha256(result.content).hexdigest(),
            "count": result.count,
            "totals": result.totals,
        },
    )
    return result


def _totals(rows: list[tuple[PayoutInstruction, Partner]]) -> dict[str, str]:
    totals: dict[str, int] = {}
    for instruction, _ in rows:
        totals[instruction.currency] = (
            totals.get(instruction.currency, 0) + instruction.amount_minor
        )
    return {c: str(from_minor(v, c)) for c, v in sorted(totals.items())}


def export_csv(session: Session, period: str) -> ExportFile:
    rows = _instructions(session, period)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for instruction, partner in rows:
        details = partner.payout_details or {}
        writer.writerow(
            [
                period,
                safe_cell(partner.id),
                safe_cell(partner.name),
                str(from_minor(instruction.amount_minor, instruction.currency)),
                instruction.currency,
                safe_cell(details.get("account_holder") or partner.name),
                safe_cell(details.get("iban", "")),
                safe_cell(details.get("bic", "")),
                safe_cell(instruction.end_to_end_id),
            ]
        )
    return ExportFile(
        f"payouts-{period}.csv",
        "text/csv",
        out.getvalue().encode("utf-8"),
        len(rows),
        _totals(rows),
    )


def export_sepa(session: Session, period: str, payer: Payer) -> ExportFile:
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException
    from sepaxml import SepaTransfer

    rows = _instructions(session, period)
    euro = [(i, p) for i, p in rows if i.currency == "EUR"]
    skipped = [f"{p.id}: {i.currency} is not paid by SEPA" for i, p in rows if i.currency != "EUR"]
    missing = []
    for _, partner in euro:
        iban = (partner.payout_details or {}).get("iban")
        try:
            IBAN(iban or "")
        except SchwiftyException:
            missing.append(partner.id)
    if missing:
        raise ExportUnavailable(
            f"no valid IBAN for partner(s) {', '.join(missing)}: amend their payout details"
        )
    if not euro:
        raise ExportUnavailable(f"no EUR payouts in {period}: nothing to put in a SEPA file")
    execution = Month.parse(period).next().start
    transfer = SepaTransfer(
        {
            "name": payer.name,
            "IBAN": payer.iban,
            "BIC": payer.bic,
            "batch": True,
            "currency": "EUR",
        },
        clean=True,
    )
    for instruction, partner in euro:
        details = partner.payout_details or {}
        payment: dict[str, Any] = {
            "name": details.get("account_holder") or partner.name,
            "IBAN": details["iban"],
            "amount": instruction.amount_minor,
            "execution_date": execution,
            "description": f"Partner payout {period} {partner.id}",
            "endtoend_id": instruction.end_to_end_id,
        }
        if details.get("bic"):
            payment["BIC"] = details["bic"]
        transfer.add_payment(payment)
    raw = transfer.export(validate=True)
    content = _deterministic(raw, period)
    return ExportFile(
        f"payouts-{period}.pain.001.xml",
        "application/xml",
        content,
        len(euro),
        _totals(euro),
        skipped,
    )


def _deterministic(raw: bytes, period: str) -> bytes:
    """Replace sepaxml's wall-clock timestamp and random ids with ones from the period.

    The creation time is the start of the month after the period, so a file written
    again (after a crash, or by a second export) is byte for byte the same."""
    ET.register_namespace("", SEPA_NS)
    ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")
    root = ET.fromstring(raw)
    ns = {"p": SEPA_NS}
    stamp = f"{Month.parse(period).next().start.isoformat()}T00:00:00"
    for node in root.iterfind(".//p:GrpHdr/p:MsgId", ns):
        node.text = f"PP-{period}-PAYOUTS"
    for node in root.iterfind(".//p:GrpHdr/p:CreDtTm", ns):
        node.text = stamp
    for number, node in enumerate(root.iterfind(".//p:PmtInf/p:PmtInfId", ns), start=1):
        node.text = f"PP-{period}-{number}"
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
