"""`payouts users`: web accounts for the portal (and the finance console), like keys.

Users are the schema owner's to administer: these commands connect with
`DATABASE_OWNER_URL` (or `DATABASE_URL` when there is one role), so the service's own
role cannot create an account or hand out a link. A new user gets a single-use link
to choose a password (valid 72 hours); a reset prints a new one (24 hours), which
voids the older ones. Send the link to the person yourself: it is printed, never
stored.
"""

from __future__ import annotations

from typing import Annotated

import typer

from api.commands.common import owner_actor
from payouts import users
from payouts.db import engine_for, unit_of_work
from payouts.settings import get_settings

app = typer.Typer(help="Web accounts for the partner portal.", no_args_is_help=True)


def _print_link(link: users.Link) -> None:
    base = get_settings().portal_url.rstrip("/")
    what = "invitation" if link.purpose is users.TokenPurpose.INVITATION else "password reset"
    expires = link.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    typer.echo(
        f"user {link.user.id} {link.user.email} ({link.user.role}"
        f"{', partner ' + link.user.partner_id if link.user.partner_id else ''}): {what} link, "
        f"single use, valid until {expires}"
    )
    typer.echo(f"{base}/portal/password/{link.secret}")


@app.command("invite")
def invite(
    role: Annotated[str, typer.Option(help=", ".join(r.value for r in users.UserRole))],
    email: Annotated[str, typer.Option(help="The person's e-mail address: their user name.")],
    partner: Annotated[str | None, typer.Option(help="Partner id (partner users only)")] = None,
) -> None:
    """Create a user and print the link to choose a password (send it to them)."""
    url = get_settings().owner_url
    with unit_of_work(engine_for(url)) as session:
        link = users.invite(
            session, email=email, role=role, partner_id=partner, actor=owner_actor(url)
        )
        _print_link(link)


@app.command("reset")
def reset(email: Annotated[str, typer.Argument(help="The user's e-mail address")]) -> None:
    """Print a new single-use link to choose a password (older links stop working)."""
    url = get_settings().owner_url
    with unit_of_work(engine_for(url)) as session:
        _print_link(users.reset(session, email=email, actor=owner_actor(url)))


@app.command("list")
def list_users() -> None:
    """Every user: id, e-mail, role, partner and state."""
    with unit_of_work(engine_for(get_settings().owner_url), read_only=True) as session:
        found = users.every_user(session)
        typer.echo("user\temail\trole\tpartner\tstate")
        for user in found:
            if user.disabled_at is not None:
                state = "disabled"
            elif user.password_hash is None:
                state = "invited"
            else:
                state = "active"
            typer.echo(f"{user.id}\t{user.email}\t{user.role}\t{user.partner_id or '-'}\t{state}")


@app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="The user's e-mail address")]) -> None:
    """Stop a user from signing in; their sessions and links end at once."""
    url = get_settings().owner_url
    with unit_of_work(engine_for(url)) as session:
        user = users.disable(session, email=email, actor=owner_actor(url))
        typer.echo(f"user {user.id} {user.email} disabled")


@app.command("reset-second-factor")
def reset_second_factor(
    email: Annotated[str, typer.Argument(help="The finance user's e-mail address")],
) -> None:
    """Remove a finance user's lost second factor: recorded and audited; its recovery
    codes stop working, its sessions end, and the next sign-in enrols a new app."""
    from payouts import second_factor

    url = get_settings().owner_url
    with unit_of_work(engine_for(url)) as session:
        user = users.by_email(session, email)
        if user is None:
            raise users.UserRefused(f"no user {users.normalise_email(email)!r}")
        second_factor.reset(session, user, actor=owner_actor(url))
        typer.echo(
            f"user {user.id} {user.email}: second factor removed; the next sign-in enrols again"
        )


@app.command("new-second-factor-key")
def new_second_factor_key() -> None:
    """Print a new key for SECOND_FACTOR_KEYS (it is not stored anywhere: keep it)."""
    from payouts import second_factor_keys

    typer.echo(second_factor_keys.new_key())


@app.command("reseal-second-factors")
def reseal_second_factors() -> None:
    """Seal every stored second-factor secret under the first of SECOND_FACTOR_KEYS:
    the step of a key rotation between adding the new key and dropping the old one."""
    from payouts import audit, second_factor_keys

    second_factor_keys.keys()  # no keys, or malformed ones: refused before anything is read
    url = get_settings().owner_url
    with unit_of_work(engine_for(url)) as session:
        count = second_factor_keys.reseal_all(session.connection(), second_factor_keys.resealed)
        audit.record(
            session,
            actor=owner_actor(url),
            action="second_factor.resealed",
            subject_type="second_factors",
            subject_id="*",
            after={"secrets": count},
        )
    typer.echo(f"{count} second-factor secret(s) sealed under the first key")
