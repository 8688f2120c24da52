"""`payouts keys`: create, list and revoke API keys (a token is printed once, never stored).

Key administration is the schema owner's: these commands connect with
`DATABASE_OWNER_URL` (or `DATABASE_URL` when there is one role), so the service's own
database role cannot mint a key, and the audit log names the owner role that did it.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from api.commands.common import owner_actor
from api.principals import DEFAULT_KEY_DAYS, Role
from payouts.db import engine_for, unit_of_work
from payouts.settings import get_settings

app = typer.Typer(help="API keys for the HTTP API and the command line.", no_args_is_help=True)


@app.command("create")
def create(
    role: Annotated[str, typer.Option(help=", ".join(r.value for r in Role))],
    name: Annotated[
        str,
        typer.Option(
            help="Who holds the key: a person or a system. Maker-checker compares holders, "
            "so give each person their own name."
        ),
    ],
    partner: Annotated[str | None, typer.Option(help="Partner id (partner keys only)")] = None,
    expires_days: Annotated[
        int, typer.Option(help="Days until the key expires", min=1, max=3650)
    ] = DEFAULT_KEY_DAYS,
) -> None:
    """Create a key and print its token: store it now, it cannot be shown again."""
    from api.principals import create_key

    url = get_settings().owner_url
    with unit_of_work(engine_for(url)) as session:
        created = create_key(
            session,
            role=role,
            name=name,
            partner_id=partner,
            expires_days=expires_days,
            actor=owner_actor(url),
        )
    key = created.key
    expires = key.expires_at.date().isoformat() if key.expires_at else "never"
    typer.echo(
        f"key {key.id} ({key.role}{', partner ' + key.partner_id if key.partner_id else ''}, "
        f"held by {key.name}, expires {expires})"
    )
    typer.echo(created.token)


@app.command("list")
def list_keys() -> None:
    """Every key: id, role, holder, partner, expiry and whether it still works."""
    from payouts.access import ApiKey
    from payouts.base import utcnow

    now = utcnow()
    with unit_of_work(engine_for(get_settings().owner_url), read_only=True) as session:
        keys = list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))
    typer.echo("key\trole\tholder\tpartner\texpires\tstate")
    for key in keys:
        if key.revoked_at is not None:
            state = "revoked"
        elif key.expires_at is not None and key.expires_at <= now:
            state = "expired"
        else:
            state = "active"
        expires = key.expires_at.date().isoformat() if key.expires_at else "never"
        typer.echo(f"{key.id}\t{key.role}\t{key.name}\t{key.partner_id or '-'}\t{expires}\t{state}")


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key id")]) -> None:
    """Revoke a key: it stops working at once."""
    from api.principals import revoke_key

    url = get_settings().owner_url
    with unit_of_work(engine_for(url)) as session:
        key = revoke_key(session, key_id, actor=owner_actor(url))
    typer.echo(f"key {key.id} revoked")
