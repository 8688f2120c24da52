"""Inquiries: a partner's question about its money, and finance's answers.

An inquiry points at what it is about, so that nobody argues about which figure was
meant: a line of an issued statement (its period, the statement's content hash and
the line id: "this amount is wrong"), or missing credit (an invoice or deal id the
partner expected and does not find on its statements). Both sides then write
messages; finance resolves it. A correction is never an edit of the past: it is a
manual adjustment in the next open month (the finance console's issue).

Inquiries and their messages are append-only (the database refuses UPDATE and
DELETE). The status is read from the messages, newest last: a partner's message
leaves it `open` (waiting for finance; a reply to a resolved inquiry reopens it),
finance's reply makes it `answered`, finance's resolution `resolved`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts import audit, issued
from payouts.base import Base, BigId, utcnow
from payouts.errors import PayoutsError
from payouts.ledger import LedgerEntry

MAX_MESSAGE = 4000
MAX_REFERENCE = 100


class Kind(StrEnum):
    LINE = "line"
    MISSING_CREDIT = "missing_credit"


class Side(StrEnum):
    PARTNER = "partner"
    FINANCE = "finance"


class Status(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"


class Inquiry(Base):
    __tablename__ = "inquiries"
    __table_args__ = (
        CheckConstraint("kind IN ('line', 'missing_credit')", name="kind"),
        CheckConstraint(
            "(kind = 'line' AND period IS NOT NULL AND line_id IS NOT NULL) "
            "OR (kind = 'missing_credit' AND reference IS NOT NULL)",
            name="points_at_something",
        ),
        CheckConstraint("(period IS NULL) = (content_hash IS NULL)", name="period_has_hash"),
        Index("ix_inquiries_partner", "partner_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str | None] = mapped_column(String(7), doc="The statement asked about.")
    content_hash: Mapped[str | None] = mapped_column(
        String(64), doc="That statement's content hash as issued: the figures asked about."
    )
    line_id: Mapped[str | None] = mapped_column(String(64), doc="The statement line asked about.")
    reference: Mapped[str | None] = mapped_column(
        String(MAX_REFERENCE), doc="Missing credit: the invoice or deal id the partner names."
    )
    raised_by: Mapped[str] = mapped_column(String(200))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)


class InquiryMessage(Base):
    __tablename__ = "inquiry_messages"
    __table_args__ = (
        CheckConstraint("side IN ('partner', 'finance')", name="side"),
        CheckConstraint("kind IN ('message', 'resolution')", name="kind"),
        CheckConstraint("kind = 'message' OR side = 'finance'", name="finance_resolves"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    inquiry_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("inquiries.id"), index=True)
    side: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="message")
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class InquiryRefused(PayoutsError):
    code = "inquiry-refused"
    status = 422


class InquiryNotFound(PayoutsError):
    code = "inquiry-not-found"
    status = 404


@dataclass(frozen=True, slots=True)
class Message:
    side: Side
    resolution: bool
    body: str
    author: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Thread:
    """An inquiry with its messages, oldest first, and the status they give."""

    id: int
    partner_id: str
    kind: Kind
    period: str | None
    content_hash: str | None
    line_id: str | None
    reference: str | None
    raised_by: str
    raised_at: datetime
    messages: tuple[Message, ...]

    @property
    def status(self) -> Status:
        last = self.messages[-1] if self.messages else None
        if last is None or last.side is Side.PARTNER:
            return Status.OPEN
        return Status.RESOLVED if last.resolution else Status.ANSWERED

    @property
    def last_activity(self) -> datetime:
        return self.messages[-1].at if self.messages else self.raised_at

    @property
    def about(self) -> str:
        if self.kind is Kind.LINE:
            return f"line {self.line_id} of the {self.period} statement"
        where = f" (statement {self.period})" if self.period else ""
        return f"missing credit for {self.reference}{where}"


def _body(text: str) -> str:
    body = text.strip()
    if not body:
        raise InquiryRefused("the message is empty: say what is wrong or missing")
    if len(body) > MAX_MESSAGE:
        raise InquiryRefused(f"the message is over {MAX_MESSAGE} characters")
    return body


def _issued(session: Session, partner_id: str, period: str) -> issued.IssuedStatement:
    statement = issued.issued(session, partner_id, period)
    if statement is None:
        raise InquiryRefused(f"there is no statement for {period}")
    return statement


def raise_on_line(
    session: Session, *, partner_id: str, period: str, line_id: str, message: str, actor: str
) -> Thread:
    """ "This amount is wrong": an inquiry on one line of an issued statement."""
    body = _body(message)
    statement = _issued(session, partner_id, period)
    lines = issued.line_ids(statement)
    if lines is not None and line_id not in lines:
        raise InquiryRefused(f"the {period} statement has no line {line_id!r}")
    inquiry = Inquiry(
        partner_id=partner_id,
        kind=Kind.LINE.value,
        period=period,
        content_hash=statement.content_hash,
        line_id=line_id,
        raised_by=actor,
    )
    return _open(session, inquiry, body, actor)


def raise_missing_credit(
    session: Session,
    *,
    partner_id: str,
    reference: str,
    message: str,
    actor: str,
    period: str | None = None,
) -> Thread:
    """ "I expected credit for this invoice or deal": one that is on no statement of ours."""
    body = _body(message)
    named = reference.strip()
    if not named or len(named) > MAX_REFERENCE:
        raise InquiryRefused(f"name the invoice or deal id (1 to {MAX_REFERENCE} characters)")
    credited = session.scalar(
        select(LedgerEntry.period)
        .where(
            LedgerEntry.partner_id == partner_id,
            or_(LedgerEntry.invoice_id == named, LedgerEntry.deal_id == named),
        )
        .order_by(LedgerEntry.period)
        .limit(1)
    )
    if credited is not None:
        raise InquiryRefused(
            f"{named} is on your statement for {credited}: ask about its line there"
        )
    content_hash = _issued(session, partner_id, period).content_hash if period else None
    inquiry = Inquiry(
        partner_id=partner_id,
        kind=Kind.MISSING_CREDIT.value,
        period=period,
        content_hash=content_hash,
        reference=named,
        raised_by=actor,
    )
    return _open(session, inquiry, body, actor)


def _open(session: Session, inquiry: Inquiry, body: str, actor: str) -> Thread:
    session.add(inquiry)
    session.flush()
    session.add(
        InquiryMessage(inquiry_id=inquiry.id, side=Side.PARTNER.value, body=body, author=actor)
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="inquiry.raise",
        subject_type="inquiry",
        subject_id=str(inquiry.id),
        after={
            "partner_id": inquiry.partner_id,
            "kind": inquiry.kind,
            "period": inquiry.period,
            "content_hash": inquiry.content_hash,
            "line_id": inquiry.line_id,
            "reference": inquiry.reference,
        },
    )
    return thread(session, inquiry.id)


def reply(
    session: Session,
    inquiry_id: int,
    message: str,
    *,
    actor: str,
    side: Side,
    partner_id: str | None = None,
) -> Thread:
    """A message on an inquiry; a partner (`partner_id` given) only on its own."""
    body = _body(message)
    found = thread(session, inquiry_id, partner_id=partner_id)
    session.add(InquiryMessage(inquiry_id=found.id, side=side.value, body=body, author=actor))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="inquiry.reply",
        subject_type="inquiry",
        subject_id=str(found.id),
        after={"side": side.value},
    )
    return thread(session, inquiry_id)


def resolve(session: Session, inquiry_id: int, message: str, *, actor: str) -> Thread:
    """Finance closes the question, saying how (no change, and why; or the correction)."""
    body = _body(message)
    found = thread(session, inquiry_id)
    if found.status is Status.RESOLVED:
        raise InquiryRefused(f"inquiry {inquiry_id} is resolved already")
    session.add(
        InquiryMessage(
            inquiry_id=found.id, side=Side.FINANCE.value, kind="resolution", body=body, author=actor
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="inquiry.resolve",
        subject_type="inquiry",
        subject_id=str(found.id),
    )
    return thread(session, inquiry_id)


def _threads(session: Session, inquiries: list[Inquiry]) -> list[Thread]:
    messages: dict[int, list[Message]] = defaultdict(list)
    if inquiries:
        query = (
            select(InquiryMessage)
            .where(InquiryMessage.inquiry_id.in_([i.id for i in inquiries]))
            .order_by(InquiryMessage.id)
        )
        for m in session.scalars(query):
            messages[m.inquiry_id].append(
                Message(Side(m.side), m.kind == "resolution", m.body, m.author, m.at)
            )
    return [
        Thread(
            id=i.id,
            partner_id=i.partner_id,
            kind=Kind(i.kind),
            period=i.period,
            content_hash=i.content_hash,
            line_id=i.line_id,
            reference=i.reference,
            raised_by=i.raised_by,
            raised_at=i.raised_at,
            messages=tuple(messages[i.id]),
        )
        for i in inquiries
    ]


def thread(session: Session, inquiry_id: int, *, partner_id: str | None = None) -> Thread:
    """One inquiry; for a partner (`partner_id`) only its own: another's is not found."""
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None or (partner_id is not None and inquiry.partner_id != partner_id):
        raise InquiryNotFound(f"no inquiry {inquiry_id}")
    return _threads(session, [inquiry])[0]


def threads(
    session: Session, *, partner_id: str | None = None, status: Status | None = None
) -> list[Thread]:
    """Inquiries, newest first: a partner's, or every partner's; of one status if given."""
    query = select(Inquiry).order_by(Inquiry.id.desc())
    if partner_id is not None:
        query = query.where(Inquiry.partner_id == partner_id)
    found = _threads(session, list(session.scalars(query)))
    return [t for t in found if status is None or t.status is status]


def on_statement(session: Session, partner_id: str, period: str) -> dict[str, Status]:
    """Per line id of a statement: the status of the newest inquiry about it."""
    query = (
        select(Inquiry)
        .where(
            Inquiry.partner_id == partner_id,
            Inquiry.period == period,
            Inquiry.kind == Kind.LINE.value,
        )
        .order_by(Inquiry.id)
    )
    return {
        t.line_id: t.status for t in _threads(session, list(session.scalars(query))) if t.line_id
    }
