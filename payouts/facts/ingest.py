"""Idempotent, all-or-nothing ingestion of fact records.

- The same id with the same content is a no-op that returns the stored record.
- The same id with different content is a conflict, unless the kind allows an
  explicit amendment (reference data, registrations, certifications, FX rates) and the
  caller asks for one; the amendment is recorded in the audit log with before and
  after. Money facts (invoices, payments, refunds) are never amended: a correction is a
  credit note.
- Every record is validated and every problem is reported, with the record's position
  and id; if any record is refused, nothing of the call is written.
- Records are read and stored in chunks of `CHUNK`, so a file of any size is imported
  in bounded memory, still in the caller's one transaction: a chunk is checked against
  what earlier chunks stored (a repeated id, what remains of an invoice), and a refusal
  anywhere undoes every chunk.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import chain, islice
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
from payouts.facts.remaining import Remaining, lock_invoices
from payouts.facts.repository import chunks
from payouts.periods import Month, Period
from payouts.reference import models as ref
from payouts.tax import models as tax
from payouts.tax.profiles import expiry
from plans.money import to_minor

CHUNK = 5_000
"""Records validated and stored at a time: at least the API's largest bulk request, so a
request is one chunk."""
MAX_REPORTED = 1_000
"""Refused records kept with their reasons (the rest are counted): all of any request."""


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

    def __init__(self, kind: str, errors: Sequence[RecordError], total: int | None = None) -> None:
        self.kind = kind
        self.errors = list(errors)
        self.total = len(self.errors) if total is None else total
        """How many records were refused: `errors` keeps the first MAX_REPORTED of them."""
        first = str(self.errors[0]) if self.errors else ""
        more = f" (and {self.total - 1} more)" if self.total > 1 else ""
        super().__init__(f"{self.total} {kind} record(s) refused, nothing written: {first}{more}")


class FactConflict(FactsRefused):
    """A record reuses a stored id with different content and no amendment was asked."""

    code = "fact-conflict"
    status = 409


@dataclass
class IngestResult:
    """What a call stored: counts, and the ids themselves unless `keep_ids` is off (a
    file of a million rows needs its counts, not a million ids in memory)."""

    kind: str
    inserted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    amended: list[str] = field(default_factory=list)
    keep_ids: bool = True
    counts: dict[str, int] = field(
        default_factory=lambda: {"inserted": 0, "unchanged": 0, "amended": 0}
    )

    def add(self, outcome: str, ids: Sequence[str]) -> None:
        self.counts[outcome] += len(ids)
        if self.keep_ids:
            cast(list[str], getattr(self, outcome)).extend(ids)

    @property
    def summary(self) -> str:
        counts = self.counts
        return (
            f"{self.kind}: {counts['inserted']} inserted, {counts['unchanged']} unchanged, "
            f"{counts['amended']} amended, 0 refused"
        )


@dataclass(frozen=True, slots=True)
class Reference:
    field: str
    model: type[Base]
    label: str


Row = dict[str, Any]


@dataclass
class Chunk:
    """One chunk of records under validation: what is parsed, new, amended and wrong.

    `index` counts from 1 over the whole call (a CSV file's data rows)."""

    parsed: list[tuple[int, r.FactRecord, Row]] = field(default_factory=list)
    to_insert: list[tuple[int, r.FactRecord, Row]] = field(default_factory=list)
    to_amend: list[tuple[int, r.FactRecord, Row]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    conflicts: set[int] = field(default_factory=set)
    unparsed: dict[int, tuple[str | None, list[str]]] = field(default_factory=dict)
    unparsed_raw: dict[int, Mapping[str, Any]] = field(default_factory=dict)

    def accepted(self, rows: list[tuple[int, r.FactRecord, Row]]) -> list[tuple[r.FactRecord, Row]]:
        return [(rec, row) for index, rec, row in rows if not self.problems.get(index)]


Check = Callable[[Session, Chunk], None]
"""A rule of one kind over a chunk, after its records are known to be new or amended."""


@dataclass(frozen=True, slots=True)
class Kind:
    """How one kind of fact is validated and stored."""

    name: str
    record: type[r.FactRecord]
    model: type[Base]
    to_row: Callable[[Any], Row]
    references: tuple[Reference, ...] = ()
    amendable: bool = False
    checks: tuple[Check, ...] = ()
    after_write: Callable[[Session, list[Row]], None] | None = None


def _remaining(kind: str) -> Check:
    """Payments (or refunds) never take an invoice past its amount: checked under a lock."""

    def check(session: Session, chunk: Chunk) -> None:
        new = chunk.to_insert
        if not new:
            return
        # Only new money counts against what remains: a repeat of a stored payment or
        # refund is already in the invoice's totals.
        invoice_ids = {rec.invoice_id for _, rec, _ in new}  # type: ignore[attr-defined]
        lock_invoices(session, invoice_ids)
        remaining = Remaining(session, kind, invoice_ids)
        for index, rec, row in new:
            chunk.problems[index].extend(remaining.take(rec, row["amount_minor"]))

    return check


def _one_approved_per_deal(session: Session, chunk: Chunk) -> None:
    """The first approved registration of a deal wins; a later one is refused with why."""
    candidates = [(i, rec) for i, rec, _ in (*chunk.to_insert, *chunk.to_amend)]
    deals = {rec.deal_id for _, rec in candidates if rec.status == "approved"}  # type: ignore[attr-defined]
    approved: dict[str, tuple[str, str, date | None]] = {}
    for ids in chunks(deals):
        query = select(m.DealRegistration).where(
            m.DealRegistration.deal_id.in_(ids), m.DealRegistration.status == "approved"
        )
        for reg in session.scalars(query):
            approved[reg.deal_id] = (reg.id, reg.partner_id, reg.approved_at)
    for index, rec in sorted(candidates, key=lambda c: c[0]):
        if rec.status != "approved":  # type: ignore[attr-defined]
            continue
        holder = approved.get(rec.deal_id)  # type: ignore[attr-defined]
        if holder is None or holder[0] == rec.id:
            approved[rec.deal_id] = (rec.id, rec.partner_id, rec.approved_at)  # type: ignore[attr-defined]
            continue
        chunk.problems[index].append(
            f"deal {rec.deal_id} already has an approved registration {holder[0]} "  # type: ignore[attr-defined]
            f"(partner {holder[1]}, approved {holder[2]}): the first approved registration wins"
        )


def _one_rate_per_day(session: Session, chunk: Chunk) -> None:
    """One rate a pair and day: a second id for the same day is refused."""
    new_rows = [row for _, _, row in chunk.to_insert]
    keys: dict[tuple[Any, str, str], str] = {}
    for rate in session.scalars(
        select(m.FxRate).where(m.FxRate.date.in_({row["date"] for row in new_rows}))
    ):
        keys[(rate.date, rate.from_currency, rate.to_currency)] = rate.id
    for index, rec, row in chunk.to_insert:
        key = (row["date"], row["from_currency"], row["to_currency"])
        holder = keys.setdefault(key, rec.id)
        if holder != rec.id:
            chunk.problems[index].append(
                f"a {key[1]}->{key[2]} rate for {key[0]} already exists ({holder})"
            )


def _rate_corrections(session: Session, chunk: Chunk) -> None:
    """An FX amendment corrects the rate (or its source) of a month still open.

    Its day and pair stay: they are what the rate means. A closed month's rates are
    frozen with it (the database refuses the UPDATE too, migration 0012)."""
    if not chunk.to_amend:
        return
    stored = _stored(session, m.FxRate, {rec.id for _, rec, _ in chunk.to_amend})
    months = {str(Month.of(rate.date)) for rate in stored.values()}
    # The months' rows stay locked until commit (in period order, as ingestion locks them),
    # so a close cannot slip in between this check and the corrected rate. Like any
    # fact, this needs UPDATE on `periods` (which ingestion has: it bumps revisions).
    closed = {
        period
        for period, status in session.execute(
            select(Period.period, Period.status)
            .where(Period.period.in_(months))
            .order_by(Period.period)
            .with_for_update()
        )
        if status == "closed"
    }
    for index, rec, row in chunk.to_amend:
        rate = stored[rec.id]
        if (rate.date, rate.from_currency, rate.to_currency) != (
            row["date"],
            row["from_currency"],
            row["to_currency"],
        ):
            chunk.problems[index].append(
                "the date and currencies of an FX rate cannot change (stored: "
                f"{rate.from_currency}->{rate.to_currency} on {rate.date}); record a new rate"
            )
        elif str(Month.of(rate.date)) in closed:
            chunk.problems[index].append(
                f"the rate's month {Month.of(rate.date)} is closed: a closed month's rates "
                "cannot change; record a rate for a later day instead"
            )


def _void_drafts_reached(session: Session, rows: list[Row]) -> None:
    """A new or corrected rate applies from its day until the pair's next rate, so it
    can reach the draft of its month and of any later month: those drafts are void."""
    if rows:
        periods.revise_open_from(session, Month.of(min(row["date"] for row in rows)))


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
            checks=(_one_approved_per_deal,),
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
            checks=(_remaining("payments"),),
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
            checks=(_remaining("refunds"),),
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
            "tax_profiles",
            r.TaxProfileRecord,
            tax.TaxProfile,
            lambda x: {
                "id": x.id,
                "tax_country": x.tax_country,
                "entity_type": x.entity_type,
                "form": x.form,
                "signed_on": x.signed_on,
                "expires_on": expiry(x.form, x.signed_on),
                "taxpayer_id_last4": x.taxpayer_id_last4,
                "vat_id": x.vat_id,
                "self_billing": x.self_billing,
                "self_billing_from": x.self_billing_from,
            },
            (Reference("id", ref.Partner, "partner"),),
            amendable=True,
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
            amendable=True,
            checks=(_rate_corrections, _one_rate_per_day),
            after_write=_void_drafts_reached,
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


class _Raced(Exception):
    """Another transaction inserted one of our ids between our check and our insert."""


def _batches(records: Iterable[object], size: int) -> Iterator[list[tuple[int, object]]]:
    """The records, numbered from 1, in lists of `size`."""
    numbered = enumerate(records, start=1)
    while batch := list(islice(numbered, size)):
        yield batch


class _Refusals:
    """The refused records of a call: the first MAX_REPORTED kept, all of them counted."""

    def __init__(self) -> None:
        self.kept: list[RecordError] = []
        self.total = 0
        self.all_conflicts = True

    def add(self, errors: list[RecordError]) -> None:
        self.total += len(errors)
        self.all_conflicts = self.all_conflicts and all(e.conflict for e in errors)
        room = MAX_REPORTED - len(self.kept)
        self.kept.extend(sorted(errors, key=lambda e: e.index)[: max(room, 0)])

    def raise_any(self, kind: str) -> None:
        if not self.total:
            return
        if self.all_conflicts:
            raise FactConflict(kind, self.kept, self.total)
        raise FactsRefused(kind, self.kept, self.total)


def ingest(
    session: Session,
    kind_name: str,
    raw_records: Iterable[object],
    *,
    actor: str,
    amend: bool = False,
    keep_ids: bool = True,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Validate and store records of one kind; all-or-nothing, idempotent.

    `raw_records` may be a list (a request) or any iterable (the rows of a file, read
    as they are stored). Raises FactsRefused (or FactConflict) listing the refused
    records; nothing of the call is then left in the session (the caller rolls its
    transaction back as usual). Concurrent ingestion of the same ids is safe: the loser
    of the race re-reads what the winner stored and reports it as unchanged (or as a
    conflict). `progress` is told how many records each chunk held.
    """
    kind = kind_named(kind_name)
    # The reads below are plain statements, which do not autoflush: make whatever the
    # caller added to the session visible to them first.
    session.flush()
    result = IngestResult(kind.name, keep_ids=keep_ids)
    refusals = _Refusals()
    batches = _batches(raw_records, CHUNK)
    first = next(batches, [])
    second = next(batches, None)
    if second is None:
        # One chunk (every request): it is written only if all of it is valid.
        _chunk_with_retries(session, kind, first, amend, actor, result, refusals, progress)
        refusals.raise_any(kind.name)
    else:
        # Several: each chunk is written (its valid records) so that the next ones are
        # checked against it, inside a savepoint that a refusal anywhere rolls back.
        with session.begin_nested():
            for batch in chain((first, second), batches):
                _chunk_with_retries(
                    session, kind, batch, amend, actor, result, refusals, progress, many=True
                )
            refusals.raise_any(kind.name)
    counts = result.counts
    if counts["inserted"] or counts["amended"]:
        audit.append(
            session,
            actor=actor,
            action=f"{kind.name}.ingest",
            subject_type="facts",
            subject_id=kind.name,
            after=dict(counts),
        )
    return result


def _chunk_with_retries(
    session: Session,
    kind: Kind,
    batch: list[tuple[int, object]],
    amend: bool,
    actor: str,
    result: IngestResult,
    refusals: _Refusals,
    progress: Callable[[int], None] | None,
    *,
    many: bool = False,
) -> None:
    for _ in range(3):
        try:
            _ingest_chunk(session, kind, batch, amend, actor, result, refusals, many)
            break
        except _Raced:
            continue
    else:
        refusals.add([RecordError(batch[0][0], None, ("concurrent writes kept colliding",), True)])
    if progress is not None:
        progress(len(batch))


def _ingest_chunk(
    session: Session,
    kind: Kind,
    batch: list[tuple[int, object]],
    amend: bool,
    actor: str,
    result: IngestResult,
    refusals: _Refusals,
    many: bool,
) -> None:
    """Validate one chunk against the database (and earlier chunks), then store what
    is valid in it; its refusals go to `refusals`. Raises _Raced to be retried.

    Alone (`many` false), a chunk with a refused record writes nothing."""
    chunk = Chunk()
    _parse(kind, batch, chunk)
    _check_references(session, kind, chunk)
    _classify(session, kind, chunk, amend)
    for check in kind.checks:
        check(session, chunk)
    errors = [
        RecordError(index, ident, tuple(messages))
        for index, (ident, messages) in chunk.unparsed.items()
    ] + [
        RecordError(index, rec.id, tuple(chunk.problems[index]), index in chunk.conflicts)
        for index, rec, _ in chunk.parsed
        if chunk.problems.get(index)
    ]
    if errors and not many:
        refusals.add(errors)
        return
    # Among many chunks, valid records are stored even when others are refused, so that
    # later chunks are checked against them; the refusal rolls every chunk back.
    inserted = _insert(session, kind, chunk.accepted(chunk.to_insert))  # may raise _Raced
    amended = _amend(session, kind, chunk.accepted(chunk.to_amend), actor)
    if kind.after_write is not None:
        kind.after_write(session, [row for _, row in (*inserted, *amended)])
    refusals.add(errors)
    result.add("inserted", [rec.id for rec, _ in inserted])
    result.add("unchanged", chunk.unchanged)
    result.add("amended", [rec.id for rec, _ in amended])


def _parse(kind: Kind, batch: list[tuple[int, object]], chunk: Chunk) -> None:
    for index, raw in batch:
        if not isinstance(raw, Mapping):
            chunk.unparsed[index] = (None, ["a record must be an object of fields"])
            continue
        try:
            record = kind.record.model_validate(raw)
        except ValidationError as exc:
            raw_id = raw.get("id")
            ident = str(raw_id)[:64] if raw_id is not None else None
            chunk.unparsed[index] = (ident, list(_pydantic_messages(exc)))
            # Kept for the references check: a record's errors are reported together.
            chunk.unparsed_raw[index] = raw
            continue
        chunk.parsed.append((index, record, kind.to_row(record)))


def _check_references(session: Session, kind: Kind, chunk: Chunk) -> None:
    """References, resolved in bulk, for valid records and (so that a record's errors
    are all reported together) for the readable fields of invalid ones too."""
    for reference in kind.references:
        values: dict[int, str] = {
            index: getattr(rec, reference.field)
            for index, rec, _ in chunk.parsed
            if getattr(rec, reference.field) is not None
        }
        for index, raw in chunk.unparsed_raw.items():
            value = raw.get(reference.field)
            if isinstance(value, str) and value.strip():
                values[index] = value.strip()
        known = _existing_ids(session, reference.model, set(values.values()))
        for index, value in values.items():
            if value not in known:
                unparsed = chunk.unparsed.get(index)
                target = unparsed[1] if unparsed is not None else chunk.problems[index]
                target.append(f"unknown {reference.label} {value!r}")


def _classify(session: Session, kind: Kind, chunk: Chunk, amend: bool) -> None:
    """New, unchanged, amended or in conflict: by the stored content of each id."""
    stored = _stored_fingerprints(session, kind, {rec.id for _, rec, _ in chunk.parsed})
    with_fingerprint = _has_fingerprint(kind)
    seen: dict[str, str] = {}
    for index, rec, row in chunk.parsed:
        digest = fingerprint(row)
        row_with_fp = {**row, "fingerprint": digest} if with_fingerprint else row
        if rec.id in seen:
            if seen[rec.id] != digest:
                chunk.problems[index].append(
                    f"id {rec.id!r} appears twice in the batch, differently"
                )
                chunk.conflicts.add(index)
            continue
        seen[rec.id] = digest
        existing = stored.get(rec.id)
        if existing is None:
            chunk.to_insert.append((index, rec, row_with_fp))
        elif existing == digest:
            chunk.unchanged.append(rec.id)
        elif amend and kind.amendable:
            chunk.to_amend.append((index, rec, row_with_fp))
        else:
            hint = " (this kind accepts an explicit amendment)" if kind.amendable else ""
            chunk.problems[index].append(
                f"id {rec.id!r} already exists with different content{hint}"
            )
            chunk.conflicts.add(index)


def _has_fingerprint(kind: Kind) -> bool:
    return "fingerprint" in kind.model.__table__.c


def _insert(
    session: Session, kind: Kind, to_insert: list[tuple[r.FactRecord, Row]]
) -> list[tuple[r.FactRecord, Row]]:
    if not to_insert:
        return []
    table = kind.model.__table__
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
            session.execute(insert(cast(Table, table)), rows)
    except IntegrityError as exc:
        if _is_duplicate(exc):
            raise _Raced from exc
        raise
    return to_insert


def _amend(
    session: Session, kind: Kind, to_amend: list[tuple[r.FactRecord, Row]], actor: str
) -> list[tuple[r.FactRecord, Row]]:
    if not to_amend:
        return []
    objects = _stored(session, kind.model, {rec.id for rec, _ in to_amend})
    for _, row in to_amend:
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
    session.flush()
    return to_amend


def _is_duplicate(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate" in text


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value
