"""Reading fact CSV files: strict UTF-8, the documented columns, bounded field sizes.

Column names are the record fields (see README); empty cells mean "not given".
A file that cannot be read as a whole is refused before anything is validated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from payouts.errors import PayoutsError
from payouts.facts.ingest import Kind

MAX_FIELD_CHARS = 4_096
MAX_FILE_BYTES = 512 * 1024 * 1024


class CsvUnreadable(PayoutsError):
    code = "csv-unreadable"
    status = 422


def columns(kind: Kind) -> tuple[list[str], list[str]]:
    """(required, optional) column names of a kind, in the record's field order."""
    required: list[str] = []
    optional: list[str] = []
    for name, info in kind.record.model_fields.items():
        (required if info.is_required() else optional).append(name)
    return required, optional


def read_rows(kind: Kind, path: Path) -> Iterator[dict[str, Any]]:
    """Yield one dict per data row; raise CsvUnreadable for a file-level problem."""
    try:
        size = path.stat().st_size
        raw = path.read_bytes() if size <= MAX_FILE_BYTES else None
    except OSError as exc:
        raise CsvUnreadable(f"cannot read {path}: {exc.strerror}") from None
    if raw is None:
        raise CsvUnreadable(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvUnreadable(
            f"{path} is not UTF-8 (byte {exc.start} is 0x{raw[exc.start]:02x}); save it as UTF-8"
        ) from None
    yield from parse_text(kind, text, str(path))


def parse_text(kind: Kind, text: str, name: str = "CSV") -> Iterator[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvUnreadable(f"{name} is empty: expected a header row") from None
    except csv.Error as exc:
        raise CsvUnreadable(f"{name} header: {exc}") from None
    header = [h.strip() for h in header]
    required, optional = columns(kind)
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required and c not in optional]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or duplicated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        if duplicated:
            parts.append(f"repeated column(s) {', '.join(duplicated)}")
        raise CsvUnreadable(
            f"{name}: {'; '.join(parts)} (columns of {kind.name}: required "
            f"{', '.join(required)}; optional {', '.join(optional) or 'none'})"
        )
    line = 1
    try:
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise CsvUnreadable(
                    f"{name} line {line}: {len(values)} fields, the header has {len(header)}"
                )
            for column, value in zip(header, values, strict=True):
                if len(value) > MAX_FIELD_CHARS:
                    raise CsvUnreadable(
                        f"{name} line {line}: field {column} is longer than "
                        f"{MAX_FIELD_CHARS} characters"
                    )
            yield {c: v for c, v in zip(header, values, strict=True) if v.strip() != ""}
    except csv.Error as exc:
        raise CsvUnreadable(f"{name} line {line + 1}: {exc}") from None
