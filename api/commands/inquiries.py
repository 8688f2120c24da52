"""`payouts inquiries`: finance reads and answers partners' inquiries.

Until the finance console exists this is where finance answers: `list` the open
ones, `show` one with its messages and the statement line it points at, `reply`,
and `resolve` with how it was settled. Replies act for the finance key in
`PAYOUTS_API_KEY` (the audit log names it); the partner sees them in the portal.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from api.commands.common import Key, acting, status_filter
from payouts.db import unit_of_work

if TYPE_CHECKING:
    from payouts import inquiries, issued

app = typer.Typer(help="Partners' inquiries: list, show, reply, resolve.", no_args_is_help=True)

Message = Annotated[str, typer.Option("--message", "-m", help="The text the partner reads.")]


def _line_text(statement: issued.IssuedStatement | None, line_id: str) -> str | None:
    if statement is None or statement.canonical_json is None:
        return None
    for line in json.loads(statement.canonical_json).get("lines", []):
        if line["line_id"] == line_id:
            return (
                f"{line['date']} {line['source_fact']} {line['component']}: {line['amount']} "
                f"(base {line['base_amount']} {line['base_currency']})"
            )
    return None


@app.command("list")
def list_inquiries(
    key: Key = "",
    status: Annotated[
        str | None, typer.Option(help="open, answered or resolved (default: all)")
    ] = None,
) -> None:
    """Inquiries, newest first: id, partner, status, what about, last activity."""
    from payouts import inquiries

    acting(key)
    wanted = status_filter(inquiries.Status, status, inquiries.InquiryRefused)
    with unit_of_work(read_only=True) as session:
        found = inquiries.threads(session, status=wanted)
    typer.echo("inquiry\tpartner\tstatus\tabout\tlast activity")
    for t in found:
        when = t.last_activity.strftime("%Y-%m-%d %H:%M")
        typer.echo(f"{t.id}\t{t.partner_id}\t{t.status.value}\t{t.about}\t{when}")


def _show(thread: inquiries.Thread, line: str | None) -> None:
    typer.echo(f"inquiry {thread.id} of {thread.partner_id}: {thread.status.value}")
    typer.echo(f"about: {thread.about}")
    if thread.content_hash:
        typer.echo(f"statement content hash when asked: {thread.content_hash}")
    if line:
        typer.echo(f"line: {line}")
    for m in thread.messages:
        kind = "resolution" if m.resolution else m.side.value
        typer.echo(f"--- {m.at.strftime('%Y-%m-%d %H:%M')} {kind} ({m.author})")
        typer.echo(m.body)


@app.command("show")
def show(inquiry_id: Annotated[int, typer.Argument(min=1)], key: Key = "") -> None:
    """One inquiry with its messages and the statement line it points at."""
    from payouts import inquiries, issued

    acting(key)
    with unit_of_work(read_only=True) as session:
        thread = inquiries.thread(session, inquiry_id)
        line = None
        if thread.period and thread.line_id:
            line = _line_text(
                issued.issued(session, thread.partner_id, thread.period), thread.line_id
            )
    _show(thread, line)


@app.command("reply")
def reply(
    inquiry_id: Annotated[int, typer.Argument(min=1)], message: Message, key: Key = ""
) -> None:
    """Answer the partner (the inquiry becomes `answered`)."""
    from payouts import inquiries

    principal = acting(key)
    with unit_of_work() as session:
        thread = inquiries.reply(
            session, inquiry_id, message, actor=principal.actor, side=inquiries.Side.FINANCE
        )
    typer.echo(f"inquiry {thread.id}: {thread.status.value}")


@app.command("resolve")
def resolve(
    inquiry_id: Annotated[int, typer.Argument(min=1)], message: Message, key: Key = ""
) -> None:
    """Resolve it, saying how (no change and why, or the correction made)."""
    from payouts import inquiries

    principal = acting(key)
    with unit_of_work() as session:
        thread = inquiries.resolve(session, inquiry_id, message, actor=principal.actor)
    typer.echo(f"inquiry {thread.id}: {thread.status.value}")
