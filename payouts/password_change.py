"""A signed-in user changes its own password: the one in use, then the new one twice.

The password in use is checked as a sign-in checks it (`sign_in.confirm_password`):
a wrong one counts as a failed sign-in of the account and from the address, so a
browser left signed in is no faster a way to guess it, and ten wrong ones lock the
account for a quarter of an hour as ten failed sign-ins do. The new password meets
the same rules as one chosen through a link (`users.password_problems`), and must
differ from the one in use.

A change ends every other session of the user (a browser signed in elsewhere, perhaps
by whoever learnt the old password) and keeps the one that made it; open reset or
invitation links are used up (the newer password supersedes them). The change is in
the audit log; the passwords never are.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from payouts import audit, sign_in, users
from payouts.base import utcnow


@dataclass(frozen=True, slots=True)
class Changed:
    """What a change did besides storing the new password."""

    sessions_ended: int
    links_voided: int


def change_password(
    session: Session,
    signed_in: sign_in.Current,
    *,
    current_password: str,
    password: str,
    confirmation: str,
    address: str,
) -> Changed:
    """Store the new password of the signed-in user, or refuse: SignInRefused (the
    password in use is wrong), SignInLocked, or PasswordRefused (the new one)."""
    user = session.get(users.WebUser, signed_in.user_id)
    if user is None or user.disabled_at is not None:
        raise sign_in.SignInRefused("the session has ended: sign in again")
    sign_in.confirm_password(session, user, current_password, address)
    problems = users.password_problems(password, confirmation, user.email)
    if password == current_password:
        problems.append(users.PasswordProblem.SAME)
    if problems:
        raise users.PasswordRefused(problems)
    user.password_hash = users.hasher.hash(password)
    user.password_set_at = utcnow()
    changed = Changed(
        sessions_ended=users.end_other_sessions(session, user.id, signed_in.session_id),
        links_voided=users.void_links(session, user.id),
    )
    session.flush()
    audit.record(
        session,
        actor=user.actor,
        action="user.password_changed",
        subject_type="web_user",
        subject_id=str(user.id),
        after={
            "address": address[:64],
            "sessions_ended": changed.sessions_ended,
            "links_voided": changed.links_voided,
        },
    )
    return changed
