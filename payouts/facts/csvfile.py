"""Reading fact CSV files: strict UTF-8, the documented columns, bounded field sizes.

Column names are the record fields (see README); empty cells mean "not given".
A problem with the file itself (not UTF-8, a wrong header, a malformed line) refuses
it with one line naming where. The file is read as it is imported, line by line, so
its size does not matter to memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from payouts.errors import PayoutsError
from payouts.facts.ingest import Kind

MAX_FIELD_CHARS = 4_096
MAX_LINE_BYTES = 1024 * 1024
"""Longer than any valid row (a few fields of at most MAX_FIELD_CHARS characters)."""


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
    """Yield one dict per data row, reading as it goes; raise CsvUnreadable for a
    problem with the file."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise CsvUnreadable(f"cannot read {path}: {exc.strerror}") from None
    with stream:
        yield from parse_lines(kind, _utf8_lines(stream, str(path)), str(path))


def _utf8_lines(stream: BinaryIO, name: str) -> Iterator[str]:
    """The file's lines (with their line ends, as `csv` wants them), decoded strictly."""
    offset = 0
    first = True
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        if len(raw) > MAX_LINE_BYTES:
            raise CsvUnreadable(f"{name}: a line is longer than {MAX_LINE_BYTES // 2**20} MiB")
        try:
            line = raw.decode("utf-8-sig" if first else "utf-8")
        except UnicodeDecodeError as exc:
            where = offset + exc.start
            raise CsvUnreadable(
                f"{name} is not UTF-8 (byte {where} is 0x{raw[exc.start]:02x}); save it as UTF-8"
            ) from None
        offset += len(raw)
        first = False
        yield line


def parse_lines(kind: Kind, lines: Iterable[str], name: str = "CSV") -> Iterator[dict[str, Any]]:
    """One dict per data row of CSV `lines`, after checking the header against `kind`."""
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvUnreadable(f"{name} is empty: expected a header row") from None
    except csv.Error as exc:
        raise CsvUnreadable(f"{name} header: {exc}") from None
    header = [h.strip() for h in header]
    _check_header(kind, header, name)
    line = 1
    try:
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            _check_row(header, values, name, line)
            yield {c: v for c, v in zip(header, values, strict=True) if v.strip() != ""}
    except csv.Error as exc:
        raise CsvUnreadable(f"{name} line {line + 1}: {exc}") from None


def _check_header(kind: Kind, header: list[str], name: str) -> None:
    """Every required column, no unknown or repeated one: else all the problems at once."""
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


def _check_row(header: list[str], values: list[str], name: str, line: int) -> None:
    """As many fields as the header, none longer than MAX_FIELD_CHARS."""
    if len(values) != len(header):
        raise CsvUnreadable(
            f"{name} line {line}: {len(values)} fields, the header has {len(header)}"
        )
    for column, value in zip(header, values, strict=True):
        if len(value) > MAX_FIELD_CHARS:
            raise CsvUnreadable(
                f"{name} line {line}: field {column} is longer than {MAX_FIELD_CHARS} characters"
            )
