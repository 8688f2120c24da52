"""Issuing statements at close and verifying them later.

Closing a period posts the ledger (payouts) and then issues every partner's statement
of that period: its canonical JSON's SHA-256 is stored. `verify` rebuilds the
statement from the ledger and compares hashes: a match proves the statement a
partner holds is what the ledger says.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from payouts import issued
from payouts.batch import service as batch
from payouts.periods import Month
from statements.builder import LedgerDisagrees, StatementNotFound, build, partners_of_period
from statements.canonical import content_hash
from statements.model import StatementInvalid


@dataclass(frozen=True, slots=True)
class Verification:
    partner_id: str
    period: str
    stored_hash: str
    computed_hash: str
    problem: str | None = None
    """Why the statement could not even be rebuilt from the ledger (never a match)."""

    @property
    def match(self) -> bool:
        return self.problem is None and self.stored_hash == self.computed_hash


def issue_period(session: Session, period: str, *, actor: str) -> dict[str, str]:
    """Store the content hash of every partner's statement of a closed period."""
    period = str(Month.parse(period))
    hashes: dict[str, str] = {}
    for partner_id in partners_of_period(session, period):
        digest = content_hash(build(session, partner_id, period))
        issued.record(session, partner_id, period, digest, actor)
        hashes[partner_id] = digest
    return hashes


def close_and_issue(session: Session, period: str, *, actor: str) -> batch.CloseResult:
    """Close the period and issue its statements in the same transaction."""
    result = batch.close(session, period, actor=actor)
    issue_period(session, result.period, actor=actor)
    return result


def verify(session: Session, partner_id: str, period: str) -> Verification:
    period = str(Month.parse(period))
    stored = issued.issued(session, partner_id, period)
    if stored is None:
        raise StatementNotFound(f"no statement was issued to {partner_id} for {period}")
    try:
        computed = content_hash(build(session, partner_id, period))
    except (LedgerDisagrees, StatementInvalid) as exc:
        return Verification(partner_id, period, stored.content_hash, "", problem=str(exc))
    return Verification(partner_id, period, stored.content_hash, computed)


def periods_for(session: Session, partner_id: str) -> list[str]:
    """Periods with an issued statement for the partner, newest first."""
    return [row.period for row in issued.periods_of(session, partner_id)]
