"""Issuing statements at close and verifying them later.

Once a period is closed (`payouts.batch.service.close` posts the ledger, decides payouts
and freezes the month), its callers issue every partner's statement of that period,
in the same transaction: its canonical JSON and that JSON's SHA-256 are stored. `verify`
rebuilds the statement from the ledger and compares hashes: a match proves the
statement a partner holds is what the ledger says; a mismatch names the fields and
lines that differ between the statement issued and what the ledger gives now.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from payouts import issued
from payouts.periods import Month
from statements.builder import (
    SLICE,
    LedgerDisagrees,
    PostedSlice,
    StatementNotFound,
    build,
    partners_of_period,
    slices,
)
from statements.canonical import canonical_json, content_hash, to_document
from statements.model import StatementInvalid

WORKERS = min(2, os.cpu_count() or 1)
"""Processes building a large month's statements at close."""


@dataclass(frozen=True, slots=True)
class Verification:
    partner_id: str
    period: str
    stored_hash: str
    computed_hash: str
    problem: str | None = None
    """Why the statement could not even be rebuilt from the ledger (never a match)."""
    differences: tuple[str, ...] = ()
    """On a mismatch: what differs between the statement issued and the ledger now."""

    @property
    def match(self) -> bool:
        return self.problem is None and self.stored_hash == self.computed_hash


def issue_period(
    session: Session,
    period: str,
    *,
    actor: str,
    workers: int = WORKERS,
    slice_size: int = SLICE,
) -> dict[str, str]:
    """Store every partner's statement of a closed period: its canonical JSON and hash.

    This process reads a slice of partners at a time (`builder.PostedSlice`: a few
    queries a slice, in the closing transaction) and stores each slice's statements
    together; building them, their JSON and hashes, which costs most, happens in
    `workers` processes while the next slice is read. Only a few slices are in
    flight, never the month."""
    period = str(Month.parse(period))
    partners = partners_of_period(session, period)
    read = (PostedSlice.read(session, period, ids) for ids in slices(partners, slice_size))
    hashes: dict[str, str] = {}
    for issued_now in _issued_slices(read, workers if len(partners) > slice_size else 1):
        issued.record_many(session, period, issued_now, actor)
        hashes.update((partner_id, digest) for partner_id, digest, _ in issued_now)
    return hashes


IN_FLIGHT = 2
"""Slices queued per worker: enough to keep it busy, few enough to bound memory."""


def _issued_slices(
    posted: Iterator[PostedSlice], workers: int
) -> Iterator[list[tuple[str, str, str]]]:
    if workers <= 1:
        yield from (_issue_slice(one) for one in posted)
        return
    # Forked workers need nothing of this process's but the slice: no database.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future[list[tuple[str, str, str]] | _Refusal]] = deque()
        for one in posted:
            pending.append(pool.submit(_issue_slice_apart, _packed(one)))
            if len(pending) >= IN_FLIGHT * workers:
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())


def _issue_slice(posted: PostedSlice) -> list[tuple[str, str, str]]:
    """(partner, hash, canonical JSON) of each statement of a slice: the hash is that of
    the JSON stored."""
    issued_now: list[tuple[str, str, str]] = []
    for statement in posted.statements():
        content = canonical_json(statement, include_hash=False)
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        issued_now.append((statement.partner_id, digest, content))
    return issued_now


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A statement a worker could not build, on its way back to be raised here."""

    ledger_disagrees: bool
    problems: tuple[str, ...]


def _packed(posted: PostedSlice) -> bytes:
    """A slice pickled for a worker without pickle's memo: a slice is a tree of a few
    hundred thousand values, none shared or recursive, and remembering each one cost
    pickling most of its time (the pool sends these bytes as they are)."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(posted)
    return out.getvalue()


def _issue_slice_apart(packed: bytes) -> list[tuple[str, str, str]] | _Refusal:
    try:
        return _issue_slice(pickle.loads(packed))  # this process's own slice, packed by `_packed`
    except LedgerDisagrees as exc:
        return _Refusal(True, (exc.message,))
    except StatementInvalid as exc:
        return _Refusal(False, exc.problems)


def _result(future: Future[list[tuple[str, str, str]] | _Refusal]) -> list[tuple[str, str, str]]:
    result = future.result()
    if isinstance(result, _Refusal):
        if result.ledger_disagrees:
            raise LedgerDisagrees(result.problems[0])
        raise StatementInvalid(result.problems)
    return result


def verify(session: Session, partner_id: str, period: str) -> Verification:
    period = str(Month.parse(period))
    stored = issued.issued(session, partner_id, period)
    if stored is None:
        raise StatementNotFound(f"no statement was issued to {partner_id} for {period}")
    try:
        statement = build(session, partner_id, period)
    except (LedgerDisagrees, StatementInvalid) as exc:
        return Verification(partner_id, period, stored.content_hash, "", problem=str(exc))
    computed = content_hash(statement)
    if computed == stored.content_hash:
        return Verification(partner_id, period, stored.content_hash, computed)
    now = to_document(statement, include_hash=False)
    return Verification(
        partner_id,
        period,
        stored.content_hash,
        computed,
        differences=tuple(_against_issued(stored, now)),
    )


def _against_issued(stored: issued.IssuedStatement, now: dict[str, Any]) -> list[str]:
    if stored.canonical_json is None:
        return [
            "what differs cannot be told: the statement's content was not kept when it was "
            "issued (before schema revision 0013), only its hash"
        ]
    if hashlib.sha256(stored.canonical_json.encode()).hexdigest() != stored.content_hash:
        return [
            "what differs cannot be told: the copy of the statement kept at issue does not "
            "match its issued hash (the copy was altered)"
        ]
    return differences(json.loads(stored.canonical_json), now)


def differences(was: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between two canonical statement documents: lines first (matched by
    line id), then every other field by its path, in the canonical JSON's key order."""
    found = _line_differences(was.get("lines", []), now.get("lines", []))
    for key in sorted((set(was) | set(now)) - {"lines"}):
        found += _value_differences(key, was.get(key), now.get(key))
    return found


def _line_differences(was: list[dict[str, Any]], now: list[dict[str, Any]]) -> list[str]:
    was_by_id = {line["line_id"]: line for line in was}
    now_by_id = {line["line_id"]: line for line in now}
    found: list[str] = []
    for line_id in [*was_by_id, *(i for i in now_by_id if i not in was_by_id)]:
        before, after = was_by_id.get(line_id), now_by_id.get(line_id)
        if after is None:
            assert before is not None
            found.append(
                f"line {line_id} ({_brief(before)}): in the statement issued, no longer in "
                "the ledger"
            )
        elif before is None:
            found.append(
                f"line {line_id} ({_brief(after)}): in the ledger now, not in the statement issued"
            )
        else:
            for field in sorted(set(before) | set(after)):
                if before.get(field) != after.get(field):
                    found.append(
                        _changed(f"line {line_id} {field}", before.get(field), after.get(field))
                    )
    return found


def _brief(line: dict[str, Any]) -> str:
    return f"{line.get('component')}, {line.get('source_fact')}, {line.get('amount')}"


def _value_differences(path: str, before: Any, after: Any) -> list[str]:
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            difference
            for key in sorted(set(before) | set(after))
            for difference in _value_differences(f"{path}.{key}", before.get(key), after.get(key))
        ]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            difference
            for index, (b, a) in enumerate(zip(before, after, strict=True))
            for difference in _value_differences(f"{path}[{index}]", b, a)
        ]
    return [_changed(path, before, after)]


def _changed(what: str, before: Any, after: Any) -> str:
    return f"{what}: issued {before!r}, the ledger now gives {after!r}"


def periods_for(session: Session, partner_id: str) -> list[str]:
    """Periods with an issued statement for the partner, newest first."""
    return [row.period for row in issued.periods_of(session, partner_id)]
