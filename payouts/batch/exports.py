"""Payout files: CSV for any bank, and SEPA credit transfer (pain.001) for EUR.

A file is a pure function of the period's payout instructions, so exporting twice (or
again after a crash, or after a partner's bank details were amended) gives the same
bytes: each instruction carries the payee details frozen with the approved draft
(`payees`), never the partner's details of today. A SEPA file is checked against the
pain.001 schema as the final bytes it is written with.
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
SEPA_SCHEMAS = {"sepa": "pain.001.001.03", "sepa09": "pain.001.001.09"}
"""Export format -> the pain.001 version it writes: .03 is what most banks take,
.09 the version the European Payments Council's 2019+ rulebooks use."""
FORMATS = ("csv", *SEPA_SCHEMAS)


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


def _instructions(session: Session, period: str) -> list[PayoutInstruction]:
    batch = service.get(session, period)
    if batch.status != "closed":
        raise ExportUnavailable(f"the {batch.period} batch is not closed yet: nothing to pay")
    rows = session.scalars(
        select(PayoutInstruction).where(PayoutInstruction.period == batch.period)
    )
    # Ordered in Python: a file's bytes must not depend on the server's collation.
    return sorted(rows, key=lambda instruction: instruction.partner_id)


def export(
    session: Session, period: str, fmt: str, *, actor: str = "system", payer: Payer | None = None
) -> ExportFile:
    period = str(Month.parse(period))
    if fmt == "csv":
        result = export_csv(session, period)
    elif fmt in SEPA_SCHEMAS:
        if payer is None or not (payer.name and payer.iban and payer.bic):
            raise ExportUnavailable(
                "SEPA export needs the payer's account: set PAYER_NAME, PAYER_IBAN and PAYER_BIC"
            )
        result = export_sepa(session, period, payer, SEPA_SCHEMAS[fmt])
    else:
        raise ExportUnavailable(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")
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


def _totals(rows: list[PayoutInstruction]) -> dict[str, str]:
    totals: dict[str, int] = {}
    for instruction in rows:
        totals[instruction.currency] = (
            totals.get(instruction.currency, 0) + instruction.amount_minor
        )
    return {c: str(from_minor(v, c)) for c, v in sorted(totals.items())}


def export_csv(session: Session, period: str) -> ExportFile:
    rows = _instructions(session, period)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for instruction in rows:
        writer.writerow(
            [
                period,
                safe_cell(instruction.partner_id),
                safe_cell(instruction.payee_name),
                str(from_minor(instruction.amount_minor, instruction.currency)),
                instruction.currency,
                safe_cell(instruction.account_holder or instruction.payee_name),
                safe_cell(instruction.iban or ""),
                safe_cell(instruction.bic or ""),
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


def export_sepa(session: Session, period: str, payer: Payer, schema: str) -> ExportFile:
    from sepaxml import SepaTransfer

    rows = _instructions(session, period)
    euro = [i for i in rows if i.currency == "EUR"]
    skipped = [
        f"{i.partner_id}: {i.currency} is not paid by SEPA" for i in rows if i.currency != "EUR"
    ]
    _require_ibans(euro)
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
        schema=schema,
        clean=True,
    )
    for instruction in euro:
        payment: dict[str, Any] = {
            "name": instruction.account_holder or instruction.payee_name,
            "IBAN": instruction.iban,
            "amount": instruction.amount_minor,
            "execution_date": execution,
            "description": f"Partner payout {period} {instruction.partner_id}",
            "endtoend_id": instruction.end_to_end_id,
        }
        if instruction.bic:
            payment["BIC"] = instruction.bic
        transfer.add_payment(payment)
    content = _deterministic(transfer.export(validate=False), period, schema)
    _validate(content, schema)
    return ExportFile(
        f"payouts-{period}.{schema}.xml",
        "application/xml",
        content,
        len(euro),
        _totals(euro),
        skipped,
    )


def _require_ibans(euro: list[PayoutInstruction]) -> None:
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    missing = []
    for instruction in euro:
        try:
            IBAN(instruction.iban or "")
        except SchwiftyException:
            missing.append(instruction.partner_id)
    if missing:
        raise ExportUnavailable(
            f"no valid IBAN for partner(s) {', '.join(missing)} in the approved payee details; "
            "their payouts cannot go by SEPA (amend the details: they apply from the next run)"
        )


def _validate(content: bytes, schema: str) -> None:
    """The final bytes against the pain.001 schema (sepaxml ships the XSDs)."""
    from sepaxml.validation import ValidationError, try_valid_xml

    try:
        try_valid_xml(content, schema)
    except ValidationError as exc:
        cause = exc.__cause__
        detail = getattr(cause, "reason", None) or str(cause or exc)
        raise ExportUnavailable(f"the SEPA file does not follow {schema}: {detail}") from None


def _deterministic(raw: bytes, period: str, schema: str) -> bytes:
    """Replace sepaxml's wall-clock timestamp and random ids with ones from the period.

    The creation time is the start of the month after the period, so a file written
    again (after a crash, or by a second export) is byte for byte the same."""
    namespace = f"urn:iso:std:iso:20022:tech:xsd:{schema}"
    ET.register_namespace("", namespace)
    ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")
    root = ET.fromstring(raw)
    ns = {"p": namespace}
    stamp = f"{Month.parse(period).next().start.isoformat()}T00:00:00"
    for node in root.iterfind(".//p:GrpHdr/p:MsgId", ns):
        node.text = f"PP-{period}-PAYOUTS"
    for node in root.iterfind(".//p:GrpHdr/p:CreDtTm", ns):
        node.text = stamp
    for number, node in enumerate(root.iterfind(".//p:PmtInf/p:PmtInfId", ns), start=1):
        node.text = f"PP-{period}-{number}"
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
