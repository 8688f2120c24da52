"""The words of a statement in the partner's language: gettext catalogs for its labels.

Every label the PDF and CSV statements print (headings, column names, figure names,
page furniture) is a message id of the `statements` gettext domain, marked in the code
with `N_()` (a no-op that `python3.11 tasks.py catalog` finds) and translated at render
time for the partner's `locale`. The catalogs live in
`statements/locale/<lang>/LC_MESSAGES/statements.po`, compiled to `.mo` beside them
and shipped inside the package; English, German, French and Spanish are shipped, and a
locale without a catalog reads English.

Labels are presentation only: the statement's canonical content (and so its content
hash) holds no label, only figures, codes and the facts' own words, so a statement
rendered in German verifies against the same hash as in English.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "statements"
SHIPPED = ("de", "en", "es", "fr")
"""The languages whose catalogs ship; the source language is English."""

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Mark `message` as a label to translate later (the extractor finds it)."""
    return message


@lru_cache(maxsize=32)
def _translations(locale: str) -> NullTranslations:
    """The catalog for `locale` (falling back on its language, then English)."""
    return Translations.load(str(LOCALE_DIR), [locale, locale.split("_")[0], "en"], DOMAIN)


def words(locale: str) -> Gettext:
    """The `gettext` of the partner's locale (`de_DE`, `fr`, `pt_BR` reads English)."""
    return _translations(locale).gettext


# Texts stored in English by the payout policy and the tier evaluation, printed in the
# partner's language by recognising their shape. What is not recognised is printed as
# stored (it is the record's own wording, as an explanation is).
_BELOW_MINIMUM = re.compile(r"^below the minimum payout (?P<amount>\S+) (?P<currency>[A-Z]{3})$")
_METRICS = (
    (re.compile(r"^sourced revenue \(trailing (?P<n>\d+) months\)$"),
     N_("sourced revenue (trailing %(n)s months)")),
    (re.compile(r"^active certifications$"), N_("active certifications")),
    (re.compile(r"^co-marketing campaigns \((?P<n>\d+) months\)$"),
     N_("co-marketing campaigns (%(n)s months)")),
    (re.compile(r"^co-marketing campaigns$"), N_("co-marketing campaigns")),
    (re.compile(r"^registered deals \((?P<n>\d+) months\)$"),
     N_("registered deals (%(n)s months)")),
)  # fmt: skip
HOLD_REASONS = {
    "negative_balance": N_("negative balance carried forward"),
    "partner_on_hold": N_("partner on hold"),
    "partner_terminated": N_("partner terminated; the plan does not pay terminated partners"),
    "tax_form": N_("tax form"),
}


def hold_reason(gettext: Gettext, code: str, reason: str) -> str:
    """A hold's reason in the reader's language (the stored text when not recognised)."""
    below = _BELOW_MINIMUM.match(reason)
    if code == "below_minimum" and below:
        return gettext(N_("below the minimum payout %(amount)s %(currency)s")) % below.groupdict()
    known = HOLD_REASONS.get(code)
    if known is not None and reason == known:
        return gettext(known)
    return reason


def metric_label(gettext: Gettext, label: str) -> str:
    """A tier requirement's name in the reader's language."""
    return _by_shape(gettext, _METRICS, label)


def _by_shape(
    gettext: Gettext, shapes: tuple[tuple[re.Pattern[str], str], ...], stored: str
) -> str:
    """`stored` (English) in the reader's language by the first shape it matches, its
    parts kept as they are; as stored when it matches none."""
    for pattern, message in shapes:
        found = pattern.match(stored)
        if found is not None:
            return gettext(message) % found.groupdict()
    return stored


# A manual adjustment's explanation (`payouts.adjustments.explanation`), stored in
# English as part of the line's hashed content, one step a line.
_MANUAL_STEPS = (
    (re.compile(r"^Manual adjustment (?P<id>\d+)$"), N_("Manual adjustment %(id)s")),
    (re.compile(r"^Reason: (?P<reason>.*)$", re.DOTALL), N_("Reason: %(reason)s")),
    (re.compile(r"^Proposed by (?P<proposer>.+); approved by (?P<approver>.+)$"),
     N_("Proposed by %(proposer)s; approved by %(approver)s")),
)  # fmt: skip


def explanation_step(gettext: Gettext, step: str) -> str:
    """A step of a manual adjustment's explanation in the reader's language (the stored
    text when not recognised: the finance user's own words stay as they were typed)."""
    return _by_shape(gettext, _MANUAL_STEPS, step)
