"""Saved plan versions and which partner is on which plan when.

A saved plan version is immutable (the database refuses UPDATE and DELETE) and is
identified by its content hash. Loading a document whose content equals a saved
version is a no-op; a changed document becomes the plan's next version. Partners are
assigned to plans (not versions) over date ranges; the version in force on a fact's
date is chosen per fact, so a plan change in the middle of a month splits correctly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from payouts import audit
from payouts.base import Base, BigId, utcnow
from payouts.errors import PayoutsError
from payouts.reference.models import Partner
from plans.model import PlanVersion


class PlanVersionRecord(Base):
    __tablename__ = "plan_versions"
    __table_args__ = (
        Index("uq_plan_versions_plan_version", "plan_id", "version", unique=True),
        Index("uq_plan_versions_content_hash", "content_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    content_hash: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the canonical document.")
    body_hash: Mapped[str] = mapped_column(
        String(64), index=True, doc="SHA-256 of the document without its version number."
    )
    document: Mapped[dict[str, Any]] = mapped_column(doc="The canonical, validated document.")
    loaded_by: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    def plan(self) -> PlanVersion:
        return PlanVersion.model_validate(self.document)

    @property
    def label(self) -> str:
        """How lines and statements name a version: `plan@vN#hash8`."""
        return f"{self.plan_id}@v{self.version}#{self.content_hash[:8]}"


class PlanAssignment(Base):
    """A partner on a plan from `effective_from` (inclusive) to `effective_to` (exclusive).

    A row without a partner assigns the plan program-wide (the rep credit plan)."""

    __tablename__ = "plan_assignments"
    __table_args__ = (
        CheckConstraint(
            "effective_to IS NULL OR effective_to > effective_from", name="dates_ordered"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), index=True)
    plan_id: Mapped[str] = mapped_column(String(64), index=True)
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    assigned_by: Mapped[str] = mapped_column(String(200))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanNotFound(PayoutsError):
    code = "plan-not-found"
    status = 404


class PartnerNotFound(PayoutsError):
    code = "partner-not-found"
    status = 404


class AssignmentOverlaps(PayoutsError):
    code = "plan-assignment-overlaps"
    status = 409


@dataclass(frozen=True, slots=True)
class SaveResult:
    record: PlanVersionRecord
    created: bool


def save(session: Session, plan: PlanVersion, *, actor: str) -> SaveResult:
    """Store a validated plan version; identical content returns the saved one."""
    body_hash = plan.content_hash(include_version=False)
    existing = session.scalars(
        select(PlanVersionRecord).where(
            PlanVersionRecord.plan_id == plan.plan_id, PlanVersionRecord.body_hash == body_hash
        )
    ).first()
    if existing is not None:
        return SaveResult(existing, created=False)
    latest = session.scalar(
        select(func.max(PlanVersionRecord.version)).where(PlanVersionRecord.plan_id == plan.plan_id)
    )
    version = (latest or 0) + 1
    numbered = plan.model_copy(update={"version": version})
    record = PlanVersionRecord(
        plan_id=numbered.plan_id,
        version=version,
        name=numbered.name,
        effective_from=numbered.effective_from,
        effective_to=numbered.effective_to,
        content_hash=numbered.content_hash(),
        body_hash=body_hash,
        document=numbered.canonical(),
        loaded_by=actor,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="plan.version.save",
        subject_type="plan",
        subject_id=f"{record.plan_id}@v{version}",
        after={"content_hash": record.content_hash, "effective_from": str(plan.effective_from)},
    )
    return SaveResult(record, created=True)


def versions(session: Session, plan_id: str) -> list[PlanVersionRecord]:
    found = list(
        session.scalars(
            select(PlanVersionRecord)
            .where(PlanVersionRecord.plan_id == plan_id)
            .order_by(PlanVersionRecord.version)
        )
    )
    if not found:
        raise PlanNotFound(f"no plan {plan_id!r}")
    return found


def get(session: Session, plan_id: str, version: int | None = None) -> PlanVersionRecord:
    """One saved version (the latest when `version` is None); reads only that row."""
    query = select(PlanVersionRecord).where(PlanVersionRecord.plan_id == plan_id)
    if version is None:
        query = query.order_by(PlanVersionRecord.version.desc()).limit(1)
    else:
        query = query.where(PlanVersionRecord.version == version)
    record = session.scalars(query).first()
    if record is not None:
        return record
    known = select(PlanVersionRecord.id).where(PlanVersionRecord.plan_id == plan_id).limit(1)
    if session.scalar(known) is None:
        raise PlanNotFound(f"no plan {plan_id!r}")
    raise PlanNotFound(f"plan {plan_id!r} has no version {version}")


def latest_versions(session: Session) -> list[PlanVersionRecord]:
    newest = (
        select(PlanVersionRecord.plan_id, func.max(PlanVersionRecord.version).label("v"))
        .group_by(PlanVersionRecord.plan_id)
        .subquery()
    )
    query = (
        select(PlanVersionRecord)
        .join(
            newest,
            (PlanVersionRecord.plan_id == newest.c.plan_id)
            & (PlanVersionRecord.version == newest.c.v),
        )
        .order_by(PlanVersionRecord.plan_id)
    )
    return list(session.scalars(query))


class PlanTimeline:
    """Every saved version of some plans, to pick the one in force on a day.

    Among the versions whose effective range covers the day, the highest version
    number wins: a correction saved later supersedes what it overlaps.
    """

    def __init__(self, records: Iterable[PlanVersionRecord]) -> None:
        self._by_plan: dict[str, list[tuple[PlanVersion, str]]] = {}
        for record in sorted(records, key=lambda r: (r.plan_id, -r.version)):
            self._by_plan.setdefault(record.plan_id, []).append((record.plan(), record.label))

    @classmethod
    def load(cls, session: Session, plan_ids: Iterable[str] | None = None) -> PlanTimeline:
        query = select(PlanVersionRecord)
        if plan_ids is not None:
            query = query.where(PlanVersionRecord.plan_id.in_(sorted(set(plan_ids))))
        return cls(session.scalars(query))

    def with_candidate(self, plan: PlanVersion) -> PlanTimeline:
        """This timeline with an unsaved candidate on top of its plan's versions."""
        copy = PlanTimeline([])
        copy._by_plan = {k: list(v) for k, v in self._by_plan.items()}
        versions = copy._by_plan.setdefault(plan.plan_id, [])
        top = max((p.version for p, _ in versions), default=0) + 1
        candidate = plan.model_copy(update={"version": top})
        versions.insert(0, (candidate, f"{plan.plan_id}@candidate#{plan.content_hash()[:8]}"))
        return copy

    def in_force(self, plan_id: str, day: date) -> PlanVersion | None:
        for plan, _ in self._by_plan.get(plan_id, []):
            if plan.in_effect_on(day):
                return plan
        return None

    def label(self, plan: PlanVersion) -> str:
        for candidate, label in self._by_plan.get(plan.plan_id, []):
            if candidate.version == plan.version:
                return label
        return f"{plan.plan_id}@v{plan.version}"


def assign(
    session: Session,
    *,
    plan_id: str,
    partner_id: str | None,
    effective_from: date,
    effective_to: date | None = None,
    actor: str,
) -> PlanAssignment:
    """Put a partner (or, with no partner, the whole program) on a plan for a date range."""
    versions(session, plan_id)  # the plan must exist
    # Checked here, not left to the foreign key: a refusal the user can act on.
    if partner_id is not None and session.get(Partner, partner_id) is None:
        raise PartnerNotFound(f"no partner {partner_id!r}")
    overlapping = session.scalars(
        select(PlanAssignment).where(
            PlanAssignment.plan_id == plan_id,
            PlanAssignment.partner_id.is_(None)
            if partner_id is None
            else PlanAssignment.partner_id == partner_id,
            (PlanAssignment.effective_to.is_(None))
            | (PlanAssignment.effective_to > effective_from),
            *([PlanAssignment.effective_from < effective_to] if effective_to else []),
        )
    ).first()
    if overlapping is not None:
        same = overlapping.effective_from == effective_from and (
            overlapping.effective_to == effective_to
        )
        if same:
            return overlapping
        raise AssignmentOverlaps(
            f"{partner_id or 'the program'} is already on plan {plan_id} from "
            f"{overlapping.effective_from} to {overlapping.effective_to or 'open end'}"
        )
    assignment = PlanAssignment(
        plan_id=plan_id,
        partner_id=partner_id,
        effective_from=effective_from,
        effective_to=effective_to,
        assigned_by=actor,
    )
    session.add(assignment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="plan.assign",
        subject_type="partner" if partner_id else "program",
        subject_id=partner_id or "program",
        after={
            "plan_id": plan_id,
            "effective_from": str(effective_from),
            "effective_to": str(effective_to) if effective_to else None,
        },
    )
    return assignment


class Assigned(NamedTuple):
    """What a calculation reads of a `PlanAssignment`."""

    partner_id: str | None
    plan_id: str
    effective_from: date
    effective_to: date | None


def assignments(
    session: Session, start: date, end: date, partner_id: str | None = None
) -> list[Assigned]:
    """Every assignment in force on some day of [start, end] (of one partner if given).

    Plain tuples, not ORM objects: each batch process reads one a partner."""
    query = (
        select(
            PlanAssignment.partner_id,
            PlanAssignment.plan_id,
            PlanAssignment.effective_from,
            PlanAssignment.effective_to,
        )
        .where(
            PlanAssignment.effective_from <= end,
            (PlanAssignment.effective_to.is_(None)) | (PlanAssignment.effective_to > start),
        )
        .order_by(PlanAssignment.partner_id, PlanAssignment.plan_id, PlanAssignment.effective_from)
    )
    if partner_id is not None:
        query = query.where(PlanAssignment.partner_id == partner_id)
    return [Assigned(*row) for row in session.execute(query)]


def assignments_of(session: Session, plan_id: str) -> list[PlanAssignment]:
    """Every assignment of one plan, past and present, in order of their start."""
    return list(
        session.scalars(
            select(PlanAssignment)
            .where(PlanAssignment.plan_id == plan_id)
            .order_by(PlanAssignment.effective_from, PlanAssignment.partner_id, PlanAssignment.id)
        )
    )


def diff_versions(session: Session, plan_id: str, a: int, b: int) -> list[tuple[str, Any, Any]]:
    """What changed between two saved versions of a plan (the version number aside)."""
    old, new = get(session, plan_id, a), get(session, plan_id, b)
    return diff(
        {k: v for k, v in old.document.items() if k != "version"},
        {k: v for k, v in new.document.items() if k != "version"},
    )


def diff(a: dict[str, Any], b: dict[str, Any], path: str = "") -> list[tuple[str, Any, Any]]:
    """Differences between two canonical documents as (path, old, new).

    Components are matched by id, so reordering them is not a change."""
    changes: list[tuple[str, Any, Any]] = []
    for key in sorted(set(a) | set(b)):
        here = f"{path}.{key}" if path else key
        old, new = a.get(key), b.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes.extend(diff(old, new, here))
        elif key == "components" and isinstance(old, list) and isinstance(new, list):
            changes.extend(_component_changes(old, new, here))
        elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            changes.extend(_item_changes(old, new, here))
        elif old != new:
            changes.append((here, old, new))
    return changes


def _component_changes(
    old: list[dict[str, Any]], new: list[dict[str, Any]], here: str
) -> list[tuple[str, Any, Any]]:
    """Components matched by id: added, removed, or their differences."""
    changes: list[tuple[str, Any, Any]] = []
    old_by_id = {c["id"]: c for c in old}
    new_by_id = {c["id"]: c for c in new}
    for cid in sorted(set(old_by_id) | set(new_by_id)):
        where = f"{here}[{cid}]"
        if cid not in old_by_id:
            changes.append((where, None, new_by_id[cid]))
        elif cid not in new_by_id:
            changes.append((where, old_by_id[cid], None))
        else:
            changes.extend(diff(old_by_id[cid], new_by_id[cid], where))
    return changes


def _item_changes(old: list[Any], new: list[Any], here: str) -> list[tuple[str, Any, Any]]:
    """Two lists of the same length, item by item."""
    changes: list[tuple[str, Any, Any]] = []
    for index, (x, y) in enumerate(zip(old, new, strict=True)):
        where = f"{here}[{index}]"
        if isinstance(x, dict) and isinstance(y, dict):
            changes.extend(diff(x, y, where))
        elif x != y:
            changes.append((where, x, y))
    return changes
