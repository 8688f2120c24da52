"""Idempotent, all-or-nothing ingestion of fact records.

- The same id with the same content is a no-op that returns the stored record.
- The same id with different content is a conflict, unless the kind allows an
  explicit amendment (reference data, registrations, certifications) and the caller
  asks for one; the amendment is recorded in the audit log with before and after.
  Money facts (invoices, payments, refunds) are never amended: a correction is a
  credit note.
- Every record of a batch is validated and every problem is reported, with the
  record's position and id; if any record is refused, nothing of the batch is written.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Select, Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from payouts import audit, periods
from payouts.base import Base
from payouts.errors import PayoutsError
from payouts.facts import models as m
from payouts.facts import records as r
from payouts.facts.repository import chunks
from payouts.periods import Month
from payouts.reference import models as ref
from plans.money import from_minor, to_minor


@dataclass(frozen=True, slots=True)
class RecordError:
    """Why one record of a batch was refused (`index` counts from 1, like CSV data rows)."""

    index: int
    id: str | None
    messages: tuple[str, ...]
    conflict: bool = False

    def __str__(self) -> str:
        where = f"record {self.index}" + (f" ({self.id})" if self.id else "")
        return f"{where}: " + "; ".join(self.messages)


class FactsRefused(PayoutsError):
    """At least one record of a batch is invalid; nothing of the batch was written."""

    code = "facts-refused"
    status = 422

    def __init__(self, kind: str, errors: Sequence[RecordError]) -> None:
        self.kind = kind
        self.errors = list(errors)
        first = str(self.errors[0]) if self.errors else ""
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(
            f"{len(self.errors)} {kind} record(s) refused, nothing written: {first}{more}"
        )


class FactConflict(FactsRefused):
    """A record reuses a stored id with different content and no amendment was asked."""

    code = "fact-conflict"
    status = 409


@dataclass
class IngestResult:
    kind: str
    inserted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    amended: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"{self.kind}: {len(self.inserted)} inserted, {len(self.unchanged)} unchanged, "
            f"{len(self.amended)} amended, 0 refused"
        )


@dataclass(frozen=True, slots=True)
class Reference:
    field: str
    model: type[Base]
    label: str


Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Kind:
    """How one kind of fact is validated and stored."""

    name: str
    record: type[r.FactRecord]
    model: type[Base]
    to_row: Callable[[Any], Row]
    references: tuple[Reference, ...] = ()
    amendable: bool = False


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "partners",
            r.PartnerRecord,
            ref.Partner,
            lambda x: {
                "id": x.id,
                "name": x.name,
                "type": x.type,
                "status": x.status,
                "payout_currency": x.payout_currency,
                "locale": x.locale,
                "country": x.country,
                "payout_details": {
                    k: v
                    for k, v in (
                        ("account_holder", x.account_holder),
                        ("iban", x.iban),
                        ("bic", x.bic),
                    )
                    if v is not None
                },
            },
            amendable=True,
        ),
        Kind(
            "reps",
            r.RepRecord,
            ref.Rep,
            lambda x: {"id": x.id, "name": x.name, "team": x.team, "currency": x.currency},
            amendable=True,
        ),
        Kind(
            "customers",
            r.CustomerRecord,
            ref.Customer,
            lambda x: {"id": x.id, "name": x.name, "country": x.country},
            amendable=True,
        ),
        Kind(
            "deals",
            r.DealRecord,
            m.Deal,
            lambda x: {
                "id": x.id,
                "customer_id": x.customer_id,
                "list_amount_minor": to_minor(x.list_amount, x.currency),
                "net_amount_minor": to_minor(x.net_amount, x.currency),
                "currency": x.currency,
                "close_date": x.close_date,
                "owner_rep_id": x.owner_rep_id,
                "independence": x.independence,
            },
            (
                Reference("customer_id", ref.Customer, "customer"),
                Reference("owner_rep_id", ref.Rep, "rep"),
            ),
        ),
        Kind(
            "deal_roles",
            r.DealRoleRecord,
            m.DealRole,
            lambda x: {
                "id": x.id,
                "deal_id": x.deal_id,
                "partner_id": x.partner_id,
                "role": x.role,
                "influence_kind": x.influence_kind,
            },
            (
                Reference("deal_id", m.Deal, "deal"),
                Reference("partner_id", ref.Partner, "partner"),
            ),
        ),
        Kind(
            "deal_registrations",
            r.DealRegistrationRecord,
            m.DealRegistration,
            lambda x: {
                "id": x.id,
                "deal_id": x.deal_id,
                "partner_id": x.partner_id,
                "status": x.status,
                "approved_at": x.approved_at,
                "expires_at": x.expires_at,
            },
            (
                Reference("deal_id", m.Deal, "deal"),
                Reference("partner_id", ref.Partner, "partner"),
            ),
            amendable=True,
        ),
        Kind(
            "invoices",
            r.InvoiceRecord,
            m.Invoice,
            lambda x: {
                "id": x.id,
                "customer_id": x.customer_id,
                "deal_id": x.deal_id,
                "subscription_id": x.subscription_id,
                "issue_date": x.issue_date,
                "amount_minor": to_minor(x.amount, x.currency),
                "currency": x.currency,
            },
            (
                Reference("customer_id", ref.Customer, "customer"),
                Reference("deal_id", m.Deal, "deal"),
            ),
        ),
        Kind(
            "payments",
            r.PaymentRecord,
            m.Payment,
            lambda x: {
                "id": x.id,
                "invoice_id": x.invoice_id,
                "paid_date": x.paid_date,
                "amount_minor": to_minor(x.amount, x.currency),
                "currency": x.currency,
            },
            (Reference("invoice_id", m.Invoice, "invoice"),),
        ),
        Kind(
            "refunds",
            r.RefundRecord,
            m.Refund,
            lambda x: {
                "id": x.id,
                "invoice_id": x.invoice_id,
                "refund_date": x.refund_date,
                "amount_minor": to_minor(x.amount, x.currency),
                "currency": x.currency,
                "kind": x.kind,
            },
            (Reference("invoice_id", m.Invoice, "invoice"),),
        ),
        Kind(
            "cancellations",
            r.CancellationRecord,
            m.Cancellation,
            lambda x: {
                "id": x.id,
                "customer_id": x.customer_id,
                "subscription_id": x.subscription_id,
                "end_date": x.end_date,
            },
            (Reference("customer_id", ref.Customer, "customer"),),
        ),
        Kind(
            "certifications",
            r.CertificationRecord,
            m.Certification,
            lambda x: {
                "id": x.id,
                "partner_id": x.partner_id,
                "name": x.name,
                "earned_at": x.earned_at,
                "expires_at": x.expires_at,
            },
            (Reference("partner_id", ref.Partner, "partner"),),
            amendable=True,
        ),
        Kind(
            "campaigns",
            r.CampaignRecord,
            m.Campaign,
            lambda x: {"id": x.id, "partner_id": x.partner_id, "name": x.name, "date": x.date},
            (Reference("partner_id", ref.Partner, "partner"),),
        ),
        Kind(
            "fx_rates",
            r.FxRateRecord,
            m.FxRate,
            lambda x: {
                "id": x.id,
                "date": x.date,
                "from_currency": x.from_currency,
                "to_currency": x.to_currency,
                "rate": str(x.rate),
                "source": x.source,
            },
        ),
    )
}


class UnknownFactKind(PayoutsError):
    code = "unknown-fact-kind"
    status = 404

    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown fact kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")


def kind_named(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownFactKind(name) from None


def fingerprint(row: Row) -> str:
    """SHA-256 of the stored content: equal content means an idempotent repeat."""
    canonical = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _pydantic_messages(error: ValidationError) -> tuple[str, ...]:
    out = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {message}" if where else message)
    return tuple(out)


@cache
def _by_ids(table: Table, single: bool, *columns: str) -> Select[Any]:
    """`SELECT columns (all when none) FROM table WHERE id = :ids` or `id IN :ids`.

    Built once: building the statement and its cache key cost more than running it
    for a one-record request. An expanding IN is rendered anew at every execution,
    so the usual single id gets a plain `=`.
    """
    selected = [table.c[c] for c in columns] if columns else [table]
    if single:
        return select(*selected).where(table.c.id == bindparam("ids"))
    return select(*selected).where(table.c.id.in_(bindparam("ids", expanding=True)))


def _rows_by_ids(session: Session, table: Table, ids: set[str], *columns: str) -> Iterator[Any]:
    """The rows (of `columns`, or whole) of the records with these ids, in chunks."""
    if len(ids) == 1:
        yield from session.execute(_by_ids(table, True, *columns), {"ids": next(iter(ids))})
        return
    statement = _by_ids(table, False, *columns)
    for chunk in chunks(ids):
        yield from session.execute(statement, {"ids": chunk})


def _existing_ids(session: Session, model: type[Base], ids: set[str]) -> set[str]:
    return {row.id for row in _rows_by_ids(session, cast(Table, model.__table__), ids, "id")}


def _stored(session: Session, model: type[Base], ids: set[str]) -> dict[str, Any]:
    """The stored objects with these ids (ORM instances: an amendment changes them)."""
    column = model.__table__.c.id
    out: dict[str, Any] = {}
    for chunk in chunks(ids):
        for obj in session.scalars(select(model).where(column.in_(chunk))):
            out[obj.id] = obj  # type: ignore[attr-defined]
    return out


def _stored_fingerprints(session: Session, kind: Kind, ids: set[str]) -> dict[str, str]:
    """The content fingerprint of each stored record with one of these ids.

    Read as plain rows: comparing content needs no ORM objects (only an amendment
    does, and it loads them itself).
    """
    table = cast(Table, kind.model.__table__)
    if "fingerprint" in table.c:
        return dict(_rows_by_ids(session, table, ids, "id", "fingerprint"))
    out: dict[str, str] = {}
    for row in _rows_by_ids(session, table, ids):
        stored = row._mapping
        out[stored["id"]] = fingerprint({c: v for c, v in stored.items() if c != "created_at"})
    return out


class _Invoices:
    """Invoice context for payments and refunds: currency, date and what remains."""

    def __init__(self, session: Session, ids: set[str]) -> None:
        self.invoices: dict[str, m.Invoice] = _stored(session, m.Invoice, ids)
        self.refunded: dict[str, int] = defaultdict(int)
        self.paid: dict[str, int] = defaultdict(int)
        for chunk in chunks(ids):
            for refund in session.scalars(select(m.Refund).where(m.Refund.invoice_id.in_(chunk))):
                self.refunded[refund.invoice_id] += refund.amount_minor
            for pay in session.scalars(select(m.Payment).where(m.Payment.invoice_id.in_(chunk))):
                self.paid[pay.invoice_id] += pay.amount_minor


def _money_checks(kind: str, rec: Any, row: Row, invoices: _Invoices, problems: list[str]) -> None:
    invoice = invoices.invoices.get(rec.invoice_id)
    if invoice is None:
        return
    if rec.currency != invoice.currency:
        problems.append(f"currency {rec.currency} differs from invoice currency {invoice.currency}")
        return
    day: date = rec.refund_date if kind == "refunds" else rec.paid_date
    if day < invoice.issue_date:
        problems.append(f"{kind[:-1]} date {day} is before the invoice date {invoice.issue_date}")
    ledger = invoices.refunded if kind == "refunds" else invoices.paid
    remaining = invoice.amount_minor - ledger[rec.invoice_id]
    if row["amount_minor"] > remaining:
        what = "refunded" if kind == "refunds" else "paid"
        problems.append(
            f"amount {rec.amount} {rec.currency} is more than what remains to be {what} "
            f"on invoice {rec.invoice_id} ({from_minor(remaining, rec.currency)} {rec.currency})"
        )
    else:
        ledger[rec.invoice_id] += row["amount_minor"]


class _Raced(Exception):
    """Another transaction inserted one of our ids between our check and our insert."""


def ingest(
    session: Session,
    kind_name: str,
    raw_records: Sequence[object],
    *,
    actor: str,
    amend: bool = False,
) -> IngestResult:
    """Validate and store a batch of one kind; all-or-nothing, idempotent.

    Raises FactsRefused (or FactConflict) listing every refused record; the caller's
    transaction must then be rolled back (nothing has been written before the raise).
    Concurrent ingestion of the same ids is safe: the loser of the race re-reads what
    the winner stored and reports it as unchanged (or as a conflict).
    """
    for _ in range(3):
        try:
            return _ingest_once(session, kind_name, raw_records, actor=actor, amend=amend)
        except _Raced:
            continue
    raise FactConflict(
        kind_name, [RecordError(0, None, ("concurrent writes kept colliding",), conflict=True)]
    )


def _ingest_once(
    session: Session,
    kind_name: str,
    raw_records: Sequence[object],
    *,
    actor: str,
    amend: bool,
) -> IngestResult:
    kind = kind_named(kind_name)
    # The reads below are plain statements, which do not autoflush: make whatever the
    # caller added to the session visible to them first.
    session.flush()
    errors: list[RecordError] = []
    parsed: list[tuple[int, r.FactRecord, Row]] = []
    unparsed: dict[int, tuple[str | None, Mapping[str, Any], list[str]]] = {}
    for index, raw in enumerate(raw_records, start=1):
        if not isinstance(raw, Mapping):
            unparsed[index] = (None, {}, ["a record must be an object of fields"])
            continue
        try:
            record = kind.record.model_validate(raw)
        except ValidationError as exc:
            raw_id = raw.get("id")
            ident = str(raw_id)[:64] if raw_id is not None else None
            unparsed[index] = (ident, raw, list(_pydantic_messages(exc)))
            continue
        parsed.append((index, record, kind.to_row(record)))

    # References, resolved in bulk, for valid records and (so that a record's errors
    # are all reported together) for the readable fields of invalid ones too.
    problems: dict[int, list[str]] = defaultdict(list)
    for reference in kind.references:
        values: dict[int, str] = {
            index: getattr(rec, reference.field)
            for index, rec, _ in parsed
            if getattr(rec, reference.field) is not None
        }
        for index, (_, raw, _) in unparsed.items():
            value = raw.get(reference.field)
            if isinstance(value, str) and value.strip():
                values[index] = value.strip()
        known = _existing_ids(session, reference.model, set(values.values()))
        for index, value in values.items():
            if value not in known:
                target = unparsed[index][2] if index in unparsed else problems[index]
                target.append(f"unknown {reference.label} {value!r}")
    for index, (ident, _, messages) in unparsed.items():
        errors.append(RecordError(index, ident, tuple(messages)))

    stored = _stored_fingerprints(session, kind, {rec.id for _, rec, _ in parsed})
    if kind.name in ("payments", "refunds"):
        # Only new money counts against what remains of the invoice: a repeat of a
        # stored payment or refund is already in the invoice's totals.
        invoices = _Invoices(session, {rec.invoice_id for _, rec, _ in parsed})  # type: ignore[attr-defined]
        for index, rec, row in parsed:
            if rec.id not in stored:
                _money_checks(kind.name, rec, row, invoices, problems[index])

    result = IngestResult(kind.name)
    to_insert: list[tuple[r.FactRecord, Row]] = []
    to_amend: list[Row] = []
    seen: dict[str, str] = {}
    conflicts: set[int] = set()
    for index, rec, row in parsed:
        digest = fingerprint(row)
        row_with_fp = {**row, "fingerprint": digest} if _has_fingerprint(kind) else row
        if rec.id in seen:
            if seen[rec.id] != digest:
                problems[index].append(f"id {rec.id!r} appears twice in the batch, differently")
                conflicts.add(index)
            continue
        seen[rec.id] = digest
        existing = stored.get(rec.id)
        if existing is None:
            to_insert.append((rec, row_with_fp))
            continue
        if existing == digest:
            result.unchanged.append(rec.id)
        elif amend and kind.amendable:
            to_amend.append(row_with_fp)
        else:
            hint = " (this kind accepts an explicit amendment)" if kind.amendable else ""
            problems[index].append(f"id {rec.id!r} already exists with different content{hint}")
            conflicts.add(index)

    if kind.name == "deal_registrations":
        _one_approved_per_deal(session, parsed, problems)
    if kind.name == "fx_rates":
        _one_rate_per_day(session, [rw for _, rw in to_insert], parsed, problems)

    for index, rec, _ in parsed:
        if problems.get(index):
            errors.append(
                RecordError(index, rec.id, tuple(problems[index]), conflict=index in conflicts)
            )
    if errors:
        errors.sort(key=lambda e: e.index)
        if all(e.conflict for e in errors):
            raise FactConflict(kind.name, errors)
        raise FactsRefused(kind.name, errors)

    _write(session, kind, to_insert, to_amend, actor, result)
    return result


def _has_fingerprint(kind: Kind) -> bool:
    return "fingerprint" in kind.model.__table__.c


def _one_approved_per_deal(
    session: Session,
    parsed: list[tuple[int, r.FactRecord, Row]],
    problems: dict[int, list[str]],
) -> None:
    """The first approved registration of a deal wins; a later one is refused with why."""
    deals = {rec.deal_id for _, rec, _ in parsed if rec.status == "approved"}  # type: ignore[attr-defined]
    approved: dict[str, tuple[str, str, date | None]] = {}
    for chunk in chunks(deals):
        query = select(m.DealRegistration).where(
            m.DealRegistration.deal_id.in_(chunk), m.DealRegistration.status == "approved"
        )
        for reg in session.scalars(query):
            approved[reg.deal_id] = (reg.id, reg.partner_id, reg.approved_at)
    for index, rec, _ in parsed:
        if rec.status != "approved":  # type: ignore[attr-defined]
            continue
        holder = approved.get(rec.deal_id)  # type: ignore[attr-defined]
        if holder is None or holder[0] == rec.id:
            approved[rec.deal_id] = (rec.id, rec.partner_id, rec.approved_at)  # type: ignore[attr-defined]
            continue
        problems[index].append(
            f"deal {rec.deal_id} already has an approved registration {holder[0]} "  # type: ignore[attr-defined]
            f"(partner {holder[1]}, approved {holder[2]}): the first approved registration wins"
        )


def _one_rate_per_day(
    session: Session,
    new_rows: list[Row],
    parsed: list[tuple[int, r.FactRecord, Row]],
    problems: dict[int, list[str]],
) -> None:
    new_ids = {row["id"] for row in new_rows}
    keys: dict[tuple[Any, str, str], str] = {}
    for rate in session.scalars(
        select(m.FxRate).where(m.FxRate.date.in_({row["date"] for row in new_rows}))
    ):
        keys[(rate.date, rate.from_currency, rate.to_currency)] = rate.id
    for index, rec, row in parsed:
        if rec.id not in new_ids:
            continue
        key = (row["date"], row["from_currency"], row["to_currency"])
        holder = keys.setdefault(key, rec.id)
        if holder != rec.id:
            problems[index].append(
                f"a {key[1]}->{key[2]} rate for {key[0]} already exists ({holder})"
            )


def _write(
    session: Session,
    kind: Kind,
    to_insert: list[tuple[r.FactRecord, Row]],
    to_amend: list[Row],
    actor: str,
    result: IngestResult,
) -> None:
    table = kind.model.__table__
    if to_insert:
        rows = [row for _, row in to_insert]
        if "accounting_period" in table.c:
            days = {rec.id: rec.accounting_day() for rec, _ in to_insert}
            months = {str(Month.of(d)) for d in days.values() if d is not None}
            mapping = periods.assign_accounting_periods(session, months)
            for rec, row in to_insert:
                day = days[rec.id]
                assert day is not None  # kinds with an accounting period always carry its day
                row["accounting_period"] = mapping[str(Month.of(day))]
        # The savepoint lets the loser of a race on PostgreSQL undo its INSERT and retry
        # in the same transaction. SQLite cannot lose that race (every write transaction
        # holds the write lock from BEGIN IMMEDIATE, and a stale snapshot fails as busy,
        # never as a duplicate), and there the savepoint costs as much as the INSERT.
        # Any other failure is raised either way, and the caller rolls back.
        sqlite = session.get_bind().dialect.name == "sqlite"
        try:
            with nullcontext() if sqlite else session.begin_nested():
                for start in range(0, len(rows), 5_000):
                    session.execute(insert(cast(Table, table)), rows[start : start + 5_000])
        except IntegrityError as exc:
            if _is_duplicate(exc):
                raise _Raced from exc
            raise
        result.inserted.extend(row["id"] for row in rows)
    objects = _stored(session, kind.model, {row["id"] for row in to_amend}) if to_amend else {}
    for row in to_amend:
        obj = objects[row["id"]]
        before = {k: _jsonable(getattr(obj, k)) for k in row if k != "fingerprint"}
        for key, value in row.items():
            setattr(obj, key, value)
        after = {k: _jsonable(v) for k, v in row.items() if k != "fingerprint"}
        audit.record(
            session,
            actor=actor,
            action=f"{kind.name}.amend",
            subject_type=kind.name,
            subject_id=row["id"],
            before={k: v for k, v in before.items() if after.get(k) != v},
            after={k: v for k, v in after.items() if before.get(k) != v},
        )
        result.amended.append(row["id"])
    session.flush()
    if result.inserted or result.amended:
        audit.append(
            session,
            actor=actor,
            action=f"{kind.name}.ingest",
            subject_type="facts",
            subject_id=kind.name,
            after={
                "inserted": len(result.inserted),
                "amended": len(result.amended),
                "unchanged": len(result.unchanged),
            },
        )


def _is_duplicate(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate" in text


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value
