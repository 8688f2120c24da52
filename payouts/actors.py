"""Who did something: the actor recorded on every change, and the person behind it.

An actor is an authenticated principal, never a typed name:

- `key:<key id>:<holder>` for an API key (over HTTP, or the command line's
  `PAYOUTS_API_KEY`);
- `db-owner:<role>` for key administration, which needs the schema owner's database
  credentials;
- `local:<os user>` for the same on the embedded single-user SQLite file.

Maker-checker compares holders, not keys: one person holding two keys is still one
person. The database applies the same rule (`actor_holder` in migration 0014).
"""

from __future__ import annotations


def holder(actor: str) -> str:
    """The person behind an actor, case-folded: `key:ab12:Alice` -> `alice`."""
    kind, sep, rest = actor.partition(":")
    if sep and kind and ":" in rest:
        return rest.split(":", 1)[1].lower()
    return actor.lower()


def same_person(one: str, other: str) -> bool:
    return holder(one) == holder(other)
