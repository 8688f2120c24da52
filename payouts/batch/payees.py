"""Payee details frozen with the draft: where each partner's payout of a month goes.

A run copies every partner's name and bank details into `draft_payees` and hashes
them with the draft lines, so the approval covers the account each payout will be
sent to; the close copies them onto the payout instructions and the payout file reads
them from there. Amending a partner's bank details after a run changes nothing of that
month: the amendment (recorded in the audit log) reaches the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from payouts.batch.models import DraftPayee
from payouts.reference.models import Partner

COLUMNS = ("period", "partner_id", "name", "account_holder", "iban", "bic")
SEPARATOR = b"--payees--\n"

Row = tuple[str, str, str, str | None, str | None, str | None]


def snapshot(session: Session, period: str) -> bytes:
    """Replace the period's payees with every partner's details now; return their text
    (what the draft digest ends with)."""
    session.execute(delete(DraftPayee).where(DraftPayee.period == period))
    rows: list[Row] = []
    for partner_id, name, details in session.execute(
        select(Partner.id, Partner.name, Partner.payout_details)
    ):
        found: dict[str, Any] = details or {}
        rows.append(
            (
                period,
                partner_id,
                name,
                found.get("account_holder"),
                found.get("iban"),
                found.get("bic"),
            )
        )
    rows.sort(key=lambda row: row[1])
    table = cast(Table, DraftPayee.__table__)
    for start in range(0, len(rows), 10_000):
        chunk = rows[start : start + 10_000]
        session.execute(insert(table), [dict(zip(COLUMNS, row, strict=True)) for row in chunk])
    return text_of(rows)


def stored_text(session: Session, period: str) -> bytes:
    """The text of the period's payees as stored (compared at close with the approval)."""
    columns = [getattr(DraftPayee, c) for c in COLUMNS]
    rows = sorted(
        (
            cast(Row, tuple(r))
            for r in session.execute(select(*columns).where(DraftPayee.period == period))
        ),
        key=lambda row: row[1],
    )
    return text_of(rows)


def of_period(session: Session, period: str) -> dict[str, DraftPayee]:
    """Partner id -> its frozen payee details for the period."""
    return {
        payee.partner_id: payee
        for payee in session.scalars(select(DraftPayee).where(DraftPayee.period == period))
    }


def text_of(rows: Iterable[Row]) -> bytes:
    """Tab-separated lines, partner order; a tab, newline or backslash is escaped."""
    return "".join("\t".join(_cell(v) for v in row) + "\n" for row in rows).encode()


def _cell(value: str | None) -> str:
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
