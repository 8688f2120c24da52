"""The reference a payout carries through the bank: its SEPA end-to-end id.

The bank returns it with each result (`mark-paid`), so it must name one payout and
only one: the database refuses a second payout with the same reference. SEPA allows
35 characters from a restricted set (letters, digits and `/-?:().,'+ `, no leading or
trailing `/`, no `//`); partner ids are free text up to 64 characters. So:

- `PP-2026-06-ACME-1` when the id is short and plain (readable on a bank statement);
- otherwise as much of the id as is plain, then `-` and 8 characters of a hash of the
  whole id: `PP-2026-06-ACME-GLOBAL-RESE-K3V9QX2A`. Two ids that share their first
  characters (or differ only in characters SEPA does not allow) get different hashes.
"""

from __future__ import annotations

import base64
import hashlib
import re

MAX_LENGTH = 35
_PLAIN = re.compile(r"[A-Za-z0-9-]+")
_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")
_HASH_CHARS = 8


def end_to_end_id(period: str, partner_id: str) -> str:
    """The payout reference of `partner_id` for `period` (YYYY-MM), at most 35 characters."""
    head = f"PP-{period}-"
    room = MAX_LENGTH - len(head)
    if _PLAIN.fullmatch(partner_id) and len(partner_id) <= room:
        return head + partner_id
    digest = hashlib.sha256(partner_id.encode()).digest()
    suffix = base64.b32encode(digest).decode()[:_HASH_CHARS]
    readable = _UNSAFE.sub("-", partner_id).strip("-")[: room - _HASH_CHARS - 1].rstrip("-")
    return f"{head}{readable}-{suffix}" if readable else head + suffix
