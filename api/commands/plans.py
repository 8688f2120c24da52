"""`payouts plans ...` and `payouts quote`: plan versions, assignments and price quotes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from api.commands.common import Key, acting
from payouts.db import unit_of_work

app = typer.Typer(
    help="Commission plans: validate, load, list, show, diff, assign.", no_args_is_help=True
)

Files = Annotated[list[Path], typer.Argument(help="Plan YAML files", exists=False)]


@app.command("validate")
def validate(files: Files) -> None:
    """Check plan files; every error of every file is listed."""
    from plans.errors import PlanInvalid
    from plans.loading import load_plan

    failed = 0
    for file in files:
        try:
            plan = load_plan(file)
        except OSError as exc:
            typer.echo(f"{file}: cannot read: {exc.strerror}")
            failed += 1
            continue
        except PlanInvalid as exc:
            failed += 1
            typer.echo(f"{file}: invalid ({len(exc.errors)} error(s))")
            for error in exc.errors:
                typer.echo(f"  - {error}")
            continue
        typer.echo(
            f"{file}: valid ({plan.plan_id} v{plan.version}, {len(plan.components)} component(s))"
        )
    if failed:
        raise typer.Exit(code=1)


@app.command("load")
def load(files: Files, key: Key = "") -> None:
    """Validate and store plan versions: identical content is a no-op, changes a new version."""
    from payouts import plan_book
    from plans.loading import load_plan

    principal = acting(key)
    plans = [load_plan(file) for file in files]  # all valid before anything is stored
    with unit_of_work() as session:
        for file, plan in zip(files, plans, strict=True):
            result = plan_book.save(session, plan, actor=principal.actor)
            state = "saved as" if result.created else "unchanged, already"
            typer.echo(f"{file}: {state} {result.record.label}")


@app.command("list")
def list_plans() -> None:
    """Every plan with its newest version."""
    from payouts import plan_book

    with unit_of_work() as session:
        for record in plan_book.latest_versions(session):
            to = record.effective_to.isoformat() if record.effective_to else "open"
            typer.echo(
                f"{record.plan_id}\tv{record.version}\t{record.effective_from}..{to}\t"
                f"{record.content_hash[:12]}\t{record.name}"
            )


@app.command("show")
def show(
    plan_id: str,
    version: Annotated[int | None, typer.Option(help="Version (default: newest)")] = None,
) -> None:
    """Print a saved plan version as canonical JSON."""
    from payouts import plan_book

    with unit_of_work() as session:
        record = plan_book.get(session, plan_id, version)
        typer.echo(f"# {record.label} loaded by {record.loaded_by} at {record.loaded_at:%Y-%m-%d}")
        typer.echo(json.dumps(record.document, indent=2, sort_keys=True, ensure_ascii=False))


@app.command("diff")
def diff(plan_id: str, a: int, b: int) -> None:
    """What changed between two versions of a plan."""
    from payouts import plan_book

    with unit_of_work() as session:
        changes = plan_book.diff_versions(session, plan_id, a, b)
    if not changes:
        typer.echo(f"{plan_id} v{a} and v{b} have the same content")
        return
    for path, before, after in changes:
        typer.echo(
            f"{path}: {json.dumps(before, sort_keys=True)} -> {json.dumps(after, sort_keys=True)}"
        )


@app.command("assign")
def assign(
    plan_id: str,
    partner: Annotated[str | None, typer.Option(help="Partner id (omit: program-wide)")] = None,
    effective_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")] = "",
    effective_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD, exclusive")] = None,
    key: Key = "",
) -> None:
    """Put a partner (or the whole program, for rep credit) on a plan from a date."""
    from payouts import plan_book

    start = _date(effective_from, "--from")
    end = _date(effective_to, "--to") if effective_to else None
    principal = acting(key)
    with unit_of_work() as session:
        plan_book.assign(
            session,
            plan_id=plan_id,
            partner_id=partner,
            effective_from=start,
            effective_to=end,
            actor=principal.actor,
        )
    typer.echo(f"{partner or 'program'} on {plan_id} from {start}" + (f" to {end}" if end else ""))


def _date(text: str | None, option: str) -> date:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD", param_hint=option) from None


def quote_command(
    deal: Annotated[str, typer.Option(help="Deal id")],
    partner: Annotated[str, typer.Option(help="Partner id")],
    price: Annotated[str | None, typer.Option(help="Requested partner price")] = None,
    exception: Annotated[str | None, typer.Option(help="Approved margin exception id")] = None,
) -> None:
    """The partner's buy price on a deal, its margin, and the rule that set it."""
    from payouts import quotes
    from payouts.facts.records import MAX_AMOUNT_DIGITS
    from plans.money import parse_plain_decimal

    requested: Decimal | None = (
        parse_plain_decimal(price, "price", integer_digits=MAX_AMOUNT_DIGITS)
        if price is not None
        else None
    )
    with unit_of_work() as session:
        result = quotes.quote_deal(
            session, deal, partner, requested_price=requested, exception_id=exception
        )
    q = result.quote
    typer.echo(
        f"deal {q.deal_id} partner {q.partner_id}: buy price {q.buy_price} {q.currency}, "
        f"margin {q.margin} {q.currency} ({q.rule.value}, plan {result.plan_label})"
    )
    for step in q.explanation:
        typer.echo(f"  {step}")


def margin_exception_command(
    exception_id: Annotated[str, typer.Option("--id", help="Exception id")],
    deal: Annotated[str, typer.Option(help="Deal id")],
    partner: Annotated[str, typer.Option(help="Partner id")],
    lowest_price: Annotated[str, typer.Option(help="Lowest partner buy price allowed")],
    reason: Annotated[str, typer.Option(help="Why the margin may be cut")],
    key: Key = "",
) -> None:
    """Record an approved exception to the protected margin (who and why)."""
    from payouts import quotes
    from payouts.facts.records import MAX_AMOUNT_DIGITS
    from plans.money import parse_plain_decimal

    principal = acting(key)
    price = parse_plain_decimal(lowest_price, "lowest price", integer_digits=MAX_AMOUNT_DIGITS)
    with unit_of_work() as session:
        exception = quotes.approve_exception(
            session,
            exception_id=exception_id,
            deal_id=deal,
            partner_id=partner,
            lowest_price=price,
            reason=reason,
            approved_by=principal.actor,
        )
    typer.echo(
        f"margin exception {exception.id} for {deal}/{partner} down to {price} "
        f"{exception.currency}, approved by {exception.approved_by}"
    )
