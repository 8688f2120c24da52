"""`payouts keys`: create and revoke API keys (the token is printed once, never stored)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.auth import DEFAULT_KEY_DAYS, Role, create_key, revoke_key
from api.commands.common import Actor, actor_or_default
from payouts.db import unit_of_work

app = typer.Typer(help="API keys for the HTTP API.", no_args_is_help=True)


@app.command("create")
def create(
    role: Annotated[str, typer.Option(help=", ".join(r.value for r in Role))],
    partner: Annotated[str | None, typer.Option(help="Partner id (partner keys only)")] = None,
    name: Annotated[str | None, typer.Option(help="Who holds the key (default: the role)")] = None,
    expires_days: Annotated[
        int, typer.Option(help="Days until the key expires")
    ] = DEFAULT_KEY_DAYS,
    actor: Actor = "",
) -> None:
    """Create a key and print its token: store it now, it cannot be shown again."""
    with unit_of_work() as session:
        created = create_key(
            session,
            role=role,
            name=name or (f"partner-{partner}" if partner else role),
            partner_id=partner,
            expires_days=expires_days,
            actor=actor_or_default(actor),
        )
    key = created.key
    typer.echo(
        f"key {key.id} ({key.role}{', partner ' + key.partner_id if key.partner_id else ''})"
    )
    typer.echo(created.token)


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key id")], actor: Actor = "") -> None:
    """Revoke a key: it stops working at once."""
    with unit_of_work() as session:
        key = revoke_key(session, key_id, actor=actor_or_default(actor))
    typer.echo(f"key {key.id} revoked")
