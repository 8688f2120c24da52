"""Loading plan versions from YAML (or an already-parsed mapping), with every error listed at once.

YAML numbers keep their exact decimal text: the loader builds ``Decimal`` from
the scalar as written (``0.08`` stays ``Decimal("0.08")``), never a binary float.
A duplicate key in a mapping is an error, not a silent "last one wins".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from plans.components import COMPONENT_KINDS
from plans.components.terms import Problems
from plans.errors import PlanError, PlanInvalid
from plans.model import PlanVersion, dates_disordered, duplicate_ids


class DecimalSafeLoader(yaml.SafeLoader):
    """A SafeLoader whose floats are exact Decimals and whose mappings refuse duplicate keys."""

    duplicate_keys: list[PlanError]


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal | str:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    try:
        value = Decimal(text.replace("_", ""))
    except InvalidOperation:
        return text
    return value if value.is_finite() else text  # .inf / .nan fail validation as text


def _construct_mapping(loader: DecimalSafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            loader.duplicate_keys.append(
                PlanError(
                    f"line {key_node.start_mark.line + 1}",
                    f"duplicate key {key!r}: each key may appear once",
                )
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


DecimalSafeLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
DecimalSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_yaml(text: str) -> Any:
    """Parse YAML with exact decimals; ``PlanInvalid`` on syntax errors or duplicate keys."""
    loader = DecimalSafeLoader(text)
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PlanInvalid([PlanError(where, f"not valid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise PlanInvalid([PlanError("", f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    if loader.duplicate_keys:
        raise PlanInvalid(loader.duplicate_keys)
    return data


def load_plan(path: str | Path) -> PlanVersion:
    """Read and validate a plan version from a YAML file."""
    return parse_plan(Path(path).read_text(encoding="utf-8"))


def parse_plan(source: str | Mapping[str, Any]) -> PlanVersion:
    """Validate a plan version from YAML text or a mapping; ``PlanInvalid`` lists all errors."""
    data = load_yaml(source) if isinstance(source, str) else source
    if not isinstance(data, Mapping):
        raise PlanInvalid([PlanError("", "a plan document must be a mapping of fields")])
    try:
        return PlanVersion.model_validate(dict(data))
    except ValidationError as exc:
        errors = [e for detail in exc.errors() for e in _translate(detail)]
        errors.extend(_structural_problems(data))
        raise PlanInvalid(_unique(errors)) from None


def _unique(errors: list[PlanError]) -> list[PlanError]:
    seen: set[tuple[str, str]] = set()
    result = []
    for error in errors:
        if (error.path, error.message) not in seen:
            seen.add((error.path, error.message))
            result.append(error)
    return result


def _path(loc: tuple[int | str, ...]) -> str:
    """``("components", 2, "tier_rate", "tiers", 1, "rate") -> "components[2].tiers[1].rate"``."""
    parts: list[str] = []
    for index, item in enumerate(loc):
        if (
            index == 2
            and loc[0] == "components"
            and isinstance(loc[1], int)
            and item in COMPONENT_KINDS
        ):
            continue  # the discriminated-union tag pydantic inserts
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(f".{item}" if parts else str(item))
    return "".join(parts)


def _join(base: str, relative: str) -> str:
    if not relative:
        return base
    if relative.startswith("[") or not base:
        return base + relative
    return f"{base}.{relative}"


def _translate(detail: ErrorDetails) -> list[PlanError]:
    loc = tuple(detail["loc"])
    path = _path(loc)
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    error = ctx.get("error")
    if isinstance(error, Problems):
        return [PlanError(_join(path, rel), message) for rel, message in error.items]
    if kind == "union_tag_invalid":
        return [
            PlanError(
                _join(path, "kind"),
                f"unknown component kind {ctx.get('tag')!r}; "
                f"expected one of: {', '.join(COMPONENT_KINDS)}",
            )
        ]
    if kind == "union_tag_not_found":
        return [
            PlanError(
                _join(path, "kind"),
                f"required field is missing; one of: {', '.join(COMPONENT_KINDS)}",
            )
        ]
    if kind == "missing":
        return [PlanError(path, "required field is missing")]
    if kind == "string_pattern_mismatch" and loc and loc[-1] in ("id", "plan_id"):
        return [PlanError(path, "must be a slug: lower-case letters, digits, '-' or '_'")]
    if kind == "extra_forbidden":
        return [PlanError(path, "unknown field (check the spelling)")]
    message = str(detail["msg"])
    message = message.removeprefix("Value error, ")
    return [PlanError(path, message)]


def _structural_problems(data: Mapping[str, Any]) -> list[PlanError]:
    """Plan-wide checks pydantic skips when a component is invalid, run on the raw document."""
    problems: list[PlanError] = []
    components = data.get("components")
    if isinstance(components, list):
        ids = [c.get("id") if isinstance(c, Mapping) else None for c in components]
        for rel, message in duplicate_ids(list(ids)):
            if "None" not in message:
                problems.append(PlanError(_join("components", rel), message))
    start, end = data.get("effective_from"), data.get("effective_to")
    start_day, end_day = _as_date(start), _as_date(end)
    if start_day is not None and end_day is not None and end_day <= start_day:
        problems.append(PlanError("effective_to", dates_disordered(start_day, end_day)))
    return problems


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
