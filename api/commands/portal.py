"""`payouts portal`: the partner portal's program settings (finance's)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.commands.common import Key, acting
from payouts.db import unit_of_work

app = typer.Typer(help="The partner portal's settings.", no_args_is_help=True)


@app.command("leaderboard")
def leaderboard_command(
    state: Annotated[str, typer.Argument(help="on, off, or show")] = "show",
    key: Key = "",
) -> None:
    """Show partners their rank among their peers (off by default), or stop; `show` says
    which it is."""
    from payouts import leaderboard

    if state not in ("on", "off", "show"):
        raise typer.BadParameter(f"{state!r}: on, off or show")
    if state == "show":
        with unit_of_work(read_only=True) as session:
            typer.echo(f"leaderboard: {'on' if leaderboard.enabled(session) else 'off'}")
        return
    principal = acting(key)
    with unit_of_work() as session:
        leaderboard.turn(session, state == "on", actor=principal.actor)
    typer.echo(f"leaderboard: {state}")
