"""Shapes shared by every router: money on the wire, pages of lists, plain JSON.

Amounts travel as decimal strings with their ISO 4217 currency, never as JSON
numbers, so no client parses a binary float.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from plans.money import from_minor

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
DecimalString = Annotated[
    str, StringConstraints(pattern=DECIMAL_PATTERN, max_length=40), Field(examples=["60.00"])
]
# Years 2000-2999: the accounting periods this service can hold (and a guard against
# year 0, which `Month.parse` accepts but `date` cannot represent).
PeriodPath = Annotated[
    str,
    StringConstraints(pattern=r"^2[0-9]{3}-(0[1-9]|1[0-2])$"),
    Field(examples=["2026-01"], description="An accounting month, YYYY-MM."),
]
MAX_PAGE = 500


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: DecimalString
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        return cls(amount=f"{amount:f}", currency=currency)

    @classmethod
    def minor(cls, amount_minor: int, currency: str) -> Money:
        return cls.of(from_minor(amount_minor, currency), currency)


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most 500.")] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(page_params)]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: `items[offset:offset+limit]` of `total`."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(
        cls,
        items: Sequence[Any],
        paging: PageParams,
        convert: Callable[[Any], T] | None = None,
    ) -> Page[T]:
        """The page of `items`; `convert` turns each kept item into its wire model
        (only the page's items, not the whole list)."""
        window = items[paging.offset : paging.offset + paging.limit]
        kept = [convert(i) for i in window] if convert is not None else list(window)
        return cls(items=kept, total=len(items), limit=paging.limit, offset=paging.offset)


def plain(value: Any) -> Any:
    """A service's result as JSON data: dataclasses to objects, Decimal to strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, float):  # pragma: no cover - services never produce floats
        raise TypeError("a float reached the API edge")
    return value


def download(content: bytes, media_type: str, filename: str) -> Response:
    """A file to save: the body with an attachment Content-Disposition."""
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
